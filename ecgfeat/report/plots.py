"""The report's figures, drawn with matplotlib's Agg canvas and returned as base64 PNG.

Figures are built on `matplotlib.figure.Figure` rather than pyplot: no global figure state, no
backend switch, nothing left open between calls. A model keeps its colour in every plot of every
group (a fixed estimator -> colour map, the Okabe-Ito colour-blind-safe palette); within a group
every other run (a second run of an estimator, an estimator outside the map) takes the next unused
colour of a second palette (Paul Tol's), so no two models of a figure share a colour, and it also
gets the next line style or hatch. Legends sit outside the axes so they
never cover a curve, and the layout engine keeps labels from overlapping.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

MODEL_COLOURS = {
    "lr": "#0072B2",    # blue
    "rf": "#E69F00",    # orange
    "gbm": "#56B4E9",   # sky blue
    "xgb": "#D55E00",   # vermillion
    "lgbm": "#009E73",  # green
    "mlp": "#CC79A7",   # purple
    "cnn": "#000000",   # black: the comparator stands apart
}
OTHER_COLOUR = "#7F7F7F"
# Paul Tol's muted + bright palettes, minus the tones closest to MODEL_COLOURS
SPARE_COLOURS = ("#882255", "#44AA99", "#999933", "#332288", "#DDCC77", "#AA4499", "#117733", "#88CCEE",
                 "#661100", "#6699CC", "#EE3377", "#BBBB00")
LINESTYLES = ("-", "--", ":", "-.")
HATCHES = ("", "//", "..", "xx")
DPI = 100


def colour(estimator: str) -> str:
    return MODEL_COLOURS.get(estimator, OTHER_COLOUR)


def styles(runs) -> dict[str, dict]:
    """name -> {"colour", "linestyle", "hatch", "label"}: the k-th run of an estimator in the
    group gets the k-th line style / hatch, so same-estimator runs stay distinguishable."""
    seen: dict[str, int] = {}
    out = {}
    used: set[str] = set()
    spare = iter([c for c in SPARE_COLOURS] + [f"C{i}" for i in range(10)])
    for r in runs:
        k = seen.get(r.estimator, 0)
        seen[r.estimator] = k + 1
        c = MODEL_COLOURS.get(r.estimator) if k == 0 else None
        while c is None or c in used:
            c = next(spare, OTHER_COLOUR)
            if c == OTHER_COLOUR:
                break
        used.add(c)
        out[r.name] = {"colour": c, "linestyle": LINESTYLES[k % len(LINESTYLES)],
                       "hatch": HATCHES[k % len(HATCHES)], "label": r.label}
    return out


def to_base64(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(n: int) -> tuple[int, int]:
    ncols = 3 if n <= 9 else 4
    return max(1, math.ceil(n / ncols)), min(n, ncols) or 1


def _roc(y: np.ndarray, s: np.ndarray):
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, s)
    return fpr, tpr


def pr_curve(y: np.ndarray, s: np.ndarray):
    """Recall (x, descending) and precision (y): the step curve average precision integrates.

    Of the thresholds that reach the same recall only the highest (the best precision there) is
    kept: the others add no width to the curve, only zero-width spikes down at each step."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, s)
    keep = np.r_[recall[1:] != recall[:-1], True]
    return recall[keep], precision[keep]


def calibration_bins(n: int) -> int:
    """Bins of a reliability curve: about 10 records per bin, 2 to 10 bins (quantile bins, so every
    point rests on the same number of records; with 40 test records a point is 10 records)."""
    return int(max(2, min(10, n // 10)))


def calibration_points(y: np.ndarray, s: np.ndarray):
    """Mean predicted probability (x) and observed frequency (y) per quantile bin of the scores."""
    from sklearn.calibration import calibration_curve

    frac, mean = calibration_curve(y, np.clip(s, 0.0, 1.0), n_bins=calibration_bins(len(y)), strategy="quantile")
    return mean, frac


# kind -> (curve, x label, y label, needs positives and negatives, marker)
CURVES = {
    "roc": (_roc, "false positive rate", "true positive rate", True, None),
    "pr": (pr_curve, "recall", "precision", True, None),
    "calibration": (calibration_points, "mean predicted probability", "observed frequency", False, "o"),
}


def _reference(ax, kind: str, prevalence: float | None) -> None:
    """The no-skill line of a panel: the diagonal (ROC: chance; calibration: perfect), or for PR
    the prevalence (a model that ranks at random has precision = prevalence at every recall)."""
    if kind == "pr":
        if prevalence is not None:
            ax.axhline(prevalence, color="#BBBBBB", lw=0.8, ls="--")
    else:
        ax.plot([0, 1], [0, 1], color="#BBBBBB", lw=0.8, ls="--")


def curve_figure(kind: str, runs, classes: list[str], style: dict, title: str) -> str:
    """One panel per class, every model's `kind` curve ("roc", "pr" or "calibration") on its tested
    rows overlaid, with the panel's no-skill line; legend below."""
    curve, xlabel, ylabel, both, marker = CURVES[kind]
    nrows, ncols = _grid(len(classes))
    fig = Figure(figsize=(4.2 * ncols, 3.7 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for ax in axes.ravel()[len(classes):]:
        ax.set_visible(False)
    for ax, c in zip(axes.ravel(), classes):
        npos = prevalence = None
        for r in runs:
            pred = r.predictions()
            if f"y_true__{c}" not in pred:
                continue
            y = pred[f"y_true__{c}"].to_numpy() > 0
            if npos is None:
                npos, prevalence = int(y.sum()), float(y.mean()) if len(y) else None
            if (0 < y.sum() < len(y)) if both else len(y) > 0:
                xs, ys = curve(y, pred[f"y_score__{c}"].to_numpy(float))
                st = style[r.name]
                ax.plot(xs, ys, color=st["colour"], ls=st["linestyle"], lw=1.6, marker=marker, ms=4,
                        drawstyle="steps-post" if kind == "pr" else "default")
        _reference(ax, kind, prevalence)
        if npos == 0 and both:
            ax.text(0.5, 0.5, "no positives\nin these records", ha="center", va="center", color="#666666")
        ax.set_title(f"{c}" + (f"  (n+ = {npos})" if npos is not None else ""), fontsize=11)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.grid(alpha=0.25)
    for i, ax in enumerate(axes.ravel()[:len(classes)]):
        if i + ncols >= len(classes):   # nothing drawn below it: this panel carries the x axis
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    handles = [Line2D([], [], color=style[r.name]["colour"], ls=style[r.name]["linestyle"], lw=2, marker=marker)
               for r in runs]
    fig.legend(handles, [style[r.name]["label"] for r in runs], loc="outside lower center",
               ncol=min(len(runs), 6), frameon=False, fontsize=10)
    fig.suptitle(title, fontsize=12)
    return to_base64(fig)


def roc_figure(runs, classes: list[str], style: dict, title: str) -> str:
    """One panel per class, every model's ROC curve (tested rows) overlaid; legend below."""
    return curve_figure("roc", runs, classes, style, title)


def pr_figure(runs, classes: list[str], style: dict, title: str) -> str:
    """Precision-recall curves per class; the dashed line is the class's prevalence (no skill)."""
    return curve_figure("pr", runs, classes, style, title)


def calibration_figure(runs, classes: list[str], style: dict, title: str) -> str:
    """Reliability curves per class: observed frequency against mean predicted probability in
    quantile bins of the scores (`calibration_bins`); the diagonal is perfect calibration."""
    return curve_figure("calibration", runs, classes, style, title)


def f1_bars(runs, classes: list[str], style: dict, title: str) -> str:
    """Grouped bars: per class, each model's F1 (from metrics.json)."""
    n = max(len(runs), 1)
    width = 0.8 / n
    fig = Figure(figsize=(max(8.0, 0.35 * len(classes) * n + 2), 4.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(classes))
    for i, r in enumerate(runs):
        pc = r.metrics["per_class"]
        vals = [pc.get(c, {}).get("f1") for c in classes]
        st = style[r.name]
        ax.bar(x - 0.4 + width * (i + 0.5), [np.nan if v is None else v for v in vals], width,
               color=st["colour"], hatch=st["hatch"], edgecolor="white", linewidth=0.5, label=st["label"])
    ax.set_xticks(x, classes, rotation=30 if len(classes) > 9 or max(map(len, classes), default=0) > 6 else 0,
                  ha="right" if len(classes) > 9 else "center")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("F1")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title(title, fontsize=12)
    return to_base64(fig)


def confusion_figure(label: str, counts: dict[str, dict], title: str) -> str:
    """Per class a 2x2 matrix (rows: true +/-, columns: predicted +/-) with its counts; the
    shade is the row share (recall for the positive row, specificity for the negative)."""
    classes = list(counts)
    nrows, ncols = _grid(len(classes))
    fig = Figure(figsize=(3.3 * ncols, 3.0 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel()[len(classes):]:
        ax.set_visible(False)
    for ax, c in zip(axes.ravel(), classes):
        k = counts[c]
        cells = np.array([[k["tp"], k["fn"]], [k["fp"], k["tn"]]], dtype=float)
        rows = cells.sum(axis=1, keepdims=True)
        share = np.divide(cells, rows, out=np.zeros_like(cells), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), name in np.ndenumerate(np.array([["TP", "FN"], ["FP", "TN"]])):
            ax.text(j, i, f"{name}\n{int(cells[i, j])}", ha="center", va="center", fontsize=10,
                    color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks([0, 1], ["pred +", "pred −"])
        ax.set_yticks([0, 1], ["true +", "true −"])
        ax.tick_params(length=0)
        ax.set_title(c, fontsize=11)
    fig.suptitle(f"{title}: {label}", fontsize=12)
    return to_base64(fig)


def lead_ranking_figure(rows: list[dict], families: list[str], estimators: dict[str, str], title: str) -> str:
    """Macro F1 and macro AUC per lead (x) and model family (bars), like the paper's figure.
    A family without record-level features has its estimator's colour, lighter and hatched."""
    from ..vocab import LEADS

    leads = [lead for lead in LEADS if any(r["lead"] == lead for r in rows)]
    leads += sorted({r["lead"] for r in rows} - set(leads))
    n = max(len(families), 1)
    width = 0.8 / n
    fig = Figure(figsize=(max(9.0, 0.3 * len(leads) * n + 3), 7.0), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(leads))
    at = {(r["lead"], r["family"]): r for r in rows}
    for ax, metric, name in zip(axes, ("f1", "auc"), ("macro F1", "macro AUC")):
        lows = []
        for i, fam in enumerate(families):
            vals = [at.get((lead, fam), {}).get(metric) for lead in leads]
            vals = [np.nan if v is None else v for v in vals]
            lows += [v for v in vals if not np.isnan(v)]
            norec = fam.endswith("(no record features)")
            ax.bar(x - 0.4 + width * (i + 0.5), vals, width, color=colour(estimators.get(fam, "")),
                   alpha=0.55 if norec else 1.0, hatch="//" if norec else "", edgecolor="white",
                   linewidth=0.5, label=fam)
        bottom = max(0.0, math.floor((min(lows) if lows else 0) * 10) / 10 - 0.05)
        ax.set_ylim(bottom, 1.0)
        ax.set_ylabel(name)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[1].set_xticks(x, leads)
    axes[1].set_xlabel("lead of the single-lead model")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    axes[0].set_title(title, fontsize=12)
    return to_base64(fig)

"""The explanation figures (matplotlib Agg, PNG): heatmaps, beeswarms, waterfalls, annotated ECGs."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..vocab import LEADS  # noqa: E402
from .words import label  # noqa: E402

DPI = 110


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], title: str, path: Path,
            note: str = "share of the class's attribution", cmap: str = "viridis") -> str:
    """rows x cols, each row normalised to sum 1 (per class); values printed in the cells."""
    m = np.asarray(matrix, dtype=float)
    sums = np.nansum(m, axis=1, keepdims=True)
    share = np.divide(m, sums, out=np.full_like(m, np.nan), where=sums > 0)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.0 + 0.72 * len(cols)), 1.2 + 0.5 * len(rows)))
    im = ax.imshow(share, cmap=cmap, aspect="auto", vmin=0, vmax=max(np.nanmax(share), 1e-9) if np.isfinite(share).any() else 1)
    ax.set_xticks(range(len(cols)), cols, fontsize=10)
    ax.set_yticks(range(len(rows)), rows, fontsize=10)
    ax.set_title(title, fontsize=11, loc="left")
    top = np.nanmax(share) if np.isfinite(share).any() else 1
    for i in range(share.shape[0]):
        for j in range(share.shape[1]):
            if np.isfinite(share[i, j]):
                ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=7.5,
                        color="white" if share[i, j] < 0.6 * top else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02).set_label(note, fontsize=9)
    return _save(fig, path)


def beeswarm(values: np.ndarray, X: np.ndarray, names: list[str], cls: str, units: str, path: Path, top: int = 20) -> str:
    import shap

    exp = shap.Explanation(values=values, data=X, feature_names=[label(n) for n in names])
    plt.figure()
    with warnings.catch_warnings():          # shap 0.51 calls matplotlib's soon-deprecated Colormap.set_bad
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        shap.plots.beeswarm(exp, max_display=top + 1, show=False, plot_size=(9.5, 0.34 * top + 1.6))
    fig = plt.gcf()
    fig.axes[0].set_title(f"{cls}: top {top} features (SHAP, {units.split(' (')[0]})", fontsize=11, loc="left")
    fig.axes[0].set_xlabel(f"SHAP value (impact on {cls}, {units.split(' (')[0]})")
    return _save(fig, path)


def waterfall(values: np.ndarray, base: float, x: np.ndarray, names: list[str], cls: str, title: str, path: Path,
              top: int = 10) -> str:
    import shap

    exp = shap.Explanation(values=values, base_values=base, data=np.round(x.astype(float), 3),
                           feature_names=[label(n) for n in names])
    plt.figure()
    shap.plots.waterfall(exp, max_display=top + 1, show=False)
    fig = plt.gcf()
    fig.set_size_inches(9.5, 0.42 * (top + 1) + 1.6)
    fig.axes[0].set_title(title, fontsize=11, loc="left")
    return _save(fig, path)


def _short(text: str, width: int = 95) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _wrapped(lines: list[str], width: int = 58, max_lines: int = 5) -> str:
    import textwrap

    out = []
    for line in lines:
        out += textwrap.wrap(line, width, subsequent_indent="  ") or [""]
    return "\n".join(out[:max_lines] + (["…"] if len(out) > max_lines else []))


# The patient figures are drawn on ECG paper by the same renderer as `ecgfeat show`
# (draw/paper.py): 25 mm/s, 10 mm/mV, 1 mm / 5 mm grid, one lead per row over its full
# length, baseline corrected (0.67 Hz high-pass), the words beside each row, never over the trace.
PAPER_DPI = 120
MAX_PAPER_S = 10.0


def ecg_reasons(signal: np.ndarray, fs: float, lead_mass: dict[str, float], reasons: list[dict], cls: str,
                title: str, path: Path, n_leads: int = 3, n_words: int = 6) -> str:
    """The 12-lead ECG on ECG paper; the leads carrying the most SHAP mass for `cls` shaded, the top
    reasons written in words beside their lead (record-level ones in the heading)."""
    from ..draw import baseline_corrected, draw_rows, save
    from .groups import lead_of

    sig = baseline_corrected(signal, fs)
    n_show = min(sig.shape[1], int(round(MAX_PAPER_S * fs)))
    lm = {k: v for k, v in lead_mass.items() if k in LEADS}
    total = sum(lead_mass.values()) or 1.0
    strong = sorted(lm, key=lm.get, reverse=True)[:n_leads]
    words = reasons[:n_words]
    record_level = [r["text"] for r in words if lead_of(r["feature"]) not in LEADS]
    head = title + "".join("\n" + _short(r, 150) for r in record_level)
    texts = {lead: _wrapped([f"{lm.get(lead, 0) / total:.0%} of SHAP mass"]
                            + [r["text"] for r in words if lead_of(r["feature"]) == lead]) for lead in LEADS}
    shown = f"first {n_show / fs:g} s of {sig.shape[1] / fs:g} s; " if n_show < sig.shape[1] else ""
    footer = (f"{shown}baseline: 0.67 Hz high-pass. Shaded: the {n_leads} leads with the most |SHAP| for {cls} "
              f"('all' record-level features: {lead_mass.get('all', 0) / total:.0%}).")
    fig = draw_rows(sig[:, :n_show], fs, head, texts=texts, shade=set(strong), footer=footer)
    return save(fig, path, dpi=PAPER_DPI)


def ecg_attribution(x: np.ndarray, t: np.ndarray, values: np.ndarray, leads: list[str], cls: str, title: str,
                    path: Path, smooth: int = 5) -> str:
    """The network's input window on ECG paper with the attribution of `cls` drawn behind each lead: red
    towards the class, blue against it (moving average over `smooth` samples, one colour scale for all
    leads); a window longer than 10 s shows its 10 s of most |attribution|."""
    from matplotlib.colors import TwoSlopeNorm

    from ..draw import baseline_corrected, draw_rows, save

    t = np.asarray(t, dtype=float)
    ok = np.isfinite(t)
    fs = 1.0 / float(np.median(np.diff(t[ok]))) if ok.sum() > 1 else 100.0
    kern = np.ones(smooth) / smooth
    sm = np.stack([np.convolve(v, kern, mode="same") for v in values])
    lim = float(np.nanmax(np.abs(sm[:, ok]))) if ok.any() else 0.0
    lim = lim or 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    mass = np.abs(values).sum(axis=1)
    share = mass / (mass.sum() or 1.0)
    strong = [leads[k] for k in np.argsort(-mass)[:3]]
    xs = np.full(np.shape(x), np.nan)
    if ok.any():
        xs[:, ok] = baseline_corrected(np.asarray(x, dtype=float)[:, ok], fs)
    idx = np.flatnonzero(ok)
    note = ""
    n_win = int(round(MAX_PAPER_S * fs))
    if idx.size > n_win:            # the 10 s of the window with the most |attribution|
        dens = np.convolve(np.abs(values[:, idx]).sum(axis=0), np.ones(n_win), mode="valid")
        first = int(np.argmax(dens))
        idx = idx[first:first + n_win]
        note = f"the 10 s of the {ok.sum() / fs:g} s window with the most |attribution|; "
    order = [lead for lead in LEADS if lead in leads]
    rows = [leads.index(lead) for lead in order]
    texts = {lead: _wrapped([f"{share[leads.index(lead)]:.0%} of attribution"]) for lead in order}
    footer = (f"{note}baseline: 0.67 Hz high-pass. Behind each trace: red towards {cls}, blue against (DeepSHAP, "
              f"logit units, one scale: ±{lim:.2g}); red labels: the 3 leads with the most |attribution|.")
    fig = draw_rows(xs[rows][:, idx], fs, title, leads=order, t=t[idx], texts=texts, shade=None,
                    band=sm[rows][:, idx], band_norm=norm, footer=footer, text_w=40.0, strong=set(strong))
    return save(fig, path, dpi=PAPER_DPI)

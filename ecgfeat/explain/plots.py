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
# 12-lead layout: limb leads in the left column, precordial leads in the right
GRID = [(k % 6, k // 6) for k in range(12)]


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


def _ecg_axes(title: str):
    fig, axes = plt.subplots(6, 2, figsize=(15, 11.5), sharex=True)
    fig.suptitle(title, fontsize=12, x=0.01, y=0.995, ha="left", va="top")
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.06, top=0.91, wspace=0.14, hspace=0.22)
    return fig, [axes[r, c] for r, c in GRID]


def _short(text: str, width: int = 95) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _style(ax, lead: str, t: np.ndarray, strong: bool, caption: str = "") -> None:
    ax.set_xlim(np.nanmin(t), np.nanmax(t))
    ax.grid(True, color="#f0c8c8", lw=0.5)
    ax.tick_params(labelsize=8)
    ax.set_ylabel(lead, rotation=0, ha="right", va="center", fontsize=11, fontweight="bold" if strong else "normal",
                  color="#b00000" if strong else "black")
    if caption:
        ax.text(0.005, 0.97, "\n".join(_short(c) for c in caption.split("\n")), transform=ax.transAxes,
                fontsize=8, va="top", ha="left",
                bbox=dict(facecolor="white", alpha=0.85, edgecolor="none", pad=1.5))


def ecg_reasons(signal: np.ndarray, fs: float, lead_mass: dict[str, float], reasons: list[dict], cls: str,
                title: str, path: Path, n_leads: int = 3, n_words: int = 6) -> str:
    """The 12-lead ECG; the leads carrying the most SHAP mass for `cls` shaded, the top reasons written
    in words (lead features on their lead, record-level ones in the heading)."""
    from .groups import lead_of

    t = np.arange(signal.shape[1]) / fs
    lm = {k: v for k, v in lead_mass.items() if k in LEADS}
    total = sum(lead_mass.values()) or 1.0
    strong = sorted(lm, key=lm.get, reverse=True)[:n_leads]
    words = reasons[:n_words]
    record_level = [r["text"] for r in words if lead_of(r["feature"]) not in LEADS]
    head = title + "".join("\n" + _short(r, 150) for r in record_level)
    fig, axes = _ecg_axes(head)
    for k, (ax, lead) in enumerate(zip(axes, LEADS)):
        ax.plot(t, signal[k], color="black", lw=0.7)
        if lead in strong:
            ax.set_facecolor("#fff3c4")
        texts = [r["text"] for r in words if lead_of(r["feature"]) == lead]
        share = f"{lm.get(lead, 0) / total:.0%} of SHAP mass"
        _style(ax, lead, t, lead in strong, "\n".join([share] + texts))
    for ax in axes[5::6]:
        ax.set_xlabel("time (s)")
    fig.text(0.99, 0.005, f"shaded: the {n_leads} leads with the most |SHAP| for {cls} "
             f"('all' record-level features: {lead_mass.get('all', 0) / total:.0%})", ha="right", fontsize=9)
    return _save(fig, path)


def ecg_attribution(x: np.ndarray, t: np.ndarray, values: np.ndarray, leads: list[str], cls: str, title: str,
                    path: Path, smooth: int = 5) -> str:
    """The network's input window with the attribution of `cls` drawn behind each lead: red towards the
    class, blue against it (moving average over `smooth` samples, one colour scale for all leads)."""
    from matplotlib.colors import TwoSlopeNorm

    ok = np.isfinite(t)
    kern = np.ones(smooth) / smooth
    sm = np.stack([np.convolve(v, kern, mode="same") for v in values])
    lim = float(np.nanmax(np.abs(sm[:, ok]))) or 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    mass = np.abs(values).sum(axis=1)
    strong = [leads[k] for k in np.argsort(-mass)[:3]]
    fig, axes = _ecg_axes(title)
    tt = t[ok]
    for ax, lead in zip(axes, LEADS):
        if lead not in leads:
            ax.set_visible(False)
            continue
        k = leads.index(lead)
        sig = x[k, ok]
        lo, hi = float(sig.min()), float(sig.max())
        pad = 0.1 * max(hi - lo, 0.2)
        ax.imshow(sm[k, ok][None, :], aspect="auto", cmap="RdBu_r", norm=norm, alpha=0.75,
                  extent=(tt[0], tt[-1], lo - pad, hi + pad), interpolation="nearest")
        ax.plot(tt, sig, color="black", lw=0.7)
        ax.set_ylim(lo - pad, hi + pad)
        _style(ax, lead, tt, lead in strong, f"{mass[k] / mass.sum():.0%} of attribution")
    for ax in axes[5::6]:
        ax.set_xlabel("time in the record (s)")
    fig.text(0.99, 0.005, f"red: towards {cls}, blue: against (DeepSHAP, logit units); bold leads: the 3 with the most |attribution|",
             ha="right", fontsize=9)
    return _save(fig, path)

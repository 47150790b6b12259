"""ECG paper: records drawn at 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid, the way a cart prints them.

Everything is laid out in millimetres on one axes that fills the figure, and the figure is sized in
millimetres too, so a printout at 100 % (PDF, SVG, or a PNG shown at its dpi) has true proportions:
1 mm grid squares are square, 1 s is 25 mm and 1 mV is 10 mm. This module holds the paper (`Paper`,
`save`, the scale read back from a figure) and the explanations' layout, `draw_rows`: the 12 leads one
per row over the full length, with optional shading, an attribution colour band behind each trace
and text beside each row. The cart's 4 x 3 sheet of `ecgfeat show` is `draw.cart.draw_sheet`.

Examples
--------
>>> import numpy as np
>>> from ecgfeat.draw import draw_rows, inches_per_second, inches_per_mv
>>> t = np.arange(1000) / 500
>>> fig = draw_rows(np.vstack([np.sin(2 * np.pi * t)] * 2), 500, "two leads", leads=("I", "II"))
>>> round(float(inches_per_second(fig)), 3), round(float(inches_per_mv(fig)), 3)  # 25 mm/s, 10 mm/mV
(0.984, 0.394)
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from ..vocab import LEADS  # noqa: E402

MM_PER_S = 25.0            # paper speed
MM_PER_MV = 10.0           # gain
MM_PER_INCH = 25.4
DPI = 150                  # PNG: 5.9 pixels per mm
FORMATS = (".png", ".svg", ".pdf")

PAPER = "#fffafa"          # background
FINE = "#f7c9c9"           # 1 mm lines
BOLD = "#e48c8c"           # 5 mm lines
TRACE = "#111111"
HILITE = "#ffe27a"         # shaded leads (explanations)


# --------------------------------------------------------------------------------------------- paper

class Paper:
    """A figure `width_mm` x `height_mm` whose single axes is in millimetres (origin bottom-left)."""

    def __init__(self, width_mm: float, height_mm: float):
        self.w, self.h = float(width_mm), float(height_mm)
        self.fig = plt.figure(figsize=(self.w / MM_PER_INCH, self.h / MM_PER_INCH), facecolor="white")
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, self.w)
        self.ax.set_ylim(0, self.h)
        self.ax.set_axis_off()
        self.fig.ecgpaper = self           # the tests (and callers) read the scale back from the figure

    # one point is 1/72 inch
    @staticmethod
    def pt(mm: float) -> float:
        return mm / MM_PER_INCH * 72.0

    def grid(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Pink 1 mm grid with bold 5 mm lines over the rectangle (x0, y0)-(x1, y1), on whole mm."""
        ax = self.ax
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=PAPER, edgecolor="none", zorder=0))
        xs = np.arange(math.ceil(x0), math.floor(x1) + 1)
        ys = np.arange(math.ceil(y0), math.floor(y1) + 1)
        for bold, colour, lw in ((False, FINE, 0.28), (True, BOLD, 0.55)):
            keep_x = xs[(xs % 5 == 0) == bold] if bold else xs[xs % 5 != 0]
            keep_y = ys[(ys % 5 == 0) == bold] if bold else ys[ys % 5 != 0]
            segs = [((x, y0), (x, y1)) for x in keep_x] + [((x0, y), (x1, y)) for y in keep_y]
            ax.add_collection(LineCollection(segs, colors=colour, linewidths=lw, zorder=1))

    def calibration(self, x: float, y: float) -> None:
        """The 1 mV x 200 ms calibration pulse standing on the baseline `y`, starting at `x`."""
        px = [x, x + 2, x + 2, x + 2 + 0.2 * MM_PER_S, x + 2 + 0.2 * MM_PER_S, x + 9]
        py = [y, y, y + MM_PER_MV, y + MM_PER_MV, y, y]
        self.ax.plot(px, py, color=TRACE, lw=0.8, solid_joinstyle="miter", zorder=4)

    def trace(self, x0: float, y0: float, t: np.ndarray, v: np.ndarray, t0: float, t1: float,
              mm_per_s: float = MM_PER_S, **kw) -> None:
        """Samples with t0 <= t < t1 drawn from (x0, baseline y0): x = x0 + (t - t0) speed, y = y0 + v gain."""
        m = (t >= t0) & (t < t1) & np.isfinite(v)
        if not m.any():
            return
        style = dict(color=TRACE, lw=0.75, zorder=4, solid_joinstyle="round")
        style.update(kw)
        self.ax.plot(x0 + (t[m] - t0) * mm_per_s, y0 + v[m] * MM_PER_MV, **style)

    def text(self, x: float, y: float, s: str, size: float = 7.5, **kw):
        return self.ax.text(x, y, s, fontsize=size, zorder=6, **kw)


def save(fig, path: str | Path, dpi: int = DPI) -> str:
    """Write the figure at its physical size (never cropped: the scale is the point). PNG, SVG or PDF."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: unsupported figure format {path.suffix or '(none)'!r}; use .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Software": "ecgfeat"} if path.suffix.lower() == ".png" else None
    fig.savefig(path, dpi=dpi, facecolor="white", metadata=meta)
    plt.close(fig)
    return str(path)


def inches_per_second(fig) -> float:
    """Physical paper speed of an ecgpaper figure, in inches per second of signal (25 mm/s = 0.984)."""
    ax = fig.ecgpaper.ax
    width_in = ax.get_position().width * fig.get_figwidth()
    return width_in / (ax.get_xlim()[1] - ax.get_xlim()[0]) * MM_PER_S


def inches_per_mv(fig) -> float:
    ax = fig.ecgpaper.ax
    height_in = ax.get_position().height * fig.get_figheight()
    return height_in / (ax.get_ylim()[1] - ax.get_ylim()[0]) * MM_PER_MV



LEFT = 5.0                 # margin, mm
CAL_W = 10.0               # calibration area before each row



# --------------------------------------------------------------------------- 12 x 1 (explanations)

def draw_rows(signal: np.ndarray, fs: float, title: str, leads=LEADS, t: np.ndarray | None = None,
              texts: dict | None = None, shade: set | None = None, band: np.ndarray | None = None,
              band_norm=None, band_cmap: str = "RdBu_r", footer: str = "", row_h: float = 22.0,
              text_w: float = 95.0, max_s: float | None = None, strong: set | None = None):
    """The leads one per row at 25 mm/s and 10 mm/mV over their full length (a Figure).

    signal: (len(leads), n) mV, already baseline corrected; t: seconds of each sample (NaN: padding),
    default arange(n) / fs; texts: {lead: text} written beside the row on the right; shade: leads
    whose row is highlighted; band: (len(leads), n) values drawn as a colour band behind each trace;
    strong: leads whose label is red (default: the shaded ones).
    """
    signal = np.asarray(signal, dtype=np.float64)
    n = signal.shape[1]
    t = np.arange(n) / fs if t is None else np.asarray(t, dtype=np.float64)
    ok = np.isfinite(t)
    t_lo = float(np.nanmin(t)) if ok.any() else 0.0
    t_hi = (float(np.nanmax(t)) + 1.0 / fs) if ok.any() else n / fs
    if max_s is not None:
        t_hi = min(t_hi, t_lo + max_s)
    strip_w = (t_hi - t_lo) * MM_PER_S
    head = 8.0 + 4.2 * title.count("\n")
    width = LEFT + CAL_W + strip_w + 4 + text_w
    height = head + len(leads) * row_h + 10.0
    p = Paper(width, height)
    x0 = LEFT + CAL_W
    top = height - head
    p.grid(LEFT, 8.0, x0 + strip_w, top)
    p.text(LEFT, height - 3.0, title, size=8.5, va="top", ha="left", linespacing=1.25)
    shade = shade or set()
    strong_leads = strong
    texts = texts or {}
    for r, lead in enumerate(leads):
        row_top = top - r * row_h
        base = row_top - row_h / 2
        if lead in shade:
            p.ax.add_patch(Rectangle((x0, row_top - row_h), strip_w, row_h, facecolor=HILITE, alpha=0.35,
                                     edgecolor="none", zorder=2))
        if band is not None:
            vals = np.asarray(band[r], dtype=np.float64)
            m = ok & (t >= t_lo) & (t < t_hi)
            if m.any():
                xs = x0 + (t[m] - t_lo) * MM_PER_S
                norm = band_norm or plt.Normalize(-np.nanmax(np.abs(vals[m])) or -1, np.nanmax(np.abs(vals[m])) or 1)
                rgba = plt.get_cmap(band_cmap)(norm(vals[m]))
                # opacity grows with |value|: no attribution leaves the paper (its grid) as it is
                rgba[:, 3] = np.clip(np.abs(2.0 * np.asarray(norm(vals[m])) - 1.0), 0, 1) * 0.85
                p.ax.imshow(rgba[None, :, :], aspect="auto",
                            extent=(xs[0], xs[-1] + MM_PER_S / fs, row_top - row_h + 1, row_top - 1),
                            interpolation="nearest", zorder=2)
        p.calibration(LEFT + 0.5, base)
        p.trace(x0, base, t, signal[r], t_lo, t_hi)
        strong = lead in (shade if strong_leads is None else strong_leads)
        p.text(x0 + 1.0, row_top - 1.2, lead, size=8.5, fontweight="bold", va="top",
               color="#b00000" if strong else TRACE)
        if lead in texts and texts[lead]:
            p.text(x0 + strip_w + 3, row_top - 1.0, texts[lead], size=6.5, va="top", ha="left",
                   color="#b00000" if strong else "#222222", linespacing=1.2)
    p.ax.set_xlim(0, width)      # imshow must not change the mm coordinates
    p.ax.set_ylim(0, height)
    import textwrap

    foot = f"25 mm/s, 10 mm/mV; 1 mm = 40 ms / 0.1 mV; time {t_lo:.1f}–{t_hi:.1f} s in the record. " + footer
    p.text(x0, 6.8, "\n".join(textwrap.wrap(foot, int((width - x0) / 1.3))[:2]), size=6.5, va="top",
           color="#333333", linespacing=1.15)
    return p.fig

"""The cart's sheet of `ecgfeat show`: a record on ECG paper as a 12-lead cart prints it.

A cart-style header, the standard 4 x 3 layout (I/II/III, aVR/aVL/aVF, V1/V2/V3, V4/V5/V6, 2.5 s
each), a full-length lead II rhythm strip, a 1 mV calibration pulse at the left of each row, the
median beat's fiducials on every beat as brackets *under* the trace (ecgfeat's in blue, the
cardiologists' annotations in green where the dataset has them) and a panel with the median beats of
the 12 leads superimposed and their global boundaries. The data comes from `draw.sheet.prepare_sheet`.

Examples
--------
>>> from ecgfeat.draw import prepare_sheet, draw_sheet, save  # doctest: +SKIP
>>> sheet = prepare_sheet(record)                             # doctest: +SKIP
>>> save(draw_sheet(sheet), "reports/show/A0001.png")         # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import LineCollection

from ..vocab import LEADS
from .paper import CAL_W, LEFT, MM_PER_MV, MM_PER_S, TRACE, Paper
from .sheet import ANNOT, BOUNDARIES, ECGFEAT, Marks, Sheet

# the standard 4 x 3 layout: rows x columns of lead names
LAYOUT_4X3 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
# fiducial bracket heights (mm) by wave kind
BRACKET = {"P": 1.3, "QRS": 2.4, "T": 1.8}
MEDIAN_MM_PER_S = 50.0     # the median-beat panel is drawn twice as fast, to see the boundaries
STRIP_W = 250.0            # 10 s at 25 mm/s
GAP = 8.0
MEDIAN_S = 1.1             # template length drawn in the panel (s)
HEADER_H = 32.0
ROW_H = 40.0
FOOTER_H = 6.0


def _fmt(v, unit: str = "", digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}{unit}"


def _brackets(p: Paper, marks: Marks, x0: float, y: float, t0: float, t1: float, mm_per_s: float = MM_PER_S) -> None:
    """Wave brackets of `marks` with t in [t0, t1) drawn on the line y (ticks pointing up)."""
    segs, faint_segs, dots = [], [], []
    for kind, on, peak, off, faint in marks.waves:
        h = BRACKET.get(kind, 1.5)
        ends = [e for e in (on, off) if e is not None]
        if not ends:
            ends = [peak] if peak is not None else []
        if not ends or max(ends) < t0 or min(ends) >= t1:
            continue
        X = lambda t: x0 + (min(max(t, t0), t1) - t0) * mm_per_s  # noqa: E731
        out = faint_segs if faint else segs
        if on is not None and off is not None:
            out.append(((X(on), y), (X(off), y)))
        for e in ends:
            if t0 <= e < t1:
                out.append(((X(e), y), (X(e), y + h)))
        if kind == "T" and marks.label == "ecgfeat" and peak is not None and t0 <= peak < t1:
            dots.append((X(peak), y))
    ax = p.ax
    if segs:
        ax.add_collection(LineCollection(segs, colors=marks.colour, linewidths=0.9, zorder=5, capstyle="butt"))
    if faint_segs:
        ax.add_collection(LineCollection(faint_segs, colors=marks.colour, linewidths=0.7, alpha=0.35, zorder=5))
    if dots:
        xs, ys = zip(*dots)
        ax.plot(xs, ys, "o", ms=1.6, color=marks.colour, zorder=5)


def _pairs(p: Paper, x: float, y: float, items, size: float = 9.0) -> None:
    """Cart-style "LABEL value" pairs on the baseline y: (label, value, label width mm, column width mm)."""
    for k, v, label_w, col_w in items:
        p.text(x, y, k, size=6.8, va="baseline", color="#555555")
        p.text(x + label_w, y, v, size=size, va="baseline", fontweight="bold")
        x += col_w


def _header(p: Paper, s: Sheet, top: float) -> None:
    m = s.measurements
    age = f"{s.age:g} y" if isinstance(s.age, (int, float)) and np.isfinite(s.age) else ""
    who = ", ".join(x for x in (s.sex or "", age) if x)
    title = f"record {s.record_id}" + (f"  ·  {s.dataset}" if s.dataset else "")
    p.text(LEFT, top - 7, title if len(title) <= 34 else title[:33] + "…", size=11, fontweight="bold", va="baseline")
    facts = f"{s.fs:g} Hz, {s.duration_s:.1f} s, 12 leads" + (f"  ·  {who}" if who else "")
    p.text(LEFT, top - 13, facts, size=8, va="baseline")
    if s.labels:
        import textwrap

        lines = textwrap.wrap("; ".join(str(x).rstrip(". ") for x in s.labels), 70)
        for i, line in enumerate(lines[:3]):
            p.text(LEFT, top - 18.5 - 3.3 * i, line + (" …" if i == 2 and len(lines) > 3 else ""), size=6.5,
                   va="baseline", color="#333333")
    x = 92.0
    if m:
        _pairs(p, x, top - 7, [("HR", _fmt(m.get("hr_bpm"), " bpm"), 6.0, 30.0),
                               ("PR", _fmt(m.get("pr_ms"), " ms"), 6.0, 27.0),
                               ("QRS", _fmt(m.get("qrs_ms"), " ms"), 7.5, 30.0),
                               ("P", _fmt(m.get("p_ms"), " ms"), 4.0, 25.0)])
        qt = f"{_fmt(m.get('qt_ms'))} / {_fmt(m.get('qtc_bazett_ms'))} ms"
        axes = f"{_fmt(m.get('p_axis_deg'))} / {_fmt(m.get('axis_deg'))} / {_fmt(m.get('t_axis_deg'))}°"
        _pairs(p, x, top - 13.5, [("QT / QTc", qt, 13.0, 57.0), ("P / QRS / T axes", axes, 22.0, 50.0)])
        p.text(x, top - 19, f"QTc Bazett. Global intervals of the median beat ({s.n_dominant} of {s.n_beats} beats; "
               "boundaries over the 12 leads).", size=6.3, va="baseline", color="#555555")
    if s.note:
        p.text(x, top - (29.5 if m else 7), s.note[:140], size=8 if m else 9.5, va="baseline", color="#b00000",
               fontweight="bold")
    q = s.quality
    if q is not None:
        idx, flagged = q.get("index"), q.get("flagged") or []
        text = "signal quality " + (f"{idx:.2f}" if idx is not None else "n/a")
        why = q.get("reasons") or {}
        text += ("  ·  low-quality leads: " + ", ".join(f"{lead} ({'; '.join(why[lead])})" if why.get(lead) else lead
                                                       for lead in flagged)) if flagged else "  ·  no lead flagged"
        text = text[:160]
        if q.get("error"):
            text = "signal quality: not assessed (" + str(q["error"])[:60] + ")"
        p.text(x, top - 24.5, text, size=7.5, va="baseline",
               color="#b00000" if flagged else "#333333")
    right = p.w - LEFT
    p.text(right, top - 7, "25 mm/s   10 mm/mV", size=9.5, ha="right", va="baseline", fontweight="bold")
    p.text(right, top - 12.5, s.filtering, size=6.3, ha="right", va="baseline", color="#555555")
    p.text(right, top - 17, "ecgfeat show", size=6.3, ha="right", va="baseline", color="#555555")


def _median_panel(p: Paper, s: Sheet, x0: float, y0: float, y1: float) -> None:
    """The 12 median beats superimposed (50 mm/s, 10 mm/mV) with the global boundaries."""
    w = MEDIAN_S * MEDIAN_MM_PER_S
    p.grid(x0, y0, x0 + w, y1)
    p.text(x0, y1 + 1.2, "median beats of the 12 leads, 50 mm/s", size=6.3, va="bottom")
    if s.template is None:
        p.text(x0 + w / 2, (y0 + y1) / 2, "no median beat", size=8, ha="center", va="center", color="#b00000")
        return
    tpl, fs = s.template, s.template_fs
    L = tpl.shape[1]
    start, total = 0.0, L / fs
    if total > MEDIAN_S:   # the window from just before P on (or QRS on - 200 ms)
        lo = s.template_marks.get("P on", s.template_marks.get("QRS on", 0.0) - 0.2) - 0.06
        start = max(0.0, min(lo, total - MEDIAN_S))
    t = np.arange(L) / fs
    base = round(y0 + 0.5 * (y1 - y0))
    for k in range(tpl.shape[0]):
        p.trace(x0, base, t, tpl[k], start, start + MEDIAN_S, mm_per_s=MEDIAN_MM_PER_S, lw=0.5, alpha=0.7)
    names = [n for n, _, _ in BOUNDARIES]
    for marks, colour, top_half in ((s.template_marks, ECGFEAT, True), (s.annotation_marks, ANNOT, False)):
        placed = sorted((marks[n], n) for n in names if n in marks and start <= marks[n] < start + MEDIAN_S)
        last_x, level = -1e9, 0
        for ts, name in placed:
            x = x0 + (ts - start) * MEDIAN_MM_PER_S
            level = (level + 1) % 2 if x - last_x < 2.8 else 0     # close labels: staggered
            last_x = x
            lift = 8.5 * level
            if top_half:
                lo, hi, ty = base - 1, y1 - 8 - lift, y1 - 7.5 - lift
            else:
                lo, hi, ty = y0 + 8 + lift, base + 1, y0 + 7.5 + lift
            p.ax.plot([x, x], [lo, hi], color=colour, lw=0.7, ls=(0, (2.5, 1.5)), zorder=5)
            p.text(x, ty, name, size=5.3, rotation=90, ha="center", va="bottom" if top_half else "top", color=colour)
    m = s.measurements
    intervals = f"PR {_fmt(m.get('pr_ms'))}   QRS {_fmt(m.get('qrs_ms'))}   QT {_fmt(m.get('qt_ms'))} ms"
    p.text(x0 + w / 2, y0 - 1.2, intervals,
           size=6.5, ha="center", va="top", color=ECGFEAT)


def _legend(p: Paper, s: Sheet, x0: float, y: float) -> None:
    """What the brackets mean, and ecgfeat - annotation per global boundary."""
    sources = [s.ecgfeat] if s.ecgfeat else []
    if s.annotations:
        sources.append(Marks("annotation", ANNOT))
    yy = y
    for marks in sources:
        t_on = 0.42 if marks.label == "ecgfeat" else 0.34
        demo = Marks(marks.label, marks.colour, [("P", 0.0, None, 0.10, False), ("QRS", 0.16, None, 0.26, False),
                                                 ("T", t_on, 0.42, 0.52, False)])
        _brackets(p, demo, x0, yy, 0.0, 1.0)
        p.text(x0 + 15, yy, "ecgfeat" if marks.label == "ecgfeat" else "annotation (the dataset's)", size=7,
               va="baseline", color=marks.colour, fontweight="bold")
        yy -= 4.5
    if not sources:
        return
    lines = ["brackets under each lead: P, QRS and T waves",
             "ecgfeat: the median beat's global fiducials on",
             "every beat (T: peak • to end); faint: beats left",
             "out of the median beat"]
    if s.annotations:
        lines += ["annotation: the cardiologists', per lead"]
    for line in lines:
        p.text(x0, yy, line, size=5.6, va="baseline", color="#444444")
        yy -= 2.6
    if s.delta_ms:
        yy -= 2.5
        p.text(x0, yy, "ecgfeat − annotation, global (ms):", size=6.3, va="baseline", fontweight="bold")
        yy -= 3.4
        for name, _, _ in BOUNDARIES:
            if name in s.delta_ms:
                d = s.delta_ms[name]
                tol = CSE_2SD_MS.get(name)
                flag = "" if tol is None or abs(d) <= tol else "  > CSE tol."
                p.text(x0 + 2, yy, f"{name:<8}", size=6.3, va="baseline", family="monospace")
                p.text(x0 + 20, yy, f"{d:+.0f}{flag}", size=6.3, va="baseline", family="monospace",
                       color="#b00000" if flag else "#222222")
                yy -= 3.0
        p.text(x0, yy, "(CSE tolerance 2 SD: P on 10, P off 13, QRS on 7,", size=5.2, va="baseline", color="#555555")
        p.text(x0, yy - 2.3, "QRS off 12, T end 31 ms)", size=5.2, va="baseline", color="#555555")


CSE_2SD_MS = {"P on": 10.2, "P off": 12.7, "QRS on": 6.5, "QRS off": 11.6, "T end": 30.6}


def _mark_line(s: Sheet, v: np.ndarray, base: float, band_bottom: float, n_rows: int) -> float:
    """Where the bracket rows go in one cell: just under the lowest point of the trace (never over it),
    but not below the band's floor."""
    lowest = float(np.nanmin(v)) if v.size and np.isfinite(v).any() else 0.0
    need = 4.0 * n_rows
    y = math.floor(base + min(lowest, 0.0) * MM_PER_MV - 3.0)
    return max(min(y, base - 5.0), band_bottom + need - 3.0)


def draw_sheet(s: Sheet, start_s: float = 0.0):
    """The record on ECG paper (cart layout); returns the matplotlib Figure (its `.ecgpaper` the Paper)."""
    width = LEFT + CAL_W + STRIP_W + GAP + MEDIAN_S * MEDIAN_MM_PER_S + LEFT
    height = HEADER_H + 4 * ROW_H + FOOTER_H
    p = Paper(width, height)
    x_strip = LEFT + CAL_W
    top_grid = height - HEADER_H
    p.grid(LEFT, FOOTER_H, x_strip + STRIP_W, top_grid)
    _header(p, s, height)
    sig, fs = s.signal, s.signal_fs
    t = np.arange(sig.shape[1]) / fs
    dur = sig.shape[1] / fs
    start_s = max(0.0, min(float(start_s), max(0.0, dur - 1.0)))
    span = min(10.0, dur - start_s)
    col_s = min(2.5, span / 4)
    lead_ix = {lead: k for k, lead in enumerate(LEADS)}
    ann = s.annotations or {}
    n_rows = 1 + bool(ann)
    p.cells = {}
    for r in range(4):
        band_top = top_grid - r * ROW_H
        base = band_top - 21.0          # on a bold 5 mm line
        p.calibration(LEFT, base)
        leads = LAYOUT_4X3[r] if r < 3 else (RHYTHM_LEAD,)
        cs = col_s if r < 3 else span
        for c, lead in enumerate(leads):
            t0 = start_s + c * cs
            t1 = t0 + cs
            x0 = x_strip + c * cs * MM_PER_S
            v = sig[lead_ix[lead]]
            p.trace(x0, base, t, v, t0, t1)
            p.cells[(r, lead)] = (x0, base, t0, t1)
            low = lead in ((s.quality or {}).get("flagged") or [])
            p.text(x0 + 1.0, base + 12.5, lead + ("  (low quality)" if low else ""), size=8.5, fontweight="bold",
                   va="bottom", color="#b00000" if low else TRACE)
            if c > 0:
                p.ax.plot([x0, x0], [base - 2.5, base + 2.5], color=TRACE, lw=0.8, zorder=4)
            y_marks = _mark_line(s, v[(t >= t0) & (t < t1)], base, band_top - ROW_H, n_rows)
            if s.ecgfeat is not None:
                _brackets(p, s.ecgfeat, x0, y_marks, t0, t1)
            if lead in ann:
                _brackets(p, ann[lead], x0, y_marks - 4.0, t0, t1)
        if r == 3:
            p.text(x_strip + 7.5, base + 12.7, f"rhythm strip, {start_s:g}–{start_s + span:g} s", size=6.5,
                   va="bottom", color="#333333")
    x_med = x_strip + STRIP_W + GAP
    _median_panel(p, s, x_med, top_grid - 2 * ROW_H + 4, top_grid - 5)
    _legend(p, s, x_med, top_grid - 2 * ROW_H - 8)
    p.text(x_strip, FOOTER_H - 1.5, "1 mm = 40 ms and 0.1 mV, 5 mm = 200 ms and 0.5 mV; calibration pulse 1 mV, 200 ms; "
           f"columns of {col_s:g} s", size=6, va="top", color="#555555")
    if s.source:
        p.text(p.w - LEFT, FOOTER_H - 1.5, s.source if len(s.source) <= 90 else "…" + s.source[-89:], size=5.5,
               ha="right", va="top", color="#777777")
    return p.fig

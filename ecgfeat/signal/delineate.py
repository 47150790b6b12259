"""Delineation of the median beat: global and per-lead P, QRS and T boundaries, per-lead baselines.

Why our own and not neurokit2's `ecg_delineate`: carts measure global intervals on the 12 leads'
median beats (the earliest onset and latest offset over the leads), and that is what cardiologists
annotate; neurokit2 delineates one lead beat by beat. On ludb-dev (`bench/ludb.py`, the reference
built per lead from LUDB's annotations) neurokit2's best method on lead II reads QRS 37 ms short and
PR/QT with MAE 11/24 ms, this delineator QRS/PR/QT with MAE 10/7/20 ms (docs/delineation.md).

How, on the median beat (all indices refer to `Templates.template`, whose fiducial is at `pre`):
- coarse QRS from the summed absolute slope of the 12 leads (robust, ~20 ms inside the QRS);
- per lead, wavelet-delineator style (Martinez et al., IEEE TBME 51, 2004): the QRS starts where the
  lead's slope falls under XI_ON x the slope of its first wave (and under 3x the lead's own noise),
  ends where it falls under XI_OFF x the slope of its last wave (and under 3x the slope of its own
  ST segment, so that a sloping ST does not carry the offset past the J point), first and last waves being slope
  peaks of at least GAMMA_PRE / GAMMA_POST of the lead's largest (Martinez's thresholds: with 15%, a
  shallow terminal S in V5/V6 was cut at its nadir and those leads' QRS read 12 ms short); the T
  ends where its descent has flattened to XI_TEND of its steepest slope; the P starts likewise
  before its first slope peak;
- paced records (signal/pacing.py): the spikes are removed before filtering and the global QRS
  onset is the end of the ventricular spike (`qrs_floor`), before which no lead's QRS starts;
- global boundaries by a multi-lead rule: the onset where GLOBAL_RANK leads have left their
  baseline (the 2nd earliest lead onset), the offset and T end where all but one have returned
  (the 2nd latest), so that one noisy lead neither widens nor narrows an interval;
- P presence: a spatial hump before the QRS that repeats beat after beat (`p_consistency`, in
  features/extract.py) and lasts at most P_MAX_MS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.signal import find_peaks

from .filters import moving_average

# QRS
QRS_ALPHA = 0.12      # coarse QRS: summed slope under floor + 12% of its QRS range
XI_ON, XI_OFF = 0.01, 0.05   # per-lead QRS onset / offset: share of the first / last wave's slope peak
NOISE_K = 3.0         # ... and an onset's slope never under 3x the lead's noise (flattest 20 ms of PR)
ST_FROM_MS, ST_TO_MS = 20.0, 100.0   # ... and an offset's never under 3x the ST segment's slope: its flattest
                      # 20 ms within 20-100 ms after the last wave (a sloping ST is not QRS: without
                      # this the offset waited for the ST to flatten, past the J point)
GAMMA = 0.15          # a wave is a slope peak of at least 15% of the lead's largest
GAMMA_PRE, GAMMA_POST = 0.06, 0.09   # ... but the first and last waves, which set the boundaries, count from
                      # 6% / 9% (Martinez et al. 2004's gamma_QRS-pre / -post): a small initial q or a
                      # shallow terminal S (lateral leads) is part of the QRS
EXTEND_MS = 40.0      # a per-lead boundary lies within 40 ms outside the coarse QRS, or is not measured
LEAD_MIN_MV = 0.1     # leads with a smaller QRS (peak to peak) give no boundary
GLOBAL_RANK = 2       # global onset (offset): the 2nd earliest (latest) lead boundary
# T
QTC_MAX_S = 0.6       # the T wave is sought up to a QTc (Bazett) of 600 ms
QT_MAX_S = 0.7        # ... and never past QT 700 ms
T_MIN_MV = 0.05       # leads with a smaller T wave (flat T) give no T end
XI_TEND = 0.1         # T end: where the descent after the T peak has flattened to 10% of its steepest
T_RANK = 2            # global T end: the 2nd latest lead T end
# P
P_MIN_MV = 0.04       # spatial P peak (above floor) smaller than this: no P wave
P_BETA = 0.1          # spatial P offset: magnitude under floor + 10% of the P peak height
P_BETA_ON = 0.1       # spatial P onset, before the per-lead refinement: likewise
P_RISE_MS = 100.0     # P onset to P peak at the most
P_LEAD_MIN_MV = 0.05  # leads with a smaller P give no P onset
XI_P = 0.1            # per-lead P onset: slope under 10% of the lead's first P slope peak
P_EXTEND_MS = 60.0    # a lead's P onset lies within 60 ms before its first P slope peak, or is not measured
P_MAX_MS = 200.0      # the longest P wave (advanced interatrial block stays under ~180 ms)
P_CONSISTENCY_MIN = 10.0   # a P wave repeats beat after beat: its energy >= 10x what averaging noise leaves


@dataclass
class Delineation:
    qrs_on: int
    qrs_off: int
    t_peak: int
    t_end: int
    p_on: int | None
    p_peak: int | None
    p_off: int | None
    baseline: np.ndarray     # (leads,) PR-segment level of each lead, mV
    p_height: float          # spatial P peak above floor, mV (0 when absent)
    lead_qrs_on: np.ndarray | None = None    # (leads,) per-lead QRS onset, template index (NaN: none)
    lead_qrs_off: np.ndarray | None = None   # (leads,) per-lead QRS offset
    lead_t_end: np.ndarray | None = None     # (leads,) per-lead T end

    @property
    def has_p(self) -> bool:
        return self.p_on is not None


def _first_run(mask: np.ndarray, start: int, step: int, run: int) -> int:
    """First index from `start` moving by `step` where `mask` holds for `run` consecutive samples."""
    i, count, first = start, 0, None
    while 0 <= i < mask.size:
        if mask[i]:
            if count == 0:
                first = i
            count += 1
            if count >= run:
                return first
        else:
            count = 0
        i += step
    return first if first is not None else min(max(i - step, 0), mask.size - 1)


def slope(x: np.ndarray, fs: float) -> np.ndarray:
    """|dx/dt| per lead by a central difference over 8 ms (mV/s), the same length as x."""
    h = max(1, int(round(0.004 * fs)))
    d = np.zeros_like(x, dtype=float)
    d[..., h:-h] = (x[..., 2 * h:] - x[..., :-2 * h]) * (fs / (2 * h))
    return np.abs(d)


def lead_qrs_bounds(rel: np.ndarray, fs: float, c_on: int, c_off: int,
                    floor: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead QRS onset and offset (template indices, NaN where not measurable).

    Searched outwards from the lead's first and last significant slope peaks inside the coarse QRS
    [c_on, c_off]; a boundary that does not settle within EXTEND_MS of the coarse one (baseline
    wander, a merged P wave) is not measured. `floor`: no onset before it (the end of a pacing
    spike: a paced QRS cannot start before its stimulus).
    """
    n, L = rel.shape
    ad = slope(rel, fs)
    ext = int(EXTEND_MS * fs / 1000)
    a, b = max(c_on, 1), min(c_off + 1, L - 1)
    on, off = np.full(n, np.nan), np.full(n, np.nan)
    if b - a < 3:
        return on, off
    ptp = np.ptp(rel[:, a:b], axis=1)
    # each lead's slope noise: the flattest 20 ms of the 100 ms before the coarse onset (PR segment)
    w = max(1, int(0.02 * fs))
    pr = ad[:, max(c_on - int(0.1 * fs), 0):max(c_on - int(0.01 * fs), w + 1)]
    noise = moving_average(pr, w)[:, w // 2: pr.shape[1] - w // 2].min(axis=1) if pr.shape[1] > w else np.zeros(n)
    # vectorised over the leads (12 find_peaks calls and walks cost ~1 ms a beat analysis)
    seg = ad[:, a:b]
    padded = np.pad(seg, ((0, 0), (1, 1)))
    local = (seg > padded[:, :-2]) & (seg >= padded[:, 2:]) & (ptp >= LEAD_MIN_MV)[:, None]
    is_peak = local & (seg >= GAMMA * seg.max(axis=1, keepdims=True))
    rows = np.flatnonzero(is_peak.any(axis=1))
    if rows.size == 0:
        return on, off
    is_first = local[rows] & (seg[rows] >= GAMMA_PRE * seg[rows].max(axis=1, keepdims=True))
    f = a + np.argmax(is_first, axis=1)                                    # first significant slope peak
    # a terminal wave under GAMMA counts while it brings the lead back towards its baseline (a
    # shallow S returning to the PR level), not when it moves away (the ST segment rising to the T)
    r = rel[rows, a:b]
    toward = r * (rel[rows, a + 1:b + 1] - rel[rows, a - 1:b - 1]) < 0
    is_last = local[rows] & (seg[rows] >= GAMMA_POST * seg[rows].max(axis=1, keepdims=True)) & (toward | is_peak[rows])
    last = a + (b - a - 1) - np.argmax(is_last[:, ::-1], axis=1)           # last one (terminal waves count from GAMMA_POST)
    idx = np.arange(L)[None, :]
    thr_on = np.maximum(XI_ON * ad[rows, f], NOISE_K * noise[rows])[:, None]
    ok_on = (ad[rows] <= thr_on) & (idx <= f[:, None]) & (idx >= max(c_on - ext, 0))
    has = ok_on.any(axis=1)
    on[rows[has]] = (L - 1 - np.argmax(ok_on[has, ::-1], axis=1))          # the latest quiet sample before f
    if floor is not None:
        on = np.where(np.isfinite(on), np.maximum(on, floor), on)
    thr_off = XI_OFF * ad[rows, last]
    # the ST segment's own slope, as the PR segment's noise bounds the onset: the flattest 20 ms
    # (moving average of the slope) from ST_FROM_MS to ST_TO_MS after each lead's last wave
    sm = moving_average(ad[rows], w)
    st_a, st_b = int(ST_FROM_MS * fs / 1000), int(ST_TO_MS * fs / 1000)
    in_st = (idx >= (last + st_a)[:, None]) & (idx < (last + st_b)[:, None])
    st = np.where(in_st, sm, np.inf).min(axis=1)
    thr_off = np.maximum(thr_off, NOISE_K * np.where(np.isfinite(st), st, 0.0))
    ok_off = (ad[rows] <= thr_off[:, None]) & (idx >= last[:, None]) & (idx <= min(c_off + ext, L - 1))
    has = ok_off.any(axis=1)
    off[rows[has]] = np.argmax(ok_off[has], axis=1)                        # the first quiet sample after last
    return on, off


def lead_t_ends(rel: np.ndarray, fs: float, t_lo: int, t_hi: int) -> np.ndarray:
    """Per-lead T end (template index, NaN where the lead's T wave is under T_MIN_MV).

    The T peak is the lead's largest deflection from its PR level in [t_lo, t_hi); the end is where
    the descent after it has flattened to XI_TEND of its steepest slope (XI_TEND = 0: where the
    tangent at the steepest descent meets the PR level, the tangent method, which on LUDB ends the
    T wave ~20 ms before the cardiologists do).
    """
    n, L = rel.shape
    out = np.full(n, np.nan)
    if t_hi - t_lo < 4:
        return out
    seg = moving_average(rel[:, t_lo:t_hi], max(1, int(0.008 * fs)))
    pk = np.argmax(np.abs(seg), axis=1)
    for k in range(n):
        amp = seg[k, pk[k]]
        if abs(amp) < T_MIN_MV:
            continue
        y = np.sign(amp) * seg[k, pk[k]:]
        dy = np.diff(y)
        if dy.size == 0 or dy.min() >= 0:
            continue
        m = int(np.argmin(dy))
        if XI_TEND > 0:
            flat = np.flatnonzero(-dy[m:] <= XI_TEND * -dy[m])
            end = m + flat[0] if flat.size else dy.size
        else:
            end = m + y[m] / -dy[m]
        out[k] = t_lo + pk[k] + min(end, y.size - 1)
    return out


def lead_p_onsets(rel: np.ndarray, fs: float, p_lo: int, p_on: int, p_peak: int, p_off: int) -> np.ndarray:
    """Per-lead P onset (template index, NaN where the lead's P is under P_LEAD_MIN_MV).

    As for the QRS: from the lead's first P slope peak back to where its slope falls under XI_P x
    that peak or NOISE_K x its own noise (the flattest 20 ms of the TP segment before the P).
    """
    n = rel.shape[0]
    out = np.full(n, np.nan)
    if p_peak - p_lo < 4:
        return out
    ad = slope(moving_average(rel, max(1, int(0.008 * fs))), fs)
    w = max(1, int(0.02 * fs))
    tp_seg = ad[:, p_lo:max(p_on, p_lo + w + 1)]
    noise = moving_average(tp_seg, w)[:, w // 2: tp_seg.shape[1] - w // 2].min(axis=1) if tp_seg.shape[1] > w else np.zeros(n)
    amp = np.abs(rel[:, p_on:p_off + 1]).max(axis=1)
    for k in np.flatnonzero(amp >= P_LEAD_MIN_MV):
        seg = ad[k, p_on:p_peak + 1]
        pk, _ = find_peaks(np.r_[0.0, seg, 0.0], height=0.3 * seg.max())
        if pk.size == 0:
            continue
        f = p_on + pk[0] - 1
        lo = max(p_lo, f - int(P_EXTEND_MS * fs / 1000))
        below = np.flatnonzero(ad[k, lo:f + 1][::-1] <= max(XI_P * ad[k, f], NOISE_K * noise[k]))
        if below.size:
            out[k] = f - below[0]
    return out


def p_consistency(epochs: np.ndarray, p_on: int, p_off: int) -> float:
    """How far the median beat's P wave stands above what averaging the beats' noise leaves.

    With n beats, the mean of an atrial activity that is not locked to the QRS (fibrillatory waves,
    noise) keeps about 1/n of its per-beat energy: n(n-1) |mean|^2 / (n x median_beats |beat - mean|^2)
    is ~1 for such activity and grows with n for a P wave that repeats at a fixed PR interval. (All
    leads, samples p_on..p_off of the aligned epochs.)
    """
    e = np.asarray(epochs[:, :, p_on:p_off + 1], dtype=float)
    n = e.shape[0]
    if n < 3 or e.shape[-1] < 2:
        return np.nan
    m = e.mean(axis=0)
    # the beats' residual energy by its median over beats, so that one premature beat with its
    # own P wave (a PAC) does not hide the P of all the others
    resid = float(np.median(((e - m) ** 2).sum(axis=(1, 2)))) * n
    return float(n * (n - 1) * (m ** 2).sum() / resid) if resid > 0 else np.inf


def without_p(d: "Delineation") -> "Delineation":
    return replace(d, p_on=None, p_peak=None, p_off=None, p_height=0.0)


def _rank(values: np.ndarray, rank: int, latest: bool) -> float:
    v = np.sort(values[np.isfinite(values)])
    if v.size < rank:
        return np.nan
    return float(v[-rank] if latest else v[rank - 1])


def delineate(template: np.ndarray, pre: int, fs: float, rr_s: float, waves: bool = True,
              qrs_floor: int | None = None) -> Delineation:
    """Delineate a (leads, L) median beat whose fiducial is at index `pre`; `rr_s` the median RR.

    `waves=False`: the QRS only. `qrs_floor`: in a paced record, the end of the ventricular pacing
    spike that leads the median beat: the global QRS onset (ventricular activation starts with
    capture; the first milliseconds after the stimulus are of low slope in every lead), and no
    lead's QRS starts before it.
    """
    ms = fs / 1000.0
    L = template.shape[-1]
    summed = moving_average(np.abs(np.diff(template, axis=-1, prepend=template[:, :1])).sum(axis=0) * fs,
                            max(1, int(6 * ms)))
    lo, hi = max(pre - int(180 * ms), 1), min(pre + int(220 * ms), L - 1)
    peak = lo + int(np.argmax(summed[lo:hi]))
    floor = np.percentile(summed[lo:hi], 5)
    thr = floor + QRS_ALPHA * (summed[peak] - floor)
    quiet = summed < thr
    # onset: going back from the slope peak, the first point of a 12 ms quiet run (its end is the onset)
    on_run = _first_run(quiet, peak, -1, int(12 * ms))
    qrs_on = max(on_run + 1, lo)
    if qrs_floor is not None and qrs_floor < peak:
        qrs_on = max(qrs_on, int(qrs_floor))
    else:
        qrs_floor = None
    # offset: going forward, the first 20 ms quiet run (RBBB/LBBB lobes are bridged)
    qrs_off = min(_first_run(quiet, peak, +1, int(20 * ms)), hi)
    # refine on the leads: the global onset where GLOBAL_RANK leads have left their baseline
    base_a, base_b = max(qrs_on - int(20 * ms), 0), max(qrs_on - int(4 * ms), 1)
    rel0 = template - np.median(template[:, base_a:base_b], axis=1)[:, None]
    lead_on, lead_off = lead_qrs_bounds(rel0, fs, qrs_on, qrs_off, qrs_floor)
    g_on, g_off = _rank(lead_on, GLOBAL_RANK, False), _rank(lead_off, GLOBAL_RANK, True)
    if np.isfinite(g_on):
        qrs_on = int(min(g_on, qrs_on))
    if qrs_floor is not None:   # a paced QRS is measured from the stimulus (its spike's end)
        qrs_on = int(qrs_floor)
    if np.isfinite(g_off):
        qrs_off = int(max(g_off, qrs_off))
    base_a, base_b = max(qrs_on - int(20 * ms), 0), max(qrs_on - int(4 * ms), 1)
    baseline = np.median(template[:, base_a:base_b], axis=1)
    if not waves:   # the QRS only: no T or P
        none = np.full(template.shape[0], np.nan)
        return Delineation(qrs_on, qrs_off, qrs_off, qrs_off, None, None, None, baseline, 0.0, lead_on, lead_off, none)
    rel = template - baseline[:, None]
    mag = np.sqrt((rel ** 2).sum(axis=0))
    mag_floor = float(np.median(mag[base_a:base_b]))

    # T: peak magnitude after J+60 ms within the QT range; end by the tangent method
    t_lo = min(qrs_off + int(60 * ms), L - 2)
    # the T wave is sought up to a QTc (Bazett) of QTC_MAX_S: beyond it lies the next P wave
    t_hi = min(qrs_on + int(min(QTC_MAX_S * np.sqrt(max(rr_s, 0.2)), 0.9 * rr_s, QT_MAX_S) * fs), L - 1)
    t_hi = max(t_hi, t_lo + 2)
    smooth = moving_average(mag, max(1, int(6 * ms)))
    t_peak = t_lo + int(np.argmax(smooth[t_lo:t_hi]))
    d = np.diff(smooth[t_peak:t_hi])
    if d.size and d.min() < 0:
        k = t_peak + int(np.argmin(d))
        s = d.min()                                   # steepest descent (per sample)
        t_end = int(round(k + (mag_floor - smooth[k]) / s))
        t_end = int(np.clip(t_end, t_peak + 1, t_hi))
    else:
        t_end = t_hi
    t_end_spatial = t_end
    lead_tend = lead_t_ends(rel, fs, t_lo, t_hi)
    g_t = _rank(lead_tend, T_RANK, True)
    if np.isfinite(g_t):
        t_end = int(round(g_t))
        t_peak = min(t_peak, t_end - 1)

    # P: spatial magnitude peak between the previous T end and the QRS onset
    # (the spatial T end: the latest lead's T end would cut a long-PR P wave off the window)
    prev_t_end = qrs_on - int(rr_s * fs) + (t_end_spatial - qrs_on)
    p_lo = max(qrs_on - int(400 * ms), prev_t_end + int(20 * ms), 0)
    p_hi = qrs_on - int(30 * ms)
    p_on = p_peak = p_off = None
    p_height = 0.0
    if p_hi - p_lo > int(40 * ms):
        pm = moving_average(mag, max(1, int(8 * ms)))
        seg = pm[p_lo:p_hi]
        floor_p = min(mag_floor, float(np.percentile(seg, 10)))
        # a P wave is a hump: the highest interior local maximum, not the falling tail of the
        # previous T wave at the window's edge
        humps, props = find_peaks(seg, prominence=0.5 * P_MIN_MV)
        height = 0.0
        if humps.size:
            best = humps[np.argmax(seg[humps])]
            p_peak_i = p_lo + int(best)
            height = float(pm[p_peak_i] - floor_p)
        if height >= P_MIN_MV:
            # each side against its own quiet level: the TP segment before the P and the PR
            # segment after it differ in real ECGs (atrial repolarisation depresses the PR segment)
            floor_on = float(pm[p_lo:p_peak_i + 1].min())
            floor_off = float(pm[p_peak_i:qrs_on].min())
            on = _first_run(pm < floor_on + P_BETA_ON * (pm[p_peak_i] - floor_on), p_peak_i, -1, int(6 * ms))
            off = _first_run(pm < floor_off + P_BETA * (pm[p_peak_i] - floor_off), p_peak_i, +1, int(6 * ms))
            # a P wave rises to its peak within P_RISE_MS: a threshold crossing further back is the
            # tail of the previous T wave or a TP segment off the PR level, not the P onset
            on = max(on, p_peak_i - int(P_RISE_MS * ms))
            p_on, p_peak, p_off, p_height = max(on, p_lo), p_peak_i, min(off, qrs_on - 1), height
            g_p = _rank(lead_p_onsets(rel, fs, p_lo, p_on, p_peak, p_off), GLOBAL_RANK, False)
            if np.isfinite(g_p) and (p_off - g_p) <= P_MAX_MS * ms:
                p_on = int(min(g_p, p_on))
            if p_off - p_on > P_MAX_MS * ms:   # no atrial depolarisation lasts this long: not a P wave
                p_on = p_peak = p_off = None
                p_height = 0.0
    return Delineation(qrs_on, qrs_off, t_peak, t_end, p_on, p_peak, p_off, baseline, p_height, lead_on, lead_off, lead_tend)

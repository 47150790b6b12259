"""Global delineation of the median beat: QRS onset/offset, P onset/offset, T end, per-lead baselines.

Boundaries are global (all leads together), as ECG carts measure intervals: the QRS from the summed
absolute slope of the 12 leads, the P and T waves from the spatial magnitude of the signal (the
length of the heart vector) relative to the PR-segment baseline; T end by the tangent method on that
magnitude. All indices refer to the template (Templates.template), whose fiducial is at `pre`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from .filters import moving_average

QRS_ALPHA = 0.12    # QRS boundary: summed slope under floor + 12% of its QRS range
P_BETA = 0.1       # P boundary: magnitude under floor + 10% of the P peak height
P_MIN_MV = 0.04      # spatial P peak (above floor) smaller than this: no P wave


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


def delineate(template: np.ndarray, pre: int, fs: float, rr_s: float) -> Delineation:
    ms = fs / 1000.0
    L = template.shape[-1]
    slope = moving_average(np.abs(np.diff(template, axis=-1, prepend=template[:, :1])).sum(axis=0) * fs,
                           max(1, int(6 * ms)))
    lo, hi = max(pre - int(180 * ms), 1), min(pre + int(220 * ms), L - 1)
    peak = lo + int(np.argmax(slope[lo:hi]))
    floor = np.percentile(slope[lo:hi], 5)
    thr = floor + QRS_ALPHA * (slope[peak] - floor)
    quiet = slope < thr
    # onset: going back from the slope peak, the first point of a 12 ms quiet run (its end is the onset)
    on_run = _first_run(quiet, peak, -1, int(12 * ms))
    qrs_on = max(on_run + 1, lo)
    # offset: going forward, the first 20 ms quiet run (RBBB/LBBB lobes are bridged)
    qrs_off = min(_first_run(quiet, peak, +1, int(20 * ms)), hi)
    base_a, base_b = max(qrs_on - int(20 * ms), 0), max(qrs_on - int(4 * ms), 1)
    baseline = np.median(template[:, base_a:base_b], axis=1)
    rel = template - baseline[:, None]
    mag = np.sqrt((rel ** 2).sum(axis=0))
    mag_floor = float(np.median(mag[base_a:base_b]))

    # T: peak magnitude after J+60 ms within the QT range; end by the tangent method
    t_lo = min(qrs_off + int(60 * ms), L - 2)
    t_hi = min(qrs_on + int(min(600.0, 0.9 * rr_s * 1000) * ms), L - 1)
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

    # P: spatial magnitude peak between the previous T end and the QRS onset
    prev_t_end = qrs_on - int(rr_s * fs) + (t_end - qrs_on)
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
            on = _first_run(pm < floor_on + P_BETA * (pm[p_peak_i] - floor_on), p_peak_i, -1, int(6 * ms))
            off = _first_run(pm < floor_off + P_BETA * (pm[p_peak_i] - floor_off), p_peak_i, +1, int(6 * ms))
            p_on, p_peak, p_off, p_height = max(on, p_lo), p_peak_i, min(off, qrs_on - 1), height
    return Delineation(qrs_on, qrs_off, t_peak, t_end, p_on, p_peak, p_off, baseline, p_height)

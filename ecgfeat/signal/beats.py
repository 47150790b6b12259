"""QRS detection on all 12 leads at once.

The detection function is the absolute slope summed over leads in the 3-30 Hz band, integrated
over 120 ms (Pan-Tompkins' integration, made multi-lead): a beat invisible in one lead is seen in
others, and a noisy lead is outvoted. Integrating |slope| (not slope squared) measures a complex's
total variation, i.e. its amplitude, so a wide premature ventricular beat is not lost to the
narrow sinus beats. Peaks closer than 250 ms are one beat (max 240 bpm); the threshold is 30% of
the typical QRS level (median of the upper half of the candidate peaks that stand out of the
envelope's median level, so neither one huge PVC nor the T waves and noise of a slow rhythm set
it), with a search-back at 15% in gaps longer than 1.66 median RR. As in Pan-Tompkins, a candidate
within 450 ms of the previous beat whose steepest slope is under half of that beat's *and* whose
amplitude is under 70% of it is a T wave, not a beat.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from .filters import QRS_BAND, bandpass, moving_average


def detection_signals(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(envelope, summed |slope|, band-passed signal) of a (leads, n) signal."""
    bp = bandpass(x, QRS_BAND[0], QRS_BAND[1], fs, order=2)
    slope = np.abs(np.diff(bp, axis=-1, prepend=bp[..., :1])).sum(axis=0) * fs
    return moving_average(slope, int(0.12 * fs)), slope, bp


def _drop_t_waves(beats: np.ndarray, slope: np.ndarray, bp: np.ndarray, fs: float) -> np.ndarray:
    w = int(0.06 * fs)
    n = slope.size

    def strength(i: int) -> tuple[float, float]:
        a, b = max(i - w, 0), min(i + w, n)
        return float(slope[a:b].max()), float(np.ptp(bp[:, a:b], axis=1).sum())

    kept = [int(beats[0])]
    last = strength(kept[0])
    for i in beats[1:]:
        cur = strength(int(i))
        if i - kept[-1] < 0.45 * fs and cur[0] < 0.5 * last[0] and cur[1] < 0.7 * last[1]:
            continue  # a T wave: slow and small next to the beat before it
        kept.append(int(i))
        last = cur
    return np.asarray(kept, dtype=int)


def detect_beats(x: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the QRS complexes of a (leads, n) signal (sorted, int)."""
    env, slope, bp = detection_signals(x, fs)
    cand, _ = find_peaks(env, distance=max(1, int(0.25 * fs)))
    if cand.size == 0:
        return cand
    h = env[cand]
    # the typical QRS level: the median of the upper half of the candidates that stand out of the
    # envelope's own level (twice its median, which the QRS windows are too brief to set). The upper
    # half of *all* candidates is the QRS only while beats are at least half of them; in a slow rhythm
    # (40 bpm: a QRS, a T, a P and a few noise ripples per beat) it reaches down to T waves and noise,
    # and a threshold at 30% of that counts them as beats.
    pool = h[h > 2.0 * np.median(env)]
    pool = pool if pool.size else h
    ref = np.median(pool[pool >= np.median(pool)])
    beats = _drop_t_waves(cand[h >= 0.3 * ref], slope, bp, fs)
    if beats.size >= 3:  # search back in long gaps for a beat missed by the threshold
        rr = np.median(np.diff(beats))
        extra = []
        for a, b in zip(beats[:-1], beats[1:]):
            if b - a > 1.66 * rr:
                inside = cand[(cand > a + 0.25 * fs) & (cand < b - 0.25 * fs)]
                if inside.size:
                    best = inside[np.argmax(env[inside])]
                    if env[best] >= 0.15 * ref:
                        extra.append(best)
        if extra:
            beats = np.sort(np.concatenate([beats, extra]))
    # a beat cut by the record's edge cannot be measured: keep it only with 60 ms of signal around
    margin = int(0.06 * fs)
    return beats[(beats >= margin) & (beats < x.shape[-1] - margin)].astype(int)

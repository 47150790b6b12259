"""Pacemaker spikes: detection on the unfiltered signal, and their removal before the 40 Hz low-pass.

A pacing pulse lasts 0.1-2 ms at the electrode (unipolar pulses are millivolts on the body surface,
bipolar ones a few tenths of a millivolt or less). Sampled at 250-1000 Hz after the cart's anti-alias
filter it is a *one-sample* jump out of a quiet baseline that returns within a few milliseconds
(or, filtered by some carts, a one-sample step followed by a plateau), while no myocardial deflection
changes by more than a fraction of its height in one sample: the steepest QRS upstroke spreads over
10-20 ms and keeps changing after its steepest sample. Left in the signal, the 40 Hz low-pass of the
beat analysis smears the pulse over ~20 ms on each side and the QRS (or P) onset is read at the smeared
spike; carts therefore detect pacing pulses and keep them out of the measurement (and a paced QRS
is measured from its stimulus).

Detection (`pacing_spikes`), per lead, at the record's own rate: a sample whose one-sample change
is the largest of the surrounding SPIKE_MS window, at least MIN_JUMP_MV and 10x the lead's median
one-sample change (its noise and quantisation), carrying at least half of the window's excursion
from the level QUIET_MS before it, with the signal back within half of that excursion RETURN_MS
after it (a pulse) or every change of the RETURN_MS after it under a quarter of the jump (a step),
and a baseline quiet (every one-sample change under a quarter of the jump) over the QUIET_MS before
it. A spike is an instant where at least two of the independent leads (I, II, V1-V6; III, aVR,
aVL and aVF are sums of I and II and would repeat one lead's artefact) show one within one sample. A record is paced when spikes precede at least PACED_SHARE of its beats, within
PACED_WINDOW_MS before the beat's fiducial (a ventricular spike leads its QRS, an atrial one its P
wave by less than the longest programmed AV delay).

Removal (`remove_spikes`): every lead is bridged by a straight line from 2 samples before an
artefact (its spikes closer than ARTEFACT_MS: a pulse and its recharge, a held pulse's two edges)
to BLANK_MS after it, the cart's "pacemaker pulse rejection".
"""

from __future__ import annotations

import numpy as np

MIN_JUMP_MV = 0.1      # smallest one-sample jump counted as a pacing pulse
NOISE_FACTOR = 10.0    # ... and 10x the lead's median one-sample change
SPIKE_MS = 12.0        # the pulse and its recovery fit in 12 ms (the jump is the window's largest change)
RETURN_MS = 8.0        # 8 ms after the jump the signal is back within half of the pulse's excursion
QUIET_MS = 10.0        # the 10 ms before it are quiet: every change under a quarter of the jump
PACED_SHARE = 0.5      # a record is paced when spikes precede at least half of its beats
PACED_WINDOW_MS = 300.0
BLANK_MS = 8.0
ARTEFACT_MS = 40.0   # spikes closer than 40 ms are one artefact (a pulse and its recharge, or a held pulse's two edges)
VENTRICULAR_LEAD_MS = 50.0   # a ventricular spike's end lies < 50 ms before the QRS's own onset
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def _ms(ms: float, fs: float, least: int = 1) -> int:
    return max(least, int(round(ms * fs / 1000.0)))


def lead_spikes(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(lead row, sample) of every one-sample pacing-like pulse of a (leads, n) signal (mV)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    ad = np.abs(np.diff(x, axis=-1, prepend=x[..., :1]))      # ad[c] = |x[c] - x[c-1]|
    noise = np.median(ad[..., ::5], axis=-1)     # (every 5th sample: the same level at a fifth of the cost)
    half, ret, quiet = _ms(SPIKE_MS / 2, fs, 2), _ms(RETURN_MS, fs, 2), _ms(QUIET_MS, fs, 2)
    pre_lag = _ms(6.0, fs, 2)
    flat = np.flatnonzero(ad >= np.maximum(MIN_JUMP_MV, NOISE_FACTOR * noise)[:, None])
    rows, cols = np.divmod(flat, n)
    keep = (cols >= pre_lag + quiet) & (cols + max(half, ret) < n)
    # the cheapest test first: a quiet sample just before the jump (drops every QRS upstroke)
    keep[keep] = ad[rows[keep], cols[keep] - pre_lag] <= 0.25 * ad[rows[keep], cols[keep]]
    rows, cols = rows[keep], cols[keep]
    if cols.size == 0:
        return rows, cols
    jump = ad[rows, cols]
    win = cols[:, None] + np.arange(-half + 1, half + 1)[None, :]     # the 12 ms around the jump
    pre = x[rows, cols - pre_lag]
    exc = np.abs(x[rows[:, None], win] - pre[:, None]).max(axis=1)
    before = ad[rows[:, None], cols[:, None] - pre_lag - np.arange(quiet)[None, :]].max(axis=1)
    pulse = (jump >= ad[rows[:, None], win].max(axis=1)) & (jump >= 0.5 * exc) & (np.abs(x[rows, cols + ret] - pre) <= 0.5 * exc)
    # or a step: the jump, then a plateau (a filtered or sample-held bipolar pulse)
    step = ad[rows[:, None], cols[:, None] + 1 + np.arange(ret)[None, :]].max(axis=1) <= 0.25 * jump
    ok = (pulse | step) & (before <= 0.25 * jump)
    return rows[ok], cols[ok]


def pacing_spikes(x: np.ndarray, fs: float, leads: tuple[str, ...] | list[str] | None = None) -> np.ndarray:
    """Sample indices of pacing spikes: instants where >= 2 independent leads show a pulse.

    Examples
    --------
    >>> x = np.zeros((12, 1000)); x[:, 500] = 1.0; x[:, 501:504] = [0.6, 0.3, 0.1]
    >>> pacing_spikes(x, 500.0).tolist()
    [500]
    """
    x = np.asarray(x, dtype=float)
    if leads is not None and all(name in leads for name in INDEPENDENT):
        idx = [list(leads).index(name) for name in INDEPENDENT]
    else:
        idx = list(range(x.shape[0]))
    rows, cols = lead_spikes(x[idx], fs)
    if cols.size == 0:
        return cols.astype(int)
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order], cols[order]
    out, start = [], 0
    for k in range(1, cols.size + 1):          # clusters of pulses within one sample of each other
        if k == cols.size or cols[k] - cols[k - 1] > 1:
            if np.unique(rows[start:k]).size >= 2:
                out.append(int(cols[start]))
            start = k
    return np.asarray(out, dtype=int)


def paced_share(spikes: np.ndarray, beats: np.ndarray, fs: float) -> float:
    """Share of the beats with a pacing spike within PACED_WINDOW_MS before their fiducial."""
    beats = np.asarray(beats)
    if beats.size == 0:
        return np.nan
    if np.size(spikes) == 0:
        return 0.0
    w = PACED_WINDOW_MS * fs / 1000.0
    k = np.searchsorted(spikes, beats, side="right") - 1          # the last spike at or before the beat
    ok = (k >= 0) & (beats - spikes[np.maximum(k, 0)] <= w)
    return float(ok.mean())


def artefacts(spikes: np.ndarray, fs: float) -> list[tuple[int, int]]:
    """(first, last) spike of each pacing artefact: spikes closer than ARTEFACT_MS are one."""
    spikes = np.asarray(spikes, dtype=int)
    if spikes.size == 0:
        return []
    cut = np.flatnonzero(np.diff(spikes) > ARTEFACT_MS * fs / 1000.0) + 1
    return [(int(g[0]), int(g[-1])) for g in np.split(spikes, cut)]


def remove_spikes(x: np.ndarray, spikes: np.ndarray, fs: float) -> np.ndarray:
    """A copy of x (leads, n) with each artefact bridged by a straight line (2 samples before its
    first spike to BLANK_MS after its last)."""
    y = np.array(x, dtype=float, copy=True)
    n = y.shape[-1]
    after = _ms(BLANK_MS, fs, 2)
    for first, last in artefacts(spikes, fs):
        a, b = max(first - 2, 0), min(last + after, n - 1)
        if b - a < 2:
            continue
        t = (np.arange(a + 1, b) - a) / (b - a)
        y[:, a + 1:b] = y[:, a:a + 1] + t[None, :] * (y[:, b:b + 1] - y[:, a:a + 1])
    return y


def spike_floor(spikes: np.ndarray, fiducials: np.ndarray, pre: int, fs: float,
                lead_ms: float = 200.0) -> int | None:
    """Median-beat index where a paced QRS can start (None: no paced beats).

    A beat's ventricular artefact is the last one within `lead_ms` before its fiducial; the median
    over the beats that have one of its first spike's lag, plus BLANK_MS, is the floor (`pre` is the
    fiducial's index in the median beat).
    """
    fiducials = np.asarray(fiducials)
    arts = artefacts(spikes, fs)
    if not arts or fiducials.size == 0:
        return None
    firsts = np.array([a for a, _ in arts])
    k = np.searchsorted(firsts, fiducials, side="right") - 1
    lag = fiducials - firsts[np.maximum(k, 0)]
    ok = (k >= 0) & (lag <= lead_ms * fs / 1000.0)
    if ok.mean() < PACED_SHARE:
        return None
    return int(pre - np.median(lag[ok]) + _ms(BLANK_MS, fs, 2))

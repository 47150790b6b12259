"""Beat epochs, alignment, dominant-beat selection and the median beat (template) per lead."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PRE_S, POST_S = 0.45, 0.65   # epoch window around the fiducial: a 340 ms PR and a 520 ms QT fit


@dataclass
class Templates:
    fs: float
    fiducials: np.ndarray      # (n_beats,) sample index of every detected beat (after alignment)
    pre: int                   # template index of the fiducial
    epochs: np.ndarray         # (n_valid, leads, L): beats whose window fits inside the record
    epoch_beats: np.ndarray    # (n_valid,) index into fiducials of each epoch
    qrs_corr: np.ndarray       # (n_beats,) QRS correlation with the dominant morphology (NaN at edges)
    dominant: np.ndarray       # (n_valid,) bool: epochs of the dominant (conducted) morphology
    template: np.ndarray       # (leads, L) median of the dominant epochs


def _corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of a (k, m) with b (m,)."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean()
    den = np.sqrt((a * a).sum(-1) * (b * b).sum()) + 1e-12
    return (a @ b) / den


NETWORK_MAX = 64   # beyond this many beats np.median's partition is as fast as the network


@lru_cache(maxsize=None)
def median_network(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators (i, j), i < j, of Batcher's odd-even merge sort of `n` items, pruned to those that
    decide the middle item (the middle two for an even `n`).

    The network of the next power of two with every comparator touching an index >= n dropped
    sorts `n` items (the missing ones act as +inf and never move); walking it backwards from the
    middle position keeps only the comparators that feed it. tests/test_extract.py checks every
    0/1 input up to 20 items (the 0-1 principle) and random inputs beyond.
    """
    p = 1 << max(0, (n - 1).bit_length())
    comps = []
    size = 1
    while size < p:      # Knuth's iterative form of Batcher's odd-even merge sort
        k = size
        while k >= 1:
            for j in range(k % size, p - k, 2 * k):
                for i in range(min(k, p - j - k)):
                    if (i + j) // (2 * size) == (i + j + k) // (2 * size):
                        comps.append((i + j, i + j + k))
            k //= 2
        size *= 2
    need = {n // 2} | ({n // 2 - 1} if n % 2 == 0 else set())
    keep = []
    for a, b in reversed([c for c in comps if c[1] < n]):
        if a in need or b in need:
            keep.append((a, b))
            need |= {a, b}
    return tuple(reversed(keep))


def median0(a: np.ndarray) -> np.ndarray:
    """np.median(a, axis=0), bit for bit, several times faster on (beats, leads, samples) arrays.

    np.median partitions every column separately (a strided copy and a selection per column: ~2 ms
    for 11 beats x 12 leads x 550 samples). With few beats a comparator network does the same
    selection with whole rows at once (np.minimum / np.maximum on contiguous rows); the middle
    pair's mean is (lo + hi) / 2, which is what np.median computes. A column holding a NaN gives NaN,
    as in np.median.
    """
    n = a.shape[0]
    if n == 0 or n > NETWORK_MAX or a.dtype != np.float64:
        return np.median(a, axis=0)
    x = a.reshape(n, -1).copy()    # the network works in place
    tmp = np.empty(x.shape[1])
    for i, j in median_network(n):
        np.minimum(x[i], x[j], out=tmp)
        np.maximum(x[i], x[j], out=x[j])
        x[i] = tmp
    mid = n // 2
    out = x[mid] if n % 2 else (x[mid - 1] + x[mid]) / 2.0
    nan = np.isnan(a.reshape(n, -1)).any(axis=0)
    if nan.any():
        out = np.where(nan, np.nan, out)
    return out.reshape(a.shape[1:])


def _windows(xf: np.ndarray, fid: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(beats, leads, hi - lo) samples fid + lo .. fid + hi - 1 of every lead."""
    return np.transpose(xf[:, fid[:, None] + np.arange(lo, hi)[None, :]], (1, 0, 2))


def build_templates(xf: np.ndarray, fiducials: np.ndarray, fs: float, max_shift_s: float = 0.016,
                    window_s: tuple[float, float] = (PRE_S, POST_S)) -> Templates:
    """Epochs around each fiducial, aligned on the QRS by cross-correlation, and their median.

    `window_s` (before, after the fiducial, s): a shorter window for a median beat of the QRS only.
    `max_shift_s` 0: no alignment (the fiducials are taken as given, e.g. aligned by a first pass).
    """
    n = xf.shape[-1]
    pre, post = int(window_s[0] * fs), int(window_s[1] * fs)
    q0, q1 = int(0.06 * fs), int(0.08 * fs)           # QRS window around the fiducial
    smax = int(max_shift_s * fs)
    fid = np.asarray(fiducials, dtype=int).copy()
    inner = (fid - q0 - smax >= 0) & (fid + q1 + smax < n)
    n_in = int(inner.sum())
    ref = None                   # median QRS of the inner beats at the current fiducials
    if n_in >= 2 and smax > 0:
        qrs = _windows(xf, fid[inner], -q0, q1).reshape(n_in, -1)   # (beats, leads*Lq)
        ref = median0(qrs)
        # align each beat to the median QRS (+-16 ms), then recompute the reference once; the
        # windows of every shift are cut from one gather of the widened QRS window
        lq = q0 + q1
        for _ in range(2):
            # every shift's QRS windows at once: (shifts, beats, leads*Lq), each row what
            # _corr_rows would get for that shift alone (the same values, the same row reductions)
            wide = _windows(xf, fid[inner], -q0 - smax, q1 + smax)
            cand = np.lib.stride_tricks.sliding_window_view(wide, lq, axis=2)   # (beats, leads, shifts, Lq)
            cand = np.ascontiguousarray(np.transpose(cand, (2, 0, 1, 3))).reshape(2 * smax + 1, n_in, -1)
            c = _corr_rows(cand, ref)                   # (shifts, beats)
            # the first shift of the highest correlation (NaN never wins), as a strict c > best
            # scan over the shifts would pick
            score = np.full(n_in, -np.inf)
            best = np.zeros(n_in, dtype=int)
            for k in range(c.shape[0]):
                better = c[k] > score
                best[better], score[better] = k - smax, c[k][better]
            # only beats of the reference's morphology are shifted: an ectopic beat keeps its fiducial
            fid[np.flatnonzero(inner)[score > 0.8]] += best[score > 0.8]
            qrs = _windows(xf, fid[inner], -q0, q1).reshape(n_in, -1)
            ref = median0(qrs)
    qrs_corr = np.full(fid.size, np.nan)
    if n_in >= 1:
        if ref is None:
            qrs = _windows(xf, fid[inner], -q0, q1).reshape(n_in, -1)
            ref = median0(qrs)
        qrs_corr[inner] = _corr_rows(qrs, ref)   # against the median at the final fiducials
    valid = np.flatnonzero((fid - pre >= 0) & (fid + post <= n))
    if valid.size == 0:  # short record / few beats: pad with edge values so a template still exists
        valid = np.flatnonzero(inner) if inner.any() else np.arange(fid.size)
        padded = np.pad(xf, ((0, 0), (pre, post)), mode="edge")
        epochs = _windows(padded, fid[valid] + pre, -pre, post)
    else:
        epochs = _windows(xf, fid[valid], -pre, post)
    corr_valid = qrs_corr[valid]
    dominant = np.nan_to_num(corr_valid, nan=0.0) >= 0.9
    if dominant.sum() < max(1, 0.3 * valid.size):   # no clear majority morphology: use every beat
        dominant = np.ones(valid.size, dtype=bool)
    template = median0(epochs[dominant])
    return Templates(fs, fid, pre, epochs, valid, qrs_corr, dominant, template)

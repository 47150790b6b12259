"""Beat epochs, alignment, dominant-beat selection and the median beat (template) per lead."""

from __future__ import annotations

from dataclasses import dataclass

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


def build_templates(xf: np.ndarray, fiducials: np.ndarray, fs: float, max_shift_s: float = 0.016,
                    window_s: tuple[float, float] = (PRE_S, POST_S)) -> Templates:
    """Epochs around each fiducial, aligned on the QRS by cross-correlation, and their median.

    `window_s` (before, after the fiducial, s): a shorter window for a median beat of the QRS only.
    """
    n = xf.shape[-1]
    pre, post = int(window_s[0] * fs), int(window_s[1] * fs)
    q0, q1 = int(0.06 * fs), int(0.08 * fs)           # QRS window around the fiducial
    fid = np.asarray(fiducials, dtype=int).copy()
    inner = (fid - q0 - int(max_shift_s * fs) >= 0) & (fid + q1 + int(max_shift_s * fs) < n)
    if inner.sum() >= 2:
        qidx = fid[inner, None] + np.arange(-q0, q1)[None, :]
        qrs = np.transpose(xf[:, qidx], (1, 0, 2)).reshape(inner.sum(), -1)   # (beats, leads*Lq)
        ref = np.median(qrs, axis=0)
        # align each beat to the median QRS (+-16 ms), then recompute the reference once
        shifts = np.arange(-int(max_shift_s * fs), int(max_shift_s * fs) + 1)
        for _ in range(2):
            best = np.zeros(inner.sum(), dtype=int)
            score = np.full(inner.sum(), -np.inf)
            for s in shifts:
                idx = fid[inner, None] + s + np.arange(-q0, q1)[None, :]
                c = _corr_rows(np.transpose(xf[:, idx], (1, 0, 2)).reshape(inner.sum(), -1), ref)
                better = c > score
                best[better], score[better] = s, c[better]
            # only beats of the reference's morphology are shifted: an ectopic beat keeps its fiducial
            fid[np.flatnonzero(inner)[score > 0.8]] += best[score > 0.8]
            qidx = fid[inner, None] + np.arange(-q0, q1)[None, :]
            qrs = np.transpose(xf[:, qidx], (1, 0, 2)).reshape(inner.sum(), -1)
            ref = np.median(qrs, axis=0)
    qrs_corr = np.full(fid.size, np.nan)
    if inner.sum() >= 1:
        qidx = fid[inner, None] + np.arange(-q0, q1)[None, :]
        qrs = np.transpose(xf[:, qidx], (1, 0, 2)).reshape(inner.sum(), -1)
        qrs_corr[inner] = _corr_rows(qrs, np.median(qrs, axis=0))
    valid = np.flatnonzero((fid - pre >= 0) & (fid + post <= n))
    if valid.size == 0:  # short record / few beats: pad with edge values so a template still exists
        valid = np.flatnonzero(inner) if inner.any() else np.arange(fid.size)
        padded = np.pad(xf, ((0, 0), (pre, post)), mode="edge")
        idx = fid[valid, None] + pre + np.arange(-pre, post)[None, :]
        epochs = np.transpose(padded[:, idx], (1, 0, 2))
    else:
        idx = fid[valid, None] + np.arange(-pre, post)[None, :]
        epochs = np.transpose(xf[:, idx], (1, 0, 2))
    corr_valid = qrs_corr[valid]
    dominant = np.nan_to_num(corr_valid, nan=0.0) >= 0.9
    if dominant.sum() < max(1, 0.3 * valid.size):   # no clear majority morphology: use every beat
        dominant = np.ones(valid.size, dtype=bool)
    template = np.median(epochs[dominant], axis=0)
    return Templates(fs, fid, pre, epochs, valid, qrs_corr, dominant, template)

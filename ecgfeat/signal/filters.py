"""Zero-phase filters. The diagnostic band is 0.67-40 Hz: a 0.67 Hz bidirectional high-pass keeps the
ST segment undistorted (AHA/ACC/HRS 2007 recommendations on ECG standardisation)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi, sosfiltfilt

FS = 500.0                 # processing rate of the feature pipeline
DIAG_BAND = (0.67, 40.0)   # templates, amplitudes, intervals
QRS_BAND = (3.0, 30.0)     # beat detection


@lru_cache(maxsize=32)
def _sos(lo: float | None, hi: float | None, fs: float, order: int):
    if lo and hi:
        return butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    if lo:
        return butter(order, lo, btype="highpass", fs=fs, output="sos")
    return butter(order, hi, btype="lowpass", fs=fs, output="sos")


@lru_cache(maxsize=32)
def _zi(lo: float | None, hi: float | None, fs: float, order: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(the filter's sos, its sosfilt_zi, scipy.signal.sosfiltfilt's default odd-padding length)."""
    sos = _sos(lo, hi, fs, order)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return sos, sosfilt_zi(sos), 3 * ntaps


def bandpass(x: np.ndarray, lo: float | None, hi: float | None, fs: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth filter along the last axis (float64 out).

    scipy.signal.sosfiltfilt's own steps (odd extension, forward pass from the steady state,
    backward pass), with the steady state (sosfilt_zi: a linear solve per section) computed once
    per filter instead of on every call: it took a third of the five filterings of a record.
    tests/test_delineation.py checks the output equals sosfiltfilt's bit for bit.
    """
    x = np.asarray(x, dtype=np.float64)
    sos, zi, edge = _zi(lo, hi, float(fs), order)
    if x.shape[-1] <= edge:   # too short to pad: sosfiltfilt says why
        return sosfiltfilt(sos, x, axis=-1)
    x0, xn = x[..., :1], x[..., -1:]
    ext = np.concatenate((2 * x0 - x[..., edge:0:-1], x, 2 * xn - x[..., -2:-edge - 2:-1]), axis=-1)
    zi = zi.reshape((len(sos),) + (1,) * (x.ndim - 1) + (2,))
    y, _ = sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1])
    y, _ = sosfilt(sos, y[..., ::-1], axis=-1, zi=zi * y[..., -1:])
    return y[..., ::-1][..., edge:-edge]


def diagnostic(x: np.ndarray, fs: float) -> np.ndarray:
    return bandpass(x, DIAG_BAND[0], DIAG_BAND[1], fs, order=2)


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis (same length), via cumulative sums."""
    width = max(1, int(width))
    c = np.cumsum(np.pad(x, [(0, 0)] * (x.ndim - 1) + [(width // 2 + 1, width - width // 2 - 1)], mode="edge"), axis=-1)
    return (c[..., width:] - c[..., :-width]) / width

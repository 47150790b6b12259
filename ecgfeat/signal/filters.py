"""Zero-phase filters. The diagnostic band is 0.67-40 Hz: a 0.67 Hz bidirectional high-pass keeps the
ST segment undistorted (AHA/ACC/HRS 2007 recommendations on ECG standardisation)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfiltfilt

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


def bandpass(x: np.ndarray, lo: float | None, hi: float | None, fs: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth filter along the last axis (float64 out)."""
    return sosfiltfilt(_sos(lo, hi, float(fs), order), np.asarray(x, dtype=np.float64), axis=-1)


def diagnostic(x: np.ndarray, fs: float) -> np.ndarray:
    return bandpass(x, DIAG_BAND[0], DIAG_BAND[1], fs, order=2)


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis (same length), via cumulative sums."""
    width = max(1, int(width))
    c = np.cumsum(np.pad(x, [(0, 0)] * (x.ndim - 1) + [(width // 2 + 1, width - width // 2 - 1)], mode="edge"), axis=-1)
    return (c[..., width:] - c[..., :-width]) / width

"""Per-class decision thresholds that maximise F1 on validation data.

``f1_thresholds`` is exact: for each class it evaluates F1 = 2TP / (2TP + FP + FN) at every distinct
score (predicting positive when score >= that score), picks the best, and returns the midpoint
between that score and the next lower distinct score, so the threshold never sits on a sample and
reproduces the same predictions on the validation data. Ties in F1 go to the higher threshold
(fewer positive predictions). When the lowest score is optimal (everything positive), the threshold
is that score minus half the gap to the next higher distinct score (minus 0.5 if all scores are
equal).

A class with no positives or no negatives in the validation data has no meaningful F1 optimum; its
threshold is 0.5 (the usual probability cut-off), never an exception.
"""

from __future__ import annotations

import numpy as np

DEGENERATE_THRESHOLD = 0.5


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (records, classes), got shape {a.shape}")
    return a


def _best_threshold(t: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(threshold, F1 at it) for one class; t is 0/1, s scores, both 1-D."""
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == len(t):
        return DEGENERATE_THRESHOLD, float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp = np.cumsum(t[order])
    # last position of each run of equal scores (descending): predictions at threshold = that score
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp_at = tp[last]
    predicted = last + 1
    f1 = 2.0 * tp_at / (predicted + n_pos)  # 2TP / (2TP + FP + FN) = 2TP / (TP + FP + P)
    k = int(np.argmax(f1))  # first maximum = highest threshold
    uniq = s_sorted[last]
    if k + 1 < len(uniq):
        thr = 0.5 * (uniq[k] + uniq[k + 1])
        if not uniq[k + 1] < thr <= uniq[k]:  # adjacent floats: keep the predictions right
            thr = uniq[k]
    elif len(uniq) > 1:
        thr = uniq[k] - 0.5 * (uniq[k - 1] - uniq[k])
    else:
        thr = uniq[k] - 0.5
    return float(thr), float(f1[k])


def f1_thresholds(y_true, y_score, return_f1: bool = False):
    """Per-class thresholds (shape (classes,)) maximising F1 of ``y_score >= thr`` on this data.

    Classes without positives or without negatives get 0.5. With ``return_f1`` also returns the
    F1 reached at each threshold (NaN for those degenerate classes).
    """
    t = _as_2d(y_true, "y_true")
    s = _as_2d(y_score, "y_score").astype(float)
    if t.shape != s.shape:
        raise ValueError(f"y_true {t.shape} and y_score {s.shape} differ in shape")
    if not np.isfinite(s).all():
        raise ValueError("y_score has non-finite values")
    t = (t > 0).astype(np.int64)
    res = [_best_threshold(t[:, j], s[:, j]) for j in range(t.shape[1])]
    thr = np.array([r[0] for r in res], dtype=float)
    if return_f1:
        return thr, np.array([r[1] for r in res], dtype=float)
    return thr


def apply_thresholds(y_score, thr) -> np.ndarray:
    """0/1 predictions ``y_score >= thr`` (thr broadcast over classes), as int8, same shape."""
    s = np.asarray(y_score, dtype=float)
    thr = np.asarray(thr, dtype=float)
    if s.ndim == 2 and thr.ndim == 1 and thr.shape[0] != s.shape[1]:
        raise ValueError(f"{thr.shape[0]} thresholds for {s.shape[1]} classes")
    return (s >= thr).astype(np.int8)

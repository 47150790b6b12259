"""JSON-safe copies of result documents (metrics.json, explain.json, compare.json, external metrics).

One function for every writer, at the bottom of the package's layers, so that evaluation, explain
and report write NaN the same way (as null) without importing each other.
"""

from __future__ import annotations

import math

import numpy as np


def json_safe(obj):
    """A copy of `obj` that `json.dumps(..., allow_nan=False)` accepts.

    NaN and inf become None (a class without positives has no AUC), numpy scalars become Python
    numbers, tuples become lists and dict keys strings.

    >>> json_safe({"auc": float("nan"), 1: (np.float32(0.5), np.int64(3))})
    {'auc': None, '1': [0.5, 3]}
    """
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj

"""Per-class decision thresholds that maximise F1 on validation data.

The implementation lives in :mod:`ecgfeat.models.f1` (the models layer chooses thresholds, and
models come before evaluation in the package's layers); it is re-exported here, where the
protocols and metrics have always imported it from.
"""

from __future__ import annotations

from ..models.f1 import DEGENERATE_THRESHOLD, apply_thresholds, f1_thresholds

__all__ = ["DEGENERATE_THRESHOLD", "apply_thresholds", "f1_thresholds"]

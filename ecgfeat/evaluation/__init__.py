"""Evaluation: folds and splits, F1-optimal thresholds, metrics with bootstrap intervals."""

from __future__ import annotations

from .folds import PROTOCOLS, Split, assign_folds, given_folds_usable, splits
from .metrics import METRICS, classification_metrics, paired_bootstrap
from .thresholds import apply_thresholds, f1_thresholds

__all__ = [
    "METRICS",
    "PROTOCOLS",
    "Split",
    "apply_thresholds",
    "assign_folds",
    "classification_metrics",
    "f1_thresholds",
    "given_folds_usable",
    "paired_bootstrap",
    "splits",
]

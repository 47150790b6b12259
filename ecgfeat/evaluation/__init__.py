"""Evaluation: folds and splits, F1-optimal thresholds, metrics with bootstrap intervals, external validation."""

from __future__ import annotations

from .external import ExternalError, evaluate_external, find_external
from .folds import PROTOCOLS, Split, assign_folds, given_folds_usable, splits
from .metrics import METRICS, classification_metrics, paired_bootstrap
from .thresholds import apply_thresholds, f1_thresholds

__all__ = [
    "METRICS",
    "PROTOCOLS",
    "Split",
    "ExternalError",
    "apply_thresholds",
    "assign_folds",
    "classification_metrics",
    "evaluate_external",
    "f1_thresholds",
    "find_external",
    "given_folds_usable",
    "paired_bootstrap",
    "splits",
]

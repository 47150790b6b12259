"""`ecgfeat train`: store -> protocol (paper | cv) -> fitted models, out-of-sample predictions, metrics.

Protocols (SPEC, Models and evaluation): records fall in 10 folds (the dataset's own, e.g. PTB-XL
strat_fold, else seeded multi-label stratified and patient-grouped folds: those of
`IterativeStratifiedGroupKFold(10, random_state=seed)`). `paper`: one split, train on 8 folds,
choose per-class F1-optimal thresholds on the 9th, evaluate on the 10th. `cv`: the same 8/1/1
split rotated so every fold is the test fold once; thresholds are always chosen on a fold the
model did not fit and that is not the fold being predicted (no leakage); metrics on the
out-of-fold predictions of all records. The model saved for `predict` is the paper split's
model, or for `cv` a refit on every labelled record with the median of the fold thresholds.

Each split of a classical model is a `MultiLabelThresholdClassifier` of the zoo's estimator
(`protocol.classifier`), so what `train` runs is what a user can run in a notebook (see
`protocol`). Modules: `config` (settings, names), `protocol` (data and splits), `run` (`train`),
`folder` (atomic model folders, cnn checkpoints).
"""

from __future__ import annotations

from ..models.labelled import N_FOLDS, has_patient_ids, select_labelled, store_fingerprint
from .config import (IDENTITY, ModelExists, TrainConfig, check_replace, default_name, leads_tag, library_versions,
                     name_extras, to_json)
from .folder import CheckpointMismatch, checkpoints, write_atomic
from .protocol import (NOT_TRAINED_BY_DEFAULT, as_float32, classifier, feature_names, load_matrix, make_estimator,
                       refit, run_protocol, take, targets)
from .run import train

_write_atomic = write_atomic     # the name tests/test_faults.py imports

__all__ = [
    "IDENTITY", "N_FOLDS", "NOT_TRAINED_BY_DEFAULT", "CheckpointMismatch", "ModelExists", "TrainConfig",
    "as_float32", "check_replace", "checkpoints", "classifier", "default_name", "feature_names", "has_patient_ids",
    "leads_tag", "library_versions", "load_matrix", "make_estimator", "name_extras", "refit", "run_protocol",
    "select_labelled", "store_fingerprint", "take", "targets", "to_json", "train", "write_atomic",
]

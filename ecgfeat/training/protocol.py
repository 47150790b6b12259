"""The protocols as compositions of the public objects.

Per split of the folds (`evaluation.splits`: the triples `IterativeStratifiedGroupKFold.
split_validation` yields on data without folds of its own), a classical model is

    MultiLabelThresholdClassifier(make_binary(model, params, preset, seed, jobs))
        .fit(X[train], Y[train], X_val=X[val], Y_val=Y[val])

whose `predict_proba` / `predict` on the test fold are the out-of-sample scores and labels; the
cv protocol's model for `predict` is the same classifier with `thresholds=` the median of the
folds' thresholds, fitted on every labelled record. Feature selection (the columns with a value
on the training rows), imputation and scaling live inside it, so they too see training rows only.
Fitting and predicting run under `limit_threads(jobs)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..models.labelled import N_FOLDS, has_patient_ids, select_labelled, store_fingerprint
from .config import TrainConfig

NOT_TRAINED_BY_DEFAULT = ("quality",)


def load_matrix(cfg: TrainConfig):
    """(X, Y, classes, folds, notes) of the labelled records of `cfg`."""
    from ..store import FeatureStore

    store = FeatureStore(cfg.store)
    if cfg.dataset not in store.datasets():
        raise ValueError(f"dataset {cfg.dataset!r} is not in the store {cfg.store} "
                         f"(it holds: {', '.join(store.datasets()) or 'nothing'}; run `ecgfeat extract` first)")
    versions = store.families(cfg.dataset)
    # by default every stored family but `quality`: it gates the measurements (signal/quality.py), it
    # is not physiology a diagnosis should rest on (ask for it with --families ...,quality)
    families = list(cfg.families) if cfg.families else sorted(f for f in versions if f not in NOT_TRAINED_BY_DEFAULT)
    data = store.read(cfg.dataset, families=families, leads=list(cfg.leads), scheme=cfg.labels,
                      record_level=cfg.record_features)
    X, Y, classes, folds, notes = select_labelled(data.X, data.y, data.labeled, data.folds, data.groups, cfg,
                                                  has_patients=has_patient_ids(data.info))
    notes["families"] = families
    notes["feature_versions"] = {f: versions.get(f) for f in families}   # predict refuses other versions
    # columns that are NaN everywhere (e.g. flat leads) carry nothing; each split's classifier
    # drops them on its training rows only, never by looking at the test records
    notes["fingerprint"] = store_fingerprint(data.info, versions, families)
    notes["source_path"] = store.source_path(cfg.dataset)
    return X, Y, classes, folds, notes


def classifier(cfg: TrainConfig, thresholds=None):
    """What `train` fits for a classical model: the zoo's binary estimator of `cfg`, one-vs-rest,
    with F1-optimal thresholds on the validation data it is given (or the fixed `thresholds`)."""
    from ..models.threshold import MultiLabelThresholdClassifier
    from ..models.zoo import make_binary

    return MultiLabelThresholdClassifier(make_binary(cfg.model, cfg.params, cfg.preset, cfg.seed, cfg.jobs),
                                         thresholds=thresholds)


def make_estimator(cfg: TrainConfig, thresholds=None):
    """The estimator of `cfg.model`: `classifier(cfg)` for a classical model, or the CNN."""
    if cfg.model == "cnn":
        from ..deep import CNNClassifier
        from ..deep.presets import from_dict

        return CNNClassifier(from_dict(cfg.cnn or {}), leads=tuple(cfg.leads), seed=cfg.seed,
                             n_jobs=cfg.jobs, device=cfg.device)
    return classifier(cfg, thresholds)


def take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def as_float32(X):
    """The feature matrix in the store's precision (float32), which the models are fitted in."""
    if isinstance(X, pd.DataFrame):
        return X if (X.dtypes == np.float32).all() else X.astype(np.float32)
    return np.asarray(X, dtype=np.float32)


def targets(Y: np.ndarray, classes=None) -> pd.DataFrame:
    """Y as a frame named by the classes: a single class stays a multi-label column (a 1-D or
    unnamed one-column target would be fitted as a binary y)."""
    names = list(classes) if classes is not None else [str(j) for j in range(Y.shape[1])]
    return pd.DataFrame(np.asarray(Y), columns=names)


def feature_names(model) -> list[str]:
    """The feature columns a fitted classifier's per-class models see ([] for the CNN)."""
    names = getattr(model, "feature_names_in_", None)
    cols = getattr(model, "columns_", None)
    if names is None or cols is None:
        return []
    return [str(n) for n in np.asarray(names)[np.asarray(cols, dtype=bool)]]


def run_protocol(cfg: TrainConfig, X, Y: np.ndarray, folds: np.ndarray,
                 progress: Callable[[str], None] | None = None, checkpoints: Path | None = None,
                 on_epoch: Callable[[int, dict], None] | None = None, classes=None):
    """Fit per split; returns (oof scores, oof predictions, tested mask, per-split thresholds, models).

    Predictions of records never tested are missing (NaN scores, -1 in `preds`, written as <NA>).
    Every choice a split makes looks at its training rows (the columns kept, the model) or its
    validation predictions (the thresholds), never at its test fold.
    The CNN also gets the split's validation fold for early stopping (the fold its thresholds are
    chosen on, never the test fold) and, with `checkpoints`, a folder per split to resume from."""
    from ..evaluation import splits

    scores = np.full(Y.shape, np.nan)
    preds = np.full(Y.shape, -1, dtype=np.int8)
    tested = np.zeros(Y.shape[0], dtype=bool)
    thresholds, models = [], []
    for k, s in enumerate(splits(folds, cfg.protocol, N_FOLDS)):
        if cfg.model == "cnn":
            m, test, pred, thr = _cnn_split(cfg, X, Y, s, k, checkpoints, on_epoch)
        else:
            m, test, pred, thr = _classical_split(cfg, X, Y, s, classes)
        scores[s.test], preds[s.test], tested[s.test] = test, pred, True
        thresholds.append(thr)
        models.append(m)
        if progress:
            progress(f"split {k + 1} done: test fold {s.test_fold + 1}, validation fold {s.val_fold + 1}")
    return scores, preds, tested, thresholds, models


def _classical_split(cfg: TrainConfig, X, Y: np.ndarray, s, classes):
    from ..models.zoo import limit_threads

    F, T = as_float32(X), targets(Y, classes)
    with limit_threads(cfg.jobs):
        m = classifier(cfg).fit(take(F, s.train), T.iloc[s.train], X_val=take(F, s.val), Y_val=Y[s.val])
        return m, m.predict_proba(take(F, s.test)), m.predict(take(F, s.test)), m.thresholds_


def _cnn_split(cfg: TrainConfig, X, Y: np.ndarray, s, k: int, checkpoints, on_epoch):
    from ..models.f1 import apply_thresholds, f1_thresholds

    m = make_estimator(cfg)
    m.fit(take(X, s.train), Y[s.train], validation=(take(X, s.val), Y[s.val]),
          checkpoint=checkpoints / f"split-{k + 1}" if checkpoints else None,
          on_epoch=(lambda rec: on_epoch(k, rec)) if on_epoch else None)
    thr = f1_thresholds(Y[s.val], m.predict_proba(take(X, s.val)))
    test = m.predict_proba(take(X, s.test))
    return m, test, apply_thresholds(test, thr), thr


def refit(cfg: TrainConfig, X, Y: np.ndarray, models: list, thresholds: list, classes=None,
          checkpoint: Path | None = None, on_epoch: Callable[[dict], None] | None = None):
    """The cv protocol's model for `predict`: fitted on every labelled record, with the median of
    the folds' thresholds (no fold is left to choose them on); returns (model, thresholds).
    The CNN trains as many epochs as the folds' median best epoch (no validation fold either)."""
    final_thr = np.median(np.vstack(thresholds), axis=0)
    if cfg.model == "cnn":
        final = make_estimator(cfg)
        final.set_params(epochs=int(np.median([m.best_epoch_ for m in models])))
        final.fit(X, Y, checkpoint=checkpoint, on_epoch=on_epoch)
        return final, final_thr
    from ..models.zoo import limit_threads

    with limit_threads(cfg.jobs):
        final = classifier(cfg, thresholds=final_thr).fit(as_float32(X), targets(Y, classes))
    return final, final.thresholds_

"""The records a model learns from: labelled rows, learnable classes, their 10 folds, a fingerprint.

One implementation for the classical models' feature matrix (``training.load_matrix``), the CNN's
signals (``deep.data.load_signals``) and external validation, so all of them get the same records
in the same folds. It sits in the models layer, below both ``training`` and ``deep``, so neither
imports the other for it.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from .stratify import assign_folds, given_folds_usable

N_FOLDS = 10


def has_patient_ids(info: pd.DataFrame) -> bool:
    """True when the records table carries a patient id for at least one record (PTB-XL, SPH)."""
    return "patient_id" in info.columns and bool(info["patient_id"].notna().any())


def store_fingerprint(info: pd.DataFrame, versions: dict[str, str], families: list[str]) -> str:
    """sha1 of (record id, source hash) of every stored record (the store's live `records` table,
    as `FeatureStore.read` returns it, or the signal cache's index) and the family versions used."""
    h = hashlib.sha1()
    for rid, src in zip(info.index, info["source_hash"]):
        h.update(f"{rid}:{src};".encode())
    h.update(json.dumps({f: versions.get(f) for f in families}, sort_keys=True).encode())
    return h.hexdigest()


def select_labelled(X, y: pd.DataFrame, labeled: pd.Series, given: pd.Series, groups: pd.Series, cfg,
                    has_patients: bool = False):
    """The labelled records (at least one class of the scheme), the learnable classes and the 10
    folds. X is indexed positionally (rows in the order of y); `cfg` is a `TrainConfig` (its
    `labels`, `dataset` and `seed` are read).

    Returns (X, Y int8 (records, classes), classes, folds, notes). notes["groups"] holds the
    labelled records' patient (group) ids and notes["bootstrap_unit"] "patient" when
    `has_patients` (the dataset has patient ids), else "record"."""
    labelled = (labeled.fillna(False).astype(bool) & (y.sum(axis=1) > 0)).to_numpy()
    notes = {"dropped_unlabelled": int((~labelled).sum())}
    X = X.iloc[labelled] if hasattr(X, "iloc") else X[labelled]
    y = y[labelled]
    present = [c for c in y.columns if y[c].sum() > 0]
    if len(present) < y.shape[1]:
        notes["dropped_classes"] = [c for c in y.columns if c not in present]  # no positive: not learnable
        y = y[present]
    if y.shape[0] < 20:
        raise ValueError(f"only {y.shape[0]} labelled records of scheme {cfg.labels!r} in {cfg.dataset!r}: "
                         "too few to train")
    given_l = given[labelled].to_numpy()
    folds = assign_folds(y.to_numpy(), N_FOLDS, cfg.seed, groups=groups[labelled].to_numpy(), given=given_l)
    # the same predicate assign_folds decides by: complete and exactly N_FOLDS distinct values
    notes["folds"] = "dataset" if given_folds_usable(given_l, len(given_l), N_FOLDS) else "seeded-stratified"
    notes["groups"] = groups[labelled].astype(str).to_numpy()
    notes["bootstrap_unit"] = "patient" if has_patients else "record"
    return X, y.to_numpy().astype(np.int8), list(y.columns), folds, notes

"""`ecgfeat predict`: new records -> the model's exact features -> probabilities -> labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets import open_dataset
from .features.extract import extract_features
from .features.settings import VERSIONS, FeatureSettings


def settings_for(families: list[str]) -> FeatureSettings:
    """Feature settings that rebuild a model's store families (expert, rhythm, tsfresh-<set>)."""
    fams, tset = [], "fast"
    for f in families:
        if f.startswith("tsfresh-"):
            fams.append("tsfresh")
            tset = f.split("-", 1)[1]
        else:
            fams.append(f)
    return FeatureSettings(families=tuple(fams), tsfresh_set=tset)


def load_model(folder: Path, n_jobs: int = 1):
    """(config, estimator) of a model folder: OneVsRest for the classical models, CNNClassifier for cnn."""
    from .models.persist import ModelFileError

    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelFileError(f"{folder / 'config.json'}: unreadable ({type(err).__name__}: {err})") from None
    key = "network" if isinstance(config, dict) and config.get("model") == "cnn" else "estimators"
    if not isinstance(config, dict) or not isinstance(config.get(key), dict):
        raise ModelFileError(f"{folder / 'config.json'}: not an ecgfeat model config (no {key!r} object); refusing to load")
    if key == "network":
        from .deep.persist import load_cnn
        return config, load_cnn(folder / "model", config["network"], n_jobs=n_jobs)
    from .models.persist import load_ovr
    return config, load_ovr(folder / "model", config["estimators"])


def index_errors(ds) -> list[dict]:
    """Records found unusable while indexing (e.g. a duplicate record id): error entries too."""
    ds.refs()
    return [{"record": rid, "reason": reason} for rid, reason in ds.index_errors]


def _labelled(ids, proba, classes, thr) -> list[dict]:
    return [{"record": rid, "labels": [c for c, v, t in zip(classes, p, thr) if v >= t],
             "probabilities": {c: round(float(v), 4) for c, v in zip(classes, p)}} for rid, p in zip(ids, proba)]


def _predict_cnn(target: Path, config: dict, model, batch: int = 64) -> dict:
    """Records resampled to the network's rate and prepared like the signal cache, in batches."""
    from .deep import Signals

    fs = model._s.fs
    classes, thr = config["classes"], np.array([config["thresholds"][c] for c in config["classes"]])
    ds = open_dataset(target)
    records, errors, pending = [], index_errors(ds), []

    def flush():
        if pending:
            X = Signals.from_arrays([s for _, s in pending], fs, ids=[r for r, _ in pending])
            records.extend(_labelled(X.ids, model.predict_proba(X), classes, thr))
            pending.clear()

    for ref, rec in ds.iter_records(fs=fs):
        if isinstance(rec, Exception):
            errors.append({"record": ref.record_id, "reason": str(rec)})
            continue
        pending.append((ref.record_id, rec.signal))
        if len(pending) >= batch:
            flush()
    flush()
    return {"model": config["name"], "records": records, "errors": errors}


def predict_records(target: Path, folder: Path, n_jobs: int = 1) -> dict:
    config, model = load_model(folder, n_jobs=n_jobs)
    if config.get("model") == "cnn":
        return _predict_cnn(target, config, model)
    settings = settings_for(config["families"])
    # the versions the model was trained on (a model saved before they were recorded: unknown, trusted)
    stale = {t: v for t, v in (config.get("feature_versions") or {}).items() if VERSIONS.get(t) != v}
    if stale:
        raise ValueError(f"{folder}: trained on feature versions {stale}, this ecgfeat computes {VERSIONS}; retrain")
    ds = open_dataset(target)
    rows, ids, errors = [], [], index_errors(ds)
    for ref, rec in ds.iter_records():
        if isinstance(rec, Exception):
            errors.append({"record": ref.record_id, "reason": str(rec)})
            continue
        feats, errs = extract_features(rec, settings)
        row = {}
        for table in feats.values():
            row.update(table)
        rows.append(row)
        ids.append(ref.record_id)
        errors += [{"record": ref.record_id, "reason": f"{fam}: {reason}"} for fam, reason in errs]
    classes, thr = config["classes"], np.array([config["thresholds"][c] for c in config["classes"]])
    records = []
    if rows:
        X = pd.DataFrame(rows, index=ids).reindex(columns=config["feature_names"]).astype(np.float32)
        records = _labelled(ids, model.predict_proba(X), classes, thr)
    return {"model": config["name"], "records": records, "errors": errors}

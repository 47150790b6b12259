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


def load_model(folder: Path):
    from .models.persist import load_ovr

    config = json.loads((folder / "config.json").read_text())
    return config, load_ovr(folder / "model", config["estimators"])


def predict_records(target: Path, folder: Path) -> dict:
    config, model = load_model(folder)
    settings = settings_for(config["families"])
    stale = {t: v for t, v in settings.versions().items() if VERSIONS.get(t) != v}
    if stale:
        raise ValueError(f"{folder}: trained on feature versions {stale}, this ecgfeat computes {VERSIONS}; retrain")
    ds = open_dataset(target)
    rows, ids, errors = [], [], []
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
        proba = model.predict_proba(X)
        for rid, p in zip(ids, proba):
            records.append({"record": rid, "labels": [c for c, v, t in zip(classes, p, thr) if v >= t],
                            "probabilities": {c: round(float(v), 4) for c, v in zip(classes, p)}})
    return {"model": config["name"], "records": records, "errors": errors}

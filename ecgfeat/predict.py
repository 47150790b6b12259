"""`ecgfeat predict`: new records -> the model's exact features -> probabilities -> labels.

Every record's entry also carries `quality` (signal/quality.py: record index, flat and low-quality
leads with their reasons, the LA/RA reversal flag, whether its beats are credible) and `warnings`,
its one-line messages: a prediction from a record with V1-V6 flat says so. A record without
credible beats (noise, flat runs with steps, saturation) is listed with its probabilities but no
labels, and its refusal is in `errors`.
"""

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


def record_quality(rec, feats: dict | None = None, errs=()) -> dict:
    """The `quality` entry of one record (see signal.quality.quality_entry)."""
    from .signal.quality import assess_quality, quality_entry

    q = assess_quality(rec.signal, rec.fs, tuple(rec.leads))
    refused = next((reason for _, reason in errs if "no credible beats" in reason), None)
    if refused and rec.source and refused.startswith(f"{rec.source}: "):
        refused = refused[len(rec.source) + 2:]          # the warning is the record's: no path
    return quality_entry(q, rec.meta.get("flat_leads") or [], (feats or {}).get("quality"), refused)


def _with_quality(records: list[dict], quality: dict[str, dict]) -> list[dict]:
    """Each record's quality and warnings; a record without credible beats gets no labels (its
    probabilities are kept: they are what the model says of a signal that holds no ECG)."""
    for r in records:
        q = quality.get(r["record"])
        if q is not None:
            r["quality"] = {k: v for k, v in q.items() if k != "warnings"}
            r["warnings"] = list(q["warnings"])
            if q.get("credible_beats") is False and r["labels"]:
                r["warnings"].append(f"labels withheld ({', '.join(r['labels'])}): no credible beats")
                r["labels"] = []
    return records


def _merged(rid, errs) -> list[dict]:
    """Error entries of one record, one per distinct reason ("expert, rhythm: <reason>")."""
    by_reason: dict[str, list[str]] = {}
    for fam, reason in errs:
        by_reason.setdefault(reason, []).append(fam)
    return [{"record": rid, "reason": f"{', '.join(fams)}: {reason}"} for reason, fams in by_reason.items()]


def _thresholds(classes, thr) -> dict[str, float]:
    return {c: round(float(t), 4) for c, t in zip(classes, thr)}


def _labelled(ids, proba, classes, thr) -> list[dict]:
    return [{"record": rid, "labels": [c for c, v, t in zip(classes, p, thr) if v >= t],
             "probabilities": {c: round(float(v), 4) for c, v in zip(classes, p)}} for rid, p in zip(ids, proba)]


def _predict_cnn(target: Path, config: dict, model, batch: int = 64) -> dict:
    """Records resampled to the network's rate and prepared like the signal cache, in batches."""
    from .deep import Signals

    fs = model.effective_settings.fs
    classes, thr = config["classes"], np.array([config["thresholds"][c] for c in config["classes"]])
    ds = open_dataset(target)
    records, errors, pending, quality = [], index_errors(ds), [], {}

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
        quality[ref.record_id] = record_quality(rec)
        if len(pending) >= batch:
            flush()
    flush()
    return {"model": config["name"], "classes": list(classes), "thresholds": _thresholds(classes, thr),
            "records": _with_quality(records, quality), "errors": errors}


def predict_records(target: Path, folder: Path, n_jobs: int = 1) -> dict:
    config, model = load_model(folder, n_jobs=n_jobs)
    if config.get("model") == "cnn":
        return _predict_cnn(target, config, model)
    # the model's families, and quality (for the warnings; columns the model lacks are dropped)
    settings = settings_for(list(config["families"]) + ([] if "quality" in config["families"] else ["quality"]))
    # the versions the model was trained on (a model saved before they were recorded: unknown, trusted)
    stale = {t: v for t, v in (config.get("feature_versions") or {}).items() if VERSIONS.get(t) != v}
    if stale:
        raise ValueError(f"{folder}: trained on feature versions {stale}, this ecgfeat computes {VERSIONS}; retrain")
    ds = open_dataset(target)
    rows, ids, errors, quality = [], [], index_errors(ds), {}
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
        quality[ref.record_id] = record_quality(rec, feats, errs)
        errors += _merged(ref.record_id, errs)
    classes, thr = config["classes"], np.array([config["thresholds"][c] for c in config["classes"]])
    records = []
    if rows:
        X = pd.DataFrame(rows, index=ids).reindex(columns=config["feature_names"]).astype(np.float32)
        records = _with_quality(_labelled(ids, model.predict_proba(X), classes, thr), quality)
    return {"model": config["name"], "classes": list(classes), "thresholds": _thresholds(classes, thr),
            "records": records, "errors": errors}

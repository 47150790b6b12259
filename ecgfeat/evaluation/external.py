"""External validation: a saved model on another labelled dataset, as it was saved.

`evaluate_external` loads a model folder (`models/<name>/`), gets the external dataset's inputs the
way the model needs them -- the store's features for the classical models (extracting, at the
model's feature versions, only what the store lacks), the signal cache at the network's sampling
rate for the cnn -- predicts every labelled record, applies the model's own saved thresholds
(never re-tuned on the external data: that would leak its labels into the decision) and computes
every metric of `evaluation.metrics` with bootstrap 95% intervals, over patients where the
external set has patient ids (SPH, PTB-XL), over records otherwise (the output says which).

Which records and classes count:
- records with at least one class of the label scheme, as in training (`training.select_labelled`);
- a class of the model with no positive record in the external set is *absent*: its recall, F1
  and AUC do not exist there, so it gets no metric and stays out of the macro averages; what is
  reported is its support (0) and how many records the model called positive (false alarms);
- a class of the scheme with positives in the external set that the model was not trained on is
  listed under `not_in_model` (the model cannot predict it).

The internal figures beside the external ones are recomputed from the model's own out-of-sample
predictions (`predictions.parquet`, tested rows) on the classes present in both, with the same
draws and seed, so the drop (external - internal) compares the same classes.

Everything is written to ``models/<name>/external/<dataset>/``: `metrics.json` (the protocol:
model, source and external dataset, label scheme, records, thresholds and their origin, bootstrap
unit, seed) and `predictions.parquet` (record_id, patient_id, y_true / y_score / y_pred per class).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..jsonable import json_safe
from .metrics import METRICS, classification_metrics
from .thresholds import apply_thresholds

EXTERNAL = "external"            # models/<name>/external/<dataset>/
COMPARED = ("auc", "f1")         # the metrics whose drop is reported


class ExternalError(ValueError):
    """A user error of external validation, one line naming the option or file at fault."""


def find_model(model: str | os.PathLike, models_dir: str | os.PathLike) -> Path:
    """The model folder `model` names: a folder path, or a folder name under `models_dir`."""
    p = Path(model)
    if (p / "config.json").is_file():
        return p
    q = Path(models_dir) / str(model)
    if (q / "config.json").is_file():
        return q
    known = sorted(d.name for d in Path(models_dir).iterdir()
                   if (d / "config.json").is_file() and not d.name.startswith(".")) if Path(models_dir).is_dir() else []
    raise ExternalError(f"--model {model}: unknown model, no model folder there or under {models_dir} "
                        f"(models: {', '.join(known) or 'none; train one first'})")


def _read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise ExternalError(f"{folder / 'config.json'}: unreadable ({type(err).__name__})") from None
    missing = [k for k in ("model", "dataset", "labels", "classes", "thresholds") if k not in config]
    if missing:
        raise ExternalError(f"{folder / 'config.json'}: not an ecgfeat model config (no {', '.join(missing)})")
    return config


def thresholds_origin(config: dict) -> str:
    """Where the model's saved thresholds come from, in words (written into metrics.json)."""
    where = ("the validation fold of the paper split" if config.get("protocol") == "paper"
             else "the median of the 10 cv splits' validation-fold thresholds")
    return (f"the model's own per-class F1-optimal thresholds (config.json), chosen on {config['dataset']} "
            f"({where}); not re-tuned on the external set")


def _check_scheme(config: dict, labels: str | None) -> str:
    from ..labels import scheme_classes

    trained = str(config["labels"])
    if labels is None:
        return trained
    scheme_classes(labels)          # ValueError naming an unknown scheme
    if labels != trained:
        raise ExternalError(f"--labels {labels}: {config.get('name', 'the model')} was trained on the {trained!r} "
                            f"scheme (classes {', '.join(config['classes'])}); evaluate it with --labels {trained}")
    return labels


def _classical_inputs(config: dict, path: Path, name: str, store_root: Path, scheme: str, jobs: int,
                      progress, on_plan):
    """(X, y, labeled, groups, info, errors) from the feature store, extracting what it lacks."""
    from ..extraction import run_extract
    from ..predict import settings_for
    from ..store import FeatureStore

    families = list(config.get("families") or [])
    run_extract(path, store_root, settings_for(families), jobs=jobs, name=name, progress=progress, on_plan=on_plan)
    data = FeatureStore(store_root).read(name, families=families, leads=config.get("leads"), scheme=scheme,
                                         record_level=bool(config.get("record_features", True)))
    X = data.X.reindex(columns=config.get("feature_names") or []).astype(np.float32)
    errs = data.errors[data.errors["stage"] == "read"] if len(data.errors) else data.errors
    errors = [{"record": r, "reason": why} for r, why in zip(errs.get("record_id", []), errs.get("reason", []))]
    return X, data.y, data.labeled, data.groups, data.info, errors


def _cnn_inputs(config: dict, path: Path, name: str, cache_root: Path, scheme: str, jobs: int, progress):
    """(Signals, y, labeled, groups, info, errors) from the signal cache at the network's rate."""
    from ..deep import SignalCache
    from ..store import frame_targets

    cache = SignalCache(cache_root, name, float(config["network"]["settings"]["fs"]))
    cache.build(path, jobs=jobs, progress=progress)
    sig, index = cache.open()
    info = index[index["error"].isna()].sort_index()
    y, labeled, _, _, groups = frame_targets(info, scheme)
    bad = index[index["error"].notna()]
    errors = [{"record": str(r), "reason": str(why)} for r, why in zip(bad.index, bad["error"])]
    return sig, y, labeled, groups, info, errors


def _internal(folder: Path, classes: list[str], n_boot: int, seed: int) -> dict | None:
    """The model's own out-of-sample metrics on `classes` (tested rows of predictions.parquet)."""
    try:
        pred = pd.read_parquet(folder / "predictions.parquet")
    except Exception:
        return None
    pred = pred[pred["tested"].astype(bool)]
    classes = [c for c in classes if f"y_true__{c}" in pred.columns]
    if not classes or not len(pred):
        return None
    groups = None
    if "patient_id" in pred.columns and pred["patient_id"].notna().all():
        groups = pred["patient_id"].astype(str).to_numpy()
    m = classification_metrics(pred[[f"y_true__{c}" for c in classes]].to_numpy(),
                               pred[[f"y_score__{c}" for c in classes]].to_numpy(float),
                               pred[[f"y_pred__{c}" for c in classes]].to_numpy(float), classes,
                               n_boot=n_boot, seed=seed, groups=groups)
    return {k: m[k] for k in ("classes", "n_records", "macro", "macro_ci", "per_class", "bootstrap")}


def _drop(external: dict, internal: dict | None) -> dict:
    """external - internal, macro and per class, for AUC and F1 (None where either is undefined)."""
    def diff(a, b):
        return None if a is None or b is None else float(a) - float(b)
    if internal is None:
        return {"macro": {m: None for m in COMPARED}, "per_class": {}}
    return {"macro": {m: diff(external["macro"].get(m), internal["macro"].get(m)) for m in COMPARED},
            "per_class": {c: {m: diff(external["per_class"][c].get(m), (internal["per_class"].get(c) or {}).get(m))
                              for m in COMPARED} for c in external["classes"]}}


def _write(out: Path, doc: dict, pred: pd.DataFrame) -> None:
    """metrics.json and predictions.parquet into `out`, replaced whole (built beside, renamed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / "metrics.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    pred.to_parquet(tmp / "predictions.parquet", index=False)
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def evaluate_external(model: str | os.PathLike, data: str | os.PathLike, workspace: str | os.PathLike = ".",
                      labels: str | None = None, dataset_name: str | None = None, n_boot: int = 1000,
                      seed: int | None = None, jobs: int = 1, store: str | os.PathLike | None = None,
                      models_dir: str | os.PathLike | None = None,
                      progress: Callable[[int], None] | None = None,
                      on_plan: Callable[[int, int], None] | None = None, command: str | None = None) -> dict:
    """Evaluate a saved model on another labelled dataset; write and return its external metrics.

    Parameters
    ----------
    model : str or path
        The model folder, or its name under ``<workspace>/models``.
    data : str or path
        The external dataset folder (any format ecgfeat reads, with labels).
    workspace : str or path
        Workspace holding ``models/``, ``feature_store/`` and ``signal_cache/``.
    labels : str, optional
        Label scheme; must be the one the model was trained on (the default).
    dataset_name : str, optional
        The dataset's name in the store (default: the folder's name).
    n_boot, seed : int
        Bootstrap draws and seed of the 95% intervals (seed default: the model's training seed).
    jobs : int
        Worker processes for the extraction (or the signal cache).
    store, models_dir : path, optional
        Feature store and models folder (default: under `workspace`).
    progress, on_plan : callable, optional
        ``progress(n)`` per records done; ``on_plan(todo, skipped)`` once the extraction knows its work.
    command : str, optional
        The command line recorded in metrics.json.

    Returns
    -------
    dict
        ``{"model_dir", "dataset", "out_dir", "metrics"}``; ``metrics`` is the metrics.json written
        to ``<model_dir>/external/<dataset>/`` (keys of a model's metrics.json plus
        ``source_dataset``, ``absent_classes``, ``not_in_model``, ``thresholds``,
        ``thresholds_origin``, ``internal`` and ``drop``).

    Raises
    ------
    ExternalError
        Unknown model, a label scheme the model was not trained on, the model's own training data,
        no labelled record of the scheme, or no class of the model with a positive record.

    Examples
    --------
    >>> from ecgfeat.evaluation import evaluate_external
    >>> res = evaluate_external("rf-ptbxl-cpsc9-paper-all", "data/ludb")  # doctest: +SKIP
    >>> res["metrics"]["macro"]["auc"], res["metrics"]["macro_ci"]["auc"]                    # doctest: +SKIP
    """
    from .. import __version__
    from ..datasets import open_dataset
    from ..predict import load_model
    from ..models.labelled import has_patient_ids

    t0 = time.perf_counter()
    ws = Path(workspace)
    folder = find_model(model, Path(models_dir) if models_dir else ws / "models")
    config = _read_config(folder)
    scheme = _check_scheme(config, labels)
    path = Path(data)
    if not path.exists():
        raise ExternalError(f"--data {path}: no such folder")
    fmt = open_dataset(path).format        # DatasetError naming the folder when it holds no record
    name = dataset_name or path.resolve().name
    source = config.get("dataset_path") or config.get("data_path")
    if source and Path(source).resolve() == path.resolve():
        raise ExternalError(f"--data {path}: is the dataset {folder.name} was trained on; external validation "
                            "needs data the model has never seen")
    if name == config["dataset"]:
        raise ExternalError(f"--data {path}: has the name of the model's training dataset ({name}); "
                            "give it another with --dataset-name")
    seed = int(config.get("seed", 0)) if seed is None else int(seed)
    if config["model"] != "cnn":
        from ..features.settings import VERSIONS
        stale = {t: v for t, v in (config.get("feature_versions") or {}).items() if VERSIONS.get(t) != v}
        if stale:
            raise ExternalError(f"{folder}: trained on feature versions {stale}, this ecgfeat computes "
                                f"{VERSIONS}; retrain it before evaluating")
    _, est = load_model(folder, n_jobs=jobs)
    if config["model"] == "cnn":
        X, y, labeled, groups, info, errors = _cnn_inputs(config, path, name, ws / "signal_cache", scheme, jobs, progress)
    else:
        store_root = Path(store) if store else ws / "feature_store"
        _check_store_source(store_root, name, path)
        X, y, labeled, groups, info, errors = _classical_inputs(config, path, name, store_root, scheme, jobs,
                                                                progress, on_plan)
    keep = (labeled.fillna(False).astype(bool) & (y.sum(axis=1) > 0)).to_numpy()
    if not keep.any():
        raise ExternalError(f"--data {path}: no record carries labels of the {scheme!r} scheme "
                            f"({len(y)} readable records); nothing to validate against")
    classes = [str(c) for c in config["classes"]]
    Y = y.reindex(columns=classes, fill_value=0)[keep].to_numpy().astype(np.int8)
    scores = np.asarray(est.predict_proba(X.iloc[keep] if hasattr(X, "iloc") else X[keep]), dtype=float)
    thr = np.array([float(config["thresholds"][c]) for c in classes])
    pred = apply_thresholds(scores, thr)
    ids = y.index[keep].astype(str)
    present = [c for j, c in enumerate(classes) if Y[:, j].sum() > 0]
    others = {str(c): int(y.loc[keep, c].sum()) for c in y.columns if c not in classes and y.loc[keep, c].sum() > 0}
    if not present:
        found = ", ".join(f"{c} {n}" for c, n in others.items()) or "none"
        raise ExternalError(f"--data {path}: no overlapping classes, none of the model's classes "
                            f"({', '.join(classes)}) has a positive record there (its positives: {found})")
    idx = [classes.index(c) for c in present]
    patients = has_patient_ids(info)
    g = groups[keep].astype(str).to_numpy() if patients else None
    m = classification_metrics(Y[:, idx], scores[:, idx], pred[:, idx], present, n_boot=n_boot, seed=seed, groups=g)
    absent = {c: {"support": 0, "predicted_positive": int(pred[:, j].sum()), "n_records": int(keep.sum()),
                  "reason": f"no positive record in {name}: recall, F1 and AUC are undefined there; "
                            "left out of the macro averages"}
              for j, c in enumerate(classes) if c not in present}
    internal = _internal(folder, present, n_boot, seed)
    doc = {"model": folder.name, "estimator": config["model"], "source_dataset": config["dataset"],
           "source_protocol": config.get("protocol"), "dataset": name, "data_path": str(path.resolve()),
           "format": fmt, "labels": scheme, "protocol": "external", "leads": list(config.get("leads") or []),
           "record_features": bool(config.get("record_features", True)), **m,
           "model_classes": classes, "absent_classes": absent, "not_in_model": others,
           "thresholds": {c: float(t) for c, t in zip(classes, thr)}, "thresholds_origin": thresholds_origin(config),
           "internal": internal, "drop": _drop(m, internal),
           "dropped_unlabelled": int((~keep).sum()), "unreadable": len(errors), "errors": errors[:20],
           "description": (f"{folder.name} (trained on {config['dataset']}, {config.get('protocol')} protocol) applied "
                           f"unchanged to {int(keep.sum())} labelled records of {name} ({scheme} labels) with its "
                           f"saved thresholds; 95% intervals: percentile bootstrap over "
                           f"{'patients' if patients else 'records (no patient ids in ' + name + ')'}, "
                           f"{n_boot} draws, seed {seed}"),
           "ecgfeat": __version__, "command": command or " ".join(sys.argv),
           "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "seconds": round(time.perf_counter() - t0, 2)}
    doc = json_safe(doc)
    frame = pd.DataFrame({"record_id": ids, "tested": True,
                          "patient_id": pd.array(g if g is not None else [None] * len(ids), dtype="string")})
    for j, c in enumerate(classes):
        frame[f"y_true__{c}"] = Y[:, j]
        frame[f"y_score__{c}"] = scores[:, j]
        frame[f"y_pred__{c}"] = pred[:, j]
    out = folder / EXTERNAL / name
    _write(out, doc, frame)
    return {"model_dir": str(folder), "dataset": name, "out_dir": str(out), "metrics": doc}


def _check_store_source(store_root: Path, name: str, path: Path) -> None:
    from ..store import FeatureStore

    st = FeatureStore(store_root)
    if name in st.datasets():
        src = st.source_path(name)
        if src and Path(src).resolve() != path.resolve():
            raise ExternalError(f"--data {path}: the store {store_root} holds another dataset named {name!r} "
                                f"(from {src}); give this one another name with --dataset-name")


def find_external(model_dir: str | os.PathLike) -> list[dict]:
    """The external metrics.json documents under ``<model_dir>/external/`` (sorted by dataset);
    a damaged one is skipped (compare reports the others)."""
    root = Path(model_dir) / EXTERNAL
    out = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or not (d / "metrics.json").is_file():
            continue
        try:
            doc = json.loads((d / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and all(k in doc for k in ("dataset", "macro", "macro_ci", "per_class")):
            out.append({**doc, "folder": str(d)})
    return out


__all__ = ["EXTERNAL", "ExternalError", "METRICS", "evaluate_external", "find_external", "find_model",
           "thresholds_origin"]

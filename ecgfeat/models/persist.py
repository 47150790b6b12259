"""Saving and loading one-vs-rest models as data, never as code.

Each class's estimator goes to its own file in a format that cannot run code on load:
XGBoost's native JSON, LightGBM's text model, and skops for scikit-learn pipelines (loaded with an
explicit allow-list of types). Constant predictors live in the manifest. The manifest holds each
file's sha256; ``load_ovr`` checks it before parsing anything. Nothing here unpickles.

A sha256 in a manifest only proves the file is the one the manifest names; whoever hands over a
model folder can hand over a matching manifest. So every file is also checked structurally before
(XGBoost, LightGBM) or right after (skops: plain arrays) it is parsed: XGBoost's and LightGBM's
parsers crash on some malformed files, and all four tree predictors index child and feature
arrays without bounds checks. XGBoost is saved as JSON rather than UBJSON so that it can be
checked in Python before XGBoost reads it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_lgbm, check_sklearn, check_xgb
from .multilabel import ConstantProba, OneVsRest
from .zoo import MODELS, model_name

FORMAT = 1
EXTENSIONS = {"xgb": (".json",), "lgbm": (".txt",), "skops": (".skops",)}
_FILE_RE = re.compile(r"^class_\d+\.(json|txt|skops)$")

# Types outside skops' built-in trusted set that the lr / rf / gbm / mlp pipelines hold
# (found with skops.io.get_untrusted_types on fitted models of both presets). All are inert
# containers of arrays: no callables, nothing that imports or executes on construction.
SKOPS_ALLOWED = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
})


class ModelFileError(ValueError):
    """A saved model file is missing, modified, unparsable or holds a type we do not trust."""


class LightGBMBinary:
    """A LightGBM booster loaded from its text model, with ``predict_proba`` like LGBMClassifier."""

    classes_ = np.array([0, 1])

    def __init__(self, booster: Any, n_jobs: int = 1):
        self.booster_ = booster
        self.n_jobs = n_jobs

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.booster_.predict(X, num_threads=max(int(self.n_jobs), 0))
        return np.vstack((1.0 - p, p)).transpose()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _kind(model: str, est: Any) -> str:
    if isinstance(est, ConstantProba):
        return "constant"
    return model if model in ("xgb", "lgbm") else "skops"


def _saved_view(model: Any, params: dict | None, preset: str, seed: int) -> dict[str, Any]:
    """What a manifest records of a fitted OneVsRest or MultiLabelThresholdClassifier."""
    from .threshold import MultiLabelThresholdClassifier

    if isinstance(model, MultiLabelThresholdClassifier):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "estimators_")
        if model.target_type_ != "multilabel":
            raise ValueError(f"only a multi-label MultiLabelThresholdClassifier is saved as one model per class "
                             f"(this one was fitted on a {model.target_type_} y)")
        names = getattr(model, "feature_names_in_", None)
        # the per-class models see the kept columns only: the saved model is fitted on exactly those
        return {"model": model_name(model.estimator), "params": params, "preset": preset, "seed": seed,
                "classes": list(model.classes_), "estimators": model.estimators_,
                "n_features": int(np.sum(model.columns_)),
                "feature_names": None if names is None else list(np.asarray(names)[model.columns_])}
    model._check_fitted()
    names = getattr(model, "feature_names_in_", None)
    return {"model": model.model, "params": model.params, "preset": model.preset, "seed": model.seed,
            "classes": list(model.classes_), "estimators": model.estimators_, "n_features": int(model.n_features_in_),
            "feature_names": None if names is None else list(names)}


def save_ovr(model: Any, folder: str | Path, params: dict | None = None, preset: str = "default",
             seed: int = 0) -> dict[str, Any]:
    """Writes each class's estimator under ``folder``; returns the JSON-able manifest.

    ``model`` is a fitted ``OneVsRest`` or a fitted multi-label ``MultiLabelThresholdClassifier``
    of a zoo estimator (``make_binary``): its per-class models, on the columns they see
    (``columns_``), with ``params``, ``preset`` and ``seed`` recorded as the zoo settings it was
    built with (a OneVsRest carries its own). ``load_ovr`` reads it back as a OneVsRest.
    """
    view = _saved_view(model, params, preset, seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for i, est in enumerate(view["estimators"]):
        kind = _kind(view["model"], est)
        if kind == "constant":
            entries.append({"kind": "constant", "value": est.value})
            continue
        ext = {"xgb": ".json", "lgbm": ".txt", "skops": ".skops"}[kind]
        path = folder / f"class_{i}{ext}"
        if kind == "xgb":
            est.save_model(str(path))
        elif kind == "lgbm":
            est.booster_.save_model(str(path))
        else:
            import skops.io as sio
            sio.dump(est, path)
        entries.append({"kind": kind, "file": path.name, "sha256": sha256_file(path)})
    names = view["feature_names"]
    return {
        "format": FORMAT,
        "model": view["model"],
        "params": _jsonable(view["params"] or {}),
        "preset": view["preset"],
        "seed": int(view["seed"]),
        "classes": _jsonable(view["classes"]),
        "n_outputs": len(entries),
        "n_features": view["n_features"],
        "feature_names": None if names is None else [str(n) for n in names],
        "estimators": entries,
        "libraries": _versions(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for dist in ("scikit-learn", "xgboost", "lightgbm", "skops", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    # JSON turns tuples into lists; sklearn wants e.g. hidden_layer_sizes as a tuple
    return {k: tuple(v) if isinstance(v, list) else v for k, v in (params or {}).items()}


def _verified(folder: Path, entry: dict[str, Any]) -> Path:
    name = str(entry.get("file", ""))
    kind = entry.get("kind")
    if not _FILE_RE.match(name) or Path(name).suffix not in EXTENSIONS.get(kind, ()):
        raise ModelFileError(f"{folder / name}: not a model file name this manifest may name "
                             f"(kind {kind!r}); refusing to load")
    path = folder / name
    if path.is_symlink():   # the file must be the folder's own, not a link to one elsewhere
        raise ModelFileError(f"{path}: is a symlink; refusing to load")
    if not path.is_file():
        raise ModelFileError(f"{path}: model file missing")
    if sha256_file(path) != entry.get("sha256"):
        raise ModelFileError(f"{path}: sha256 mismatch, the model file was modified; "
                             "refusing to load")
    return path


# -- structural checks ------------------------------------------------------------------------
# sklearn's Tree / TreePredictor, XGBoost and LightGBM walk child and feature indices read from
# the file unchecked: a crafted (sha256-consistent) file could read out of bounds or loop forever.
# Every node's children must come after it and every split feature must exist.

def _refuse(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: {what}; refusing to load")


def _load_skops(path: Path, model: str, n_features: int) -> Any:
    import skops.io as sio
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as err:   # not a zip, no schema, bad JSON: nothing was executed
        raise _refuse(path, f"not a valid skops file ({type(err).__name__})") from None
    bad = sorted(set(untrusted) - SKOPS_ALLOWED)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise _refuse(path, f"holds untrusted type {bad[0]}{more}")
    try:
        est = sio.load(path, trusted=list(untrusted))
        problem = check_sklearn(model, est, n_features)
    except Exception as err:
        raise _refuse(path, f"cannot load skops file ({type(err).__name__}: {err})") from None
    if problem:
        raise _refuse(path, problem)
    return est


def _load_native(kind: str, path: Path, n_features: int, n_jobs: int) -> Any:
    try:
        if kind == "xgb":
            import json
            from xgboost import XGBClassifier
            problem = check_xgb(json.loads(path.read_bytes()), n_features)
            if problem is None:
                est = XGBClassifier()
                est.load_model(str(path))
                est.set_params(n_jobs=n_jobs)
                raw = json.loads(bytes(est.get_booster().save_raw(raw_format="json")))
                problem = check_xgb(raw, n_features)    # what XGBoost read is what we checked
        else:
            import lightgbm
            text = path.read_text(encoding="utf-8")
            problem = check_lgbm(text, n_features)
            if problem is None:
                # without tree_sizes LightGBM parses trees serially, where a format error is a
                # Python exception rather than an abort inside its OpenMP loop
                text = re.sub(r"^tree_sizes=.*\n", "", text, count=1, flags=re.M)
                est = LightGBMBinary(lightgbm.Booster(model_str=text), n_jobs=n_jobs)
                problem = (check_lgbm(est.booster_.model_to_string(), n_features)
                           or (None if est.booster_.num_trees() == text.count("\nTree=")
                               else "LightGBM read a different number of trees"))
    except Exception as err:
        lines = str(err).strip().splitlines()
        raise _refuse(path, f"not a valid {kind} model file ({type(err).__name__}: "
                            f"{lines[0][:200] if lines else ''})") from None
    if problem:
        raise _refuse(path, problem)
    return est


def load_ovr(folder: str | Path, manifest: dict[str, Any], n_jobs: int = 1) -> OneVsRest:
    """Rebuilds the fitted OneVsRest that ``save_ovr`` wrote to ``folder`` with ``manifest``."""
    folder = Path(folder)
    lacking = [k for k in ("model", "classes", "n_outputs", "n_features", "estimators")
               if k not in manifest]
    if lacking:
        raise ModelFileError(f"{folder}: model manifest lacks {', '.join(lacking)}")
    entries, k, names = manifest["estimators"], manifest["n_outputs"], manifest.get("feature_names")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries) \
            or len(entries) != k or len(manifest["classes"]) != k \
            or (names is not None and len(names) != manifest["n_features"]):
        raise ModelFileError(f"{folder}: manifest's estimators, classes and feature names "
                             "disagree in number; refusing to load")
    if manifest.get("model") not in MODELS:
        raise ModelFileError(f"{folder}: manifest names unknown model {manifest.get('model')!r}")
    n_features = int(manifest["n_features"])
    want = {"xgb": "xgb", "lgbm": "lgbm"}.get(manifest["model"], "skops")
    for e in entries:
        if e.get("kind") not in (want, "constant"):
            raise ModelFileError(f"{folder}: manifest gives a {manifest['model']} model an "
                                 f"estimator of kind {e.get('kind')!r}; refusing to load")
    paths = [None if e.get("kind") == "constant" else _verified(folder, e) for e in entries]
    ovr = OneVsRest(model=manifest["model"], params=_params_from_json(manifest.get("params")),
                    preset=manifest.get("preset", "default"), seed=manifest.get("seed", 0),
                    n_jobs=n_jobs)
    ovr.estimators_, ovr.constant_ = [], {}
    for i, (entry, path) in enumerate(zip(entries, paths)):
        kind = entry["kind"]
        if kind == "constant":
            ovr.constant_[i] = float(entry["value"])
            ovr.estimators_.append(ConstantProba(ovr.constant_[i]))
        elif kind == "skops":
            est = _load_skops(path, ovr.model, n_features)
            if ovr.model == "rf":
                est.set_params(n_jobs=n_jobs)      # threads of this run, not of the training run
            ovr.estimators_.append(est)
        else:
            ovr.estimators_.append(_load_native(kind, path, n_features, n_jobs))
    classes = manifest["classes"]
    ovr.classes_ = (np.asarray(classes, dtype=object) if any(isinstance(c, str) for c in classes)
                    else np.asarray(classes))
    ovr.n_outputs_ = int(manifest["n_outputs"])
    ovr.n_features_in_ = n_features
    if manifest.get("feature_names") is not None:
        ovr.feature_names_in_ = np.asarray(manifest["feature_names"], dtype=object)
    return ovr

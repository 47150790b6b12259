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

from .multilabel import ConstantProba, OneVsRest
from .zoo import MODELS

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


def save_ovr(model: OneVsRest, folder: str | Path) -> dict[str, Any]:
    """Writes each class's estimator under ``folder``; returns the JSON-able manifest."""
    model._check_fitted()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for i, est in enumerate(model.estimators_):
        kind = _kind(model.model, est)
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
    names = getattr(model, "feature_names_in_", None)
    return {
        "format": FORMAT,
        "model": model.model,
        "params": _jsonable(model.params or {}),
        "preset": model.preset,
        "seed": int(model.seed),
        "classes": _jsonable(list(model.classes_)),
        "n_outputs": int(model.n_outputs_),
        "n_features": int(model.n_features_in_),
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

def _check_children(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, feature: np.ndarray,
                    n_features: int) -> bool:
    n = len(left)
    idx = np.arange(n)
    inner = ~leaf
    return bool(len(right) == n and len(feature) == n
                and np.all((left[inner] > idx[inner]) & (left[inner] < n))
                and np.all((right[inner] > idx[inner]) & (right[inner] < n))
                and np.all((feature[inner] >= 0) & (feature[inner] < n_features)))


def _check_sklearn(model: str, est: Any, n_features: int) -> str | None:
    """None when ``est`` is the structure ``model`` builds, else what is wrong."""
    from sklearn.pipeline import Pipeline
    expected = {"lr": "LogisticRegression", "mlp": "MLPClassifier",
                "rf": "RandomForestClassifier", "gbm": "HistGradientBoostingClassifier"}[model]
    final = est
    if model in ("lr", "mlp"):
        steps = [type(s).__name__ for _, s in getattr(est, "steps", [])]
        if type(est) is not Pipeline or steps != ["SimpleImputer", "StandardScaler", expected]:
            return f"expected the {model} pipeline, found {type(est).__name__} {steps}"
        final = est.steps[-1][1]
    if type(final).__name__ != expected or not type(final).__module__.startswith("sklearn."):
        return f"expected {expected}, found {type(final).__module__}.{type(final).__name__}"
    if model == "rf":
        for tree in final.estimators_:
            if type(tree).__name__ != "DecisionTreeClassifier":
                return f"forest member is {type(tree).__name__}"
            t = tree.tree_
            leaf = t.children_left == -1
            if t.n_features != n_features or not np.array_equal(leaf, t.children_right == -1) \
                    or not _check_children(t.children_left, t.children_right, leaf, t.feature,
                                           n_features):
                return "a decision tree has out-of-range child or feature indices"
    if model == "gbm":
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
        cat = getattr(final._bin_mapper, "is_categorical_", None)
        if cat is not None and np.any(cat):
            return "categorical features are not supported"
        for pred in (p for it in final._predictors for p in it):
            nd = pred.nodes
            if nd.dtype != PREDICTOR_RECORD_DTYPE or np.any(nd["is_categorical"]) or \
                    not _check_children(nd["left"].astype(np.int64), nd["right"].astype(np.int64),
                                        nd["is_leaf"].astype(bool),
                                        nd["feature_idx"].astype(np.int64), n_features):
                return "a boosted tree has out-of-range child or feature indices"
    return None


_XGB_ARRAYS = ("base_weights", "default_left", "left_children", "loss_changes", "parents",
               "right_children", "split_conditions", "split_indices", "split_type", "sum_hessian")


def _check_xgb(doc: Any, n_features: int) -> str | None:
    """Strict check of an XGBoost JSON model, run BEFORE XGBoost parses it: its loader trusts
    sizes (a wrong size_leaf_vector crashes it) and its predictor trusts indices."""
    try:
        learner = doc["learner"]
        param, booster = learner["learner_model_param"], learner["gradient_booster"]
        model = booster["model"]
        trees, n = model["trees"], len(model["trees"])
        if (param["num_class"], param["num_target"], param["num_feature"]) != \
                ("0", "1", str(n_features)) or learner["objective"]["name"] != "binary:logistic" \
                or booster["name"] != "gbtree" or len(learner.get("feature_names", [])) not in \
                (0, n_features) or any(t == "c" for t in learner.get("feature_types", [])):
            return "not a binary gbtree model over this model's features"
        if model["gbtree_model_param"] != {"num_parallel_tree": "1", "num_trees": str(n)} or \
                model["tree_info"] != [0] * n or model["iteration_indptr"] != list(range(n + 1)) \
                or any(model.get("cats", {}).values()):
            return "the booster's tree bookkeeping is inconsistent"
        for number, tree in enumerate(trees):
            tp = tree["tree_param"]
            nodes = int(tp["num_nodes"])
            arr = {k: np.asarray(tree[k], dtype=np.float64) for k in _XGB_ARRAYS}
            if tree["id"] != number or tp["size_leaf_vector"] != "1" or \
                    tp["num_feature"] != str(n_features) or nodes < 1 or \
                    any(arr[k].shape != (nodes,) for k in _XGB_ARRAYS) or \
                    any(tree[k] for k in ("categories", "categories_nodes",
                                          "categories_segments", "categories_sizes")):
                return f"tree {number}: sizes disagree with num_nodes or categorical splits"
            left, right = arr["left_children"].astype(np.int64), arr["right_children"].astype(np.int64)
            parents, leaf = arr["parents"].astype(np.int64), left == -1
            inner = np.flatnonzero(~leaf)
            if np.any(arr["split_type"]) or not np.array_equal(leaf, right == -1) or \
                    not _check_children(left, right, leaf, arr["split_indices"].astype(np.int64),
                                        n_features) or \
                    np.any((parents[1:] < 0) | (parents[1:] >= nodes)) or \
                    np.any(parents[left[inner]] != inner) or np.any(parents[right[inner]] != inner):
                return f"tree {number} has out-of-range child, parent or feature indices"
    except (KeyError, TypeError, ValueError, AttributeError):
        return "not an XGBoost JSON model"
    return None


_LGBM_ARRAYS = {  # key -> (length: L leaves or L-1 splits, integer?)
    "split_feature": (1, True), "split_gain": (1, False), "threshold": (1, False),
    "decision_type": (1, True), "left_child": (1, True), "right_child": (1, True),
    "internal_value": (1, False), "internal_weight": (1, False), "internal_count": (1, True),
    "leaf_value": (0, False), "leaf_weight": (0, False), "leaf_count": (0, True)}


def _check_lgbm(text: str, n_features: int) -> str | None:
    """Strict check of a LightGBM text model, run BEFORE LightGBM parses it: its parser accepts
    short arrays and bad numbers, and aborts the process on some malformed trees."""
    if "\r" in text or "\0" in text or text.count("\nend of trees") != 1:
        return "not a LightGBM text model"
    head, *trees = text.split("\nend of trees")[0].split("\nTree=")
    fields = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    if fields.get("max_feature_idx") != str(n_features - 1) or fields.get("num_class") != "1" \
            or fields.get("num_tree_per_iteration") != "1" or not trees:
        return "not a binary model over this model's features"
    for number, block in enumerate(trees):
        first, *lines = block.strip("\n").split("\n")
        kv = [line.split("=", 1) for line in lines if line]
        keys = [k for k, *_ in kv]
        if first != str(number) or any(len(p) != 2 for p in kv) or len(set(keys)) != len(keys) \
                or not set(keys) <= {*_LGBM_ARRAYS, "num_leaves", "num_cat", "is_linear",
                                     "shrinkage"}:
            return f"tree {number} is malformed"
        kv = dict(kv)
        try:
            leaves, _ = int(kv["num_leaves"]), float(kv.get("shrinkage", "1"))
            if leaves < 1 or int(kv.get("num_cat", "0")) or int(kv.get("is_linear", "0")):
                return f"tree {number}: categorical or linear trees are not supported"
            arr = {k: np.asarray(kv.get(k, "").split(), dtype=np.int64 if is_int else np.float64)
                   for k, (_, is_int) in _LGBM_ARRAYS.items()}
        except (KeyError, ValueError, OverflowError):
            return f"tree {number} is malformed"
        n_in = leaves - 1
        if n_in == 0:   # a stump: one leaf value; LightGBM writes its leaf statistics empty
            if len(arr["leaf_value"]) != 1 or any(len(arr[k]) > (0 if split else 1)
                                                  for k, (split, _) in _LGBM_ARRAYS.items()):
                return f"tree {number}: array lengths disagree with num_leaves"
            continue
        if any(k not in kv or len(arr[k]) != (n_in if split else leaves)
               for k, (split, _) in _LGBM_ARRAYS.items()):
            return f"tree {number}: array lengths disagree with num_leaves"
        idx, sf = np.arange(n_in), arr["split_feature"]
        for c in (arr["left_child"], arr["right_child"]):  # inner: a later node; leaf: ~index
            if np.any(np.where(c >= 0, (c <= idx) | (c >= n_in), ~c >= leaves)):
                return f"tree {number} has out-of-range child indices"
        if np.any((sf < 0) | (sf >= n_features)) or np.any(arr["decision_type"] & 1):
            return f"tree {number} has out-of-range feature indices or categorical splits"
    return None


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
        problem = _check_sklearn(model, est, n_features)
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
            problem = _check_xgb(json.loads(path.read_bytes()), n_features)
            if problem is None:
                est = XGBClassifier()
                est.load_model(str(path))
                est.set_params(n_jobs=n_jobs)
                raw = json.loads(bytes(est.get_booster().save_raw(raw_format="json")))
                problem = _check_xgb(raw, n_features)    # what XGBoost read is what we checked
        else:
            import lightgbm
            text = path.read_text(encoding="utf-8")
            problem = _check_lgbm(text, n_features)
            if problem is None:
                # without tree_sizes LightGBM parses trees serially, where a format error is a
                # Python exception rather than an abort inside its OpenMP loop
                text = re.sub(r"^tree_sizes=.*\n", "", text, count=1, flags=re.M)
                est = LightGBMBinary(lightgbm.Booster(model_str=text), n_jobs=n_jobs)
                problem = (_check_lgbm(est.booster_.model_to_string(), n_features)
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

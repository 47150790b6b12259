"""Structural checks of model files before or right after loading them.

A matching sha256 only proves a file is the one the manifest names, not that it is safe: whoever
hands over a model folder can hand over a matching manifest. XGBoost's and LightGBM's native
loaders crash (segfault / abort) on crafted trees, and all four tree predictors follow child and
feature indices without bounds checks, so every tree is checked here first.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _check_children(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, feature: np.ndarray,
                    n_features: int) -> bool:
    n = len(left)
    idx = np.arange(n)
    inner = ~leaf
    return bool(len(right) == n and len(feature) == n
                and np.all((left[inner] > idx[inner]) & (left[inner] < n))
                and np.all((right[inner] > idx[inner]) & (right[inner] < n))
                and np.all((feature[inner] >= 0) & (feature[inner] < n_features)))


def check_sklearn(model: str, est: Any, n_features: int) -> str | None:
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


def check_xgb(doc: Any, n_features: int) -> str | None:
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


def check_lgbm(text: str, n_features: int) -> str | None:
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

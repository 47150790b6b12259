"""The classical model zoo: one binary classifier per name, its preprocessing inside.

Every classifier takes a float feature matrix with NaN where a feature is undefined and exposes
``fit(X, y)`` / ``predict_proba(X)[:, 1]``. Tree models (rf, gbm, xgb, lgbm) route NaN natively;
lr and mlp impute the median and standardise inside a Pipeline, so the fitted object is self-contained.

Presets:
- ``default``: tuned for this problem's size (500-20,000 records x 200-3,000 correlated, partly
  missing features, rare classes, a 2-core CPU); the reasons are beside each value.
- ``seed``: the seed paper's (Zhang et al., 2020) classical baselines, library defaults otherwise.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

MODELS = ("lr", "rf", "gbm", "xgb", "lgbm", "mlp")
PRESETS = ("default", "seed")
TREE_MODELS = ("rf", "gbm", "xgb", "lgbm")


def _default_params(name: str, seed: int, n_jobs: int) -> dict[str, Any]:
    if name == "lr":
        return dict(
            C=0.1,            # L2 (l1_ratio=0): hundreds of collinear standardised features, a few
                              # hundred positives per rare class -> shrink harder than C=1
                              # (C in 1, 0.1, 0.01 measured by bench/zoo_choices.py; figures and
                              # their intervals in docs/benchmarks.md)
            solver="lbfgs",
            max_iter=5000,    # standardised inputs converge in < 500; the margin avoids warnings
            random_state=seed,
        )
    if name == "rf":
        return dict(
            n_estimators=500,      # sqrt(760) = 27 candidates per split: a few informative features
                                   # need many trees to be drawn often (300 vs 500 trees: bench/
                                   # zoo_choices.py, docs/benchmarks.md); RF is the slowest
                                   # model here, lower it with --param n_estimators=N
            max_features="sqrt",   # decorrelates trees when many features are redundant (12 leads)
            min_samples_leaf=1,    # fully grown trees: RF's variance reduction comes from averaging
            n_jobs=n_jobs, random_state=seed,
        )
    if name == "gbm":
        return dict(
            max_iter=300, learning_rate=0.05,   # slow learning, enough rounds for 500-20k records
            max_leaf_nodes=15,                  # shallow trees: 2-3 way interactions, little overfit
            min_samples_leaf=20,
            l2_regularization=1.0,
            max_features=0.5,                   # column subsampling per split, as colsample in xgb
            early_stopping=False,               # 'auto' would switch on at 10k rows: same model
                                                # whatever the data size, the protocol tunes nothing
            random_state=seed,
        )
    if name == "xgb":
        return dict(
            n_estimators=300, learning_rate=0.05,  # lr x rounds = 15: enough for rare classes
            max_depth=4,                           # interactions of a few features (e.g. QRS x lead)
            subsample=0.8, colsample_bytree=0.5,   # row/column bagging against redundant features
            min_child_weight=1.0, reg_lambda=1.0,
            tree_method="hist", max_bin=256,
            eval_metric="logloss",
            n_jobs=n_jobs, random_state=seed,
        )
    if name == "lgbm":
        return dict(
            n_estimators=300, learning_rate=0.05,
            num_leaves=15,                          # ~ depth-4 capacity, grown leaf-wise
            min_child_samples=20,
            subsample=0.8, subsample_freq=1,        # subsample is inert without subsample_freq > 0
            colsample_bytree=0.5,
            reg_lambda=1.0,
            force_col_wise=True,                    # wide data; skips LightGBM's timing probe
            deterministic=True,                     # same result every run for a given n_jobs
            verbose=-1,
            n_jobs=n_jobs, random_state=seed,
        )
    if name == "mlp":
        return dict(
            hidden_layer_sizes=(256, 128),
            alpha=3.0,                # L2; sklearn divides it by the batch size, so this is a
                                      # moderate decay for ~2e5 first-layer weights learnt from
                                      # ~1e3-1e4 records (alpha in 1e-2, 1, 3, 10: bench/zoo_choices.py,
                                      # docs/benchmarks.md)
            learning_rate_init=1e-3,
            batch_size=128,
            early_stopping=True,      # 10% validation split, stop after 10 epochs w/o improvement
            validation_fraction=0.1, n_iter_no_change=10,
            max_iter=300,             # an upper bound: early stopping ends fits far sooner
            random_state=seed,
        )
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def _seed_params(name: str, seed: int, n_jobs: int) -> dict[str, Any]:
    if name == "lr":
        return dict(max_iter=5000, random_state=seed)
    if name == "rf":
        return dict(n_estimators=300, max_depth=10, n_jobs=n_jobs, random_state=seed)
    if name == "gbm":
        return dict(random_state=seed)
    if name == "xgb":
        return dict(tree_method="hist", n_jobs=n_jobs, random_state=seed)
    if name == "lgbm":
        return dict(n_estimators=100, verbose=-1, n_jobs=n_jobs, random_state=seed)
    if name == "mlp":
        return dict(hidden_layer_sizes=(100, 50), random_state=seed)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def _estimator_class(name: str) -> Callable[..., Any]:
    if name == "lr":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier   # NaN-aware since sklearn 1.4
        return RandomForestClassifier
    if name == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier
    if name == "xgb":
        from xgboost import XGBClassifier
        return XGBClassifier
    if name == "lgbm":
        from lightgbm import LGBMClassifier
        return LGBMClassifier
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def valid_params(name: str) -> list[str]:
    """Hyper-parameter names accepted by ``--param`` for this model (its final estimator)."""
    keys = set(_estimator_class(name)().get_params(deep=False))
    return sorted(keys | set(_default_params(name, 0, 1)))   # + pass-through ones we set


def check_params(name: str, params: dict[str, Any] | None) -> None:
    """ValueError naming ``--param NAME`` for any name the model's final estimator lacks."""
    if not params:
        return
    valid = valid_params(name)
    for key in params:
        if key not in valid:
            raise ValueError(f"--param {key}: not a parameter of model {name!r}; "
                             f"valid: {', '.join(valid)}")


def make_binary(name: str, params: dict[str, Any] | None = None, preset: str = "default",
                seed: int = 0, n_jobs: int = 1) -> Any:
    """An unfitted binary classifier ``name`` of ``preset`` with ``params`` overriding it."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    check_params(name, params)
    base = (_default_params if preset == "default" else _seed_params)(name, seed, n_jobs)
    base.update(params or {})
    estimator = _estimator_class(name)(**base)
    if name not in ("lr", "mlp"):
        return estimator
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    return Pipeline([
        # keep_empty_features: an all-NaN column stays (as 0) so the column count never shifts
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("model", estimator),
    ])


def limit_threads(n_jobs: int | None):
    """Context manager capping OpenMP/BLAS threads (HistGradientBoosting, BLAS in lr/mlp) at
    ``n_jobs``; ``None`` or < 1 = no cap. The protocols fit and predict inside it, so ``--jobs``
    bounds every library's threads, not only the estimators' own ``n_jobs``."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=None if n_jobs is None or n_jobs < 1 else int(n_jobs))


def _final_step(estimator: Any) -> tuple[Any, str]:
    """(last estimator of a Pipeline or the estimator itself, the set_params prefix reaching it)."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return steps[-1][1], f"{steps[-1][0]}__"
    return estimator, ""


def fit_binary(estimator: Any, X: Any, y: Any) -> Any:
    """``estimator.fit(X, y)`` for one class of a one-vs-rest model, with what such a class needs.

    One-vs-rest makes columns and targets a classifier can meet nowhere else:

    - a feature column with no finite value: scikit-learn's HistGradientBoosting binner crashes on
      it; it carries nothing, so that model fits on a copy where it is constant (never split on)
      and predicts on the real data unchanged;
    - a class with a single positive (or negative): MLPClassifier's early stopping draws a
      stratified validation split, impossible then, so it fits without early stopping.

    Any other estimator is fitted as it is.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neural_network import MLPClassifier

    final, prefix = _final_step(estimator)
    A = np.asarray(X) if isinstance(final, HistGradientBoostingClassifier) else X
    if isinstance(final, HistGradientBoostingClassifier) and A.ndim == 2 and A.dtype.kind == "f":
        empty = np.isnan(A).all(axis=0)
        if empty.any():
            X = A.copy()
            X[:, empty] = 0.0
    yy = np.asarray(y)
    if isinstance(final, MLPClassifier) and final.early_stopping and min(int(yy.sum()), int(len(yy) - yy.sum())) < 2:
        estimator.set_params(**{f"{prefix}early_stopping": False})
    return estimator.fit(X, y)


def model_name(estimator: Any) -> str:
    """The zoo name (lr, rf, gbm, xgb, lgbm, mlp) of an estimator ``make_binary`` builds: what
    ``persist.save_ovr`` records to choose each class's file format. ValueError for any other."""
    final, _ = _final_step(estimator)
    kind = type(final).__name__
    names = {"LogisticRegression": "lr", "RandomForestClassifier": "rf", "HistGradientBoostingClassifier": "gbm",
             "XGBClassifier": "xgb", "LGBMClassifier": "lgbm", "MLPClassifier": "mlp"}
    name = names.get(kind)
    if name is None or (name in ("lr", "mlp")) != (final is not estimator):
        raise ValueError(f"{type(estimator).__name__}: not an estimator of the zoo ({', '.join(MODELS)}); only "
                         "those are saved as data (XGBoost JSON, LightGBM text, skops)")
    return name


def _convert(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_params(items: list[str] | tuple[str, ...] | None) -> dict[str, Any]:
    """``["max_depth=6", "learning_rate=0.1", "class_weight=balanced"]`` -> typed dict.

    Values become int, float, bool (true/false), None (none/null) or str; a value with commas
    becomes a tuple (``hidden_layer_sizes=256,128`` -> ``(256, 128)``).
    """
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE")
        if "," in value:
            out[name] = tuple(_convert(v) for v in value.split(",") if v.strip())
        else:
            out[name] = _convert(value)
    return out

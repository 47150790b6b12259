"""One-vs-rest multi-label container of the zoo's binary models, one per class column.

``ecgfeat train`` fits a :class:`~ecgfeat.MultiLabelThresholdClassifier` of the zoo's estimator
per split; ``OneVsRest`` is what a saved model folder loads back as (``persist.load_ovr``): the
per-class estimators, ``predict_proba`` on the model's feature columns. It can also fit (one
``make_binary`` per class), which the tests and older scripts use."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator

from .zoo import MODELS, check_params, fit_binary, limit_threads, make_binary

Progress = Callable[[int, int, str], None]


class ConstantProba:
    """Predicts a fixed positive-class probability: a class with one value in training."""

    def __init__(self, value: float):
        self.value = float(value)

    def fit(self, X: Any, y: Any) -> "ConstantProba":
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = np.full(len(X), self.value, dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def __repr__(self) -> str:
        return f"ConstantProba({self.value})"


class OneVsRest(BaseEstimator):
    """Multi-label classifier: one ``make_binary(model, params, preset, seed, n_jobs)`` per class.

    ``fit(X, Y)`` with X (n, p) numpy or DataFrame (NaN allowed) and Y (n, k) of 0/1 (a DataFrame
    names the classes). ``predict_proba(X)`` -> (n, k) positive-class probabilities.
    Fitted: ``classes_``, ``n_outputs_``, ``n_features_in_``, ``feature_names_in_`` (DataFrame X),
    ``estimators_`` (one per class), ``constant_`` ({class index: prior} for single-valued classes).
    """

    def __init__(self, model: str = "xgb", params: dict | None = None, preset: str = "default",
                 seed: int = 0, n_jobs: int = 1):
        self.model = model
        self.params = params
        self.preset = preset
        self.seed = seed
        self.n_jobs = n_jobs

    # -- input handling -------------------------------------------------------------------
    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        names = getattr(X, "columns", None)
        if fitting:
            if names is not None:
                self.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif names is not None and hasattr(self, "feature_names_in_"):
            have = [str(c) for c in names]
            if have != list(self.feature_names_in_):
                missing = sorted(set(self.feature_names_in_) - set(have))
                if missing:
                    shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                    raise ValueError(f"X lacks {len(missing)} feature column(s) the model was "
                                     f"trained on: {shown}")
                X = X.loc[:, list(self.feature_names_in_)]      # same order as in training
        A = np.asarray(X, dtype=np.float32)
        if A.ndim != 2:
            raise ValueError(f"X must be 2-D (records x features), got shape {A.shape}")
        if not fitting and A.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {A.shape[1]} features, the model was trained on "
                             f"{self.n_features_in_}")
        if np.isinf(A).any():                  # an infinite feature is as undefined as NaN
            A = np.where(np.isinf(A), np.float32(np.nan), A)
        return np.ascontiguousarray(A)

    @staticmethod
    def _targets(Y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        names = getattr(Y, "columns", None)
        T = np.asarray(Y)
        if T.ndim == 1:
            T = T.reshape(-1, 1)
        if T.shape[0] != n:
            raise ValueError(f"Y has {T.shape[0]} rows, X has {n}")
        if not np.isin(T, (0, 1)).all():
            raise ValueError("Y must hold only 0/1 labels (one column per class)")
        classes = (np.asarray([str(c) for c in names], dtype=object) if names is not None
                   else np.arange(T.shape[1]))
        return T.astype(np.int64), classes

    # -- estimator API --------------------------------------------------------------------
    def fit(self, X: Any, Y: Any, progress: Progress | None = None) -> "OneVsRest":
        """Fits one binary model per column of Y; ``progress(done, total, class)`` after each."""
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        check_params(self.model, self.params)
        A = self._matrix(X, fitting=True)
        T, self.classes_ = self._targets(Y, A.shape[0])
        self.n_features_in_ = A.shape[1]
        self.n_outputs_ = T.shape[1]
        self.estimators_, self.constant_ = [], {}
        with limit_threads(self.n_jobs):
            for j in range(self.n_outputs_):
                y = T[:, j]
                if np.unique(y).size < 2:
                    self.constant_[j] = float(y[0]) if len(y) else 0.0
                    est: Any = ConstantProba(self.constant_[j])
                else:
                    est = make_binary(self.model, self.params, self.preset, self.seed, self.n_jobs)
                    est = fit_binary(est, A, y)
                self.estimators_.append(est)
                if progress is not None:
                    progress(j + 1, self.n_outputs_, str(self.classes_[j]))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("OneVsRest is not fitted yet: call fit(X, Y) or load a model")

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) positive-class probability per class, float64."""
        self._check_fitted()
        A = self._matrix(X, fitting=False)
        out = np.empty((A.shape[0], self.n_outputs_), dtype=np.float64)
        with limit_threads(self.n_jobs):
            for j, est in enumerate(self.estimators_):
                out[:, j] = np.asarray(est.predict_proba(A))[:, 1]
        return out

    def predict(self, X: Any, threshold: float | np.ndarray = 0.5) -> np.ndarray:
        """(n, k) 0/1 labels: probability >= threshold (a scalar or one per class)."""
        return (self.predict_proba(X) >= np.asarray(threshold)).astype(np.int64)

"""`MultiLabelThresholdClassifier`: any scikit-learn classifier, one-vs-rest, with per-class F1 thresholds.

What ``ecgfeat train`` does per split, as one estimator: one clone of the wrapped classifier per
class column, positive-class probabilities, and per-class thresholds maximising F1 on validation
data (``f1_thresholds``: exact, 0.5 for a class without positives or negatives there), or
thresholds given (``thresholds=``: the cv refit's median of the folds'). The thresholds are
fitted attributes (``thresholds_``) and ``predict`` applies them.

``ecgfeat train`` is this class per split: ``MultiLabelThresholdClassifier(make_binary(model,
params, preset, seed, jobs))`` fitted on the training folds with the validation fold as
``X_val, Y_val``; the cv refit passes the median of the folds' thresholds as ``thresholds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .f1 import apply_thresholds, f1_thresholds
from .multilabel import ConstantProba
from .stratify import assign_folds
from .zoo import fit_binary

# float32 input stays float32 (the feature store's dtype): the wrapped models then see exactly the
# matrix `ecgfeat train` gives them, and lr / mlp standardise it in the same precision
DTYPES = [np.float64, np.float32]


# check_estimator(MultiLabelThresholdClassifier(LogisticRegression()), expected_failed_checks=...):
# the checks that fail by design, with the reason.
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": "predict applies the learned F1-optimal thresholds, so it differs from "
                               "argmax(predict_proba) / the 0.5 cut-off the check expects",
    "check_classifier_multioutput": "predict applies the learned per-class thresholds, not predict_proba > 0.5",
}


def _positive_proba(est: Any, X: np.ndarray) -> np.ndarray:
    p = np.asarray(est.predict_proba(X))
    return p[:, 1] if p.ndim == 2 and p.shape[1] > 1 else p.ravel()


class MultiLabelThresholdClassifier(ClassifierMixin, BaseEstimator):
    """One-vs-rest wrapper of any scikit-learn classifier with per-class F1-optimal thresholds.

    ``fit(X, Y)`` fits one clone of ``estimator`` per column of the (records, classes) 0/1 matrix
    ``Y`` and chooses, per class, the threshold on the positive-class probability that maximises
    F1 on validation data: ``X_val, Y_val`` when given (e.g. the protocol's validation fold), else
    one fold of an inner :class:`~ecgfeat.IterativeStratifiedGroupKFold` split of ``X`` (the
    models then fit on the other folds, or on all of ``X`` with ``refit=True``). With
    ``thresholds`` given, nothing is held out: the models fit on all of ``X``.
    Each class's model is fitted by :func:`ecgfeat.models.zoo.fit_binary` (HistGradientBoosting
    on an all-NaN column, MLPClassifier early stopping with a single positive); a class with a
    single value in the training rows gets a ``ConstantProba``. float32 input stays float32.
    A 1-D ``y`` is handled as scikit-learn does: binary (the threshold applies to the second
    class) or multiclass (one-vs-rest probabilities normalised to sum to 1, ``predict`` the most
    probable class; ``thresholds_`` are kept but not used).

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier with ``predict_proba``; cloned per class. Its parameters are
        reachable as ``estimator__<name>`` (``GridSearchCV``, ``set_params``).
    val_splits : int, default=5
        Without ``X_val``: the inner split holds out one of ``val_splits`` iterative stratified
        (patient-grouped when ``groups`` is given) folds for the thresholds.
    refit : bool, default=False
        Without ``X_val``: refit the per-class models on all of ``X`` (validation rows included)
        after choosing the thresholds on the models that did not see them.
    drop_empty : bool, default=True
        Leave out the columns with no finite value in the training ``X`` (they carry nothing;
        ``ecgfeat train`` drops them the same way).
    random_state : int, default=0
        Seed of the inner split.
    thresholds : float or array-like of shape (n_classes,), optional
        Fixed decision thresholds (e.g. the median of cross-validation folds' thresholds): no
        validation data is used, ``val_f1_`` is NaN.

    Attributes
    ----------
    classes_ : ndarray
        Class names (the columns of a DataFrame ``Y``, else 0..k-1; the labels of a 1-D ``y``).
    thresholds_ : ndarray of shape (n_classes,)
        The per-class decision thresholds on the positive-class probability.
    val_f1_ : ndarray of shape (n_classes,)
        F1 on the validation data at each threshold (NaN for a class lacking positives or negatives).
    estimators_ : list
        One fitted clone per class (``ConstantProba`` for a class with one value in training).
    columns_ : ndarray of bool
        The input columns the models see (all True unless ``drop_empty`` removed some).
    target_type_ : str
        ``"multilabel"`` (a 2-D 0/1 ``Y``), ``"binary"`` or ``"multiclass"`` (a 1-D ``y``).
    n_features_in_, feature_names_in_ : int, ndarray
        As in scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ecgfeat import MultiLabelThresholdClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = np.column_stack([X[:, 0] > 0.5, X[:, 1] + X[:, 2] > 0]).astype(int)
    >>> clf = MultiLabelThresholdClassifier(LogisticRegression()).fit(X[:150], Y[:150])
    >>> clf.thresholds_.shape
    (2,)
    >>> clf.predict(X[150:]).shape
    (50, 2)
    >>> clf.set_params(estimator__C=0.1).get_params()["estimator__C"]
    0.1
    """

    def __init__(self, estimator, val_splits: int = 5, refit: bool = False, drop_empty: bool = True,
                 random_state: int = 0, thresholds=None):
        self.estimator = estimator
        self.thresholds = thresholds
        self.val_splits = val_splits
        self.refit = refit
        self.drop_empty = drop_empty
        self.random_state = random_state

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan   # as the wrapped model
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        return tags

    # -- targets ----------------------------------------------------------------------------
    def _targets(self, Y, n: int) -> np.ndarray:
        """0/1 matrix (n, k); sets classes_ and the target kind."""
        if Y is None:
            raise ValueError("MultiLabelThresholdClassifier requires y to be passed, but the target y is None")
        names = getattr(Y, "columns", None)
        T = np.asarray(Y)
        if T.ndim == 0 or T.shape[0] != n:
            raise ValueError(f"Y has {T.shape[0] if T.ndim else 0} rows, X has {n}")
        if T.ndim == 2 and T.shape[1] == 1 and names is None:
            T = T.ravel()                         # a column vector: a 1-D target
        if T.ndim == 1:
            from sklearn.utils.multiclass import check_classification_targets

            check_classification_targets(T)
            self.classes_ = np.unique(T)
            self._kind = self.target_type_ = "binary" if len(self.classes_) <= 2 else "multiclass"
            if self._kind == "binary":
                return (T == self.classes_[-1]).astype(np.int64)[:, None]
            return (T[:, None] == self.classes_[None, :]).astype(np.int64)
        if T.ndim != 2:
            raise ValueError(f"Y must be (records, classes) 0/1 or one label per record, got shape {T.shape}")
        if not np.isin(T, (0, 1)).all():
            raise ValueError("a 2-D Y must hold only 0/1 labels (one column per class)")
        self._kind = "multilabel"
        self.target_type_ = self._kind
        self.classes_ = (np.asarray([str(c) for c in names], dtype=object) if names is not None
                         else np.arange(T.shape[1]))
        return T.astype(np.int64)

    def _encode(self, Y, n: int) -> np.ndarray:
        """A validation target in the encoding of the training one."""
        T = np.asarray(Y)
        if T.shape[0] != n:
            raise ValueError(f"Y_val has {T.shape[0]} rows, X_val has {n}")
        if T.ndim == 2 and T.shape[1] == 1 and self._kind != "multilabel":
            T = T.ravel()
        if self._kind == "binary":
            return (T == self.classes_[-1]).astype(np.int64)[:, None]
        if self._kind == "multiclass":
            return (T[:, None] == self.classes_[None, :]).astype(np.int64)
        if T.ndim != 2 or T.shape[1] != len(self.classes_):
            raise ValueError(f"Y_val must have {len(self.classes_)} columns, got shape {T.shape}")
        return (T > 0).astype(np.int64)

    # -- fitting ----------------------------------------------------------------------------
    def _fit_models(self, A: np.ndarray, T: np.ndarray) -> list:
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict_proba"):
            raise TypeError(f"estimator {self.estimator!r} must be a classifier with fit and predict_proba")
        out = []
        for j in range(T.shape[1]):
            y = T[:, j]
            if np.unique(y).size < 2:
                out.append(ConstantProba(float(y[0]) if len(y) else 0.0))
            else:
                out.append(fit_binary(clone(self.estimator), A, y))
        return out

    def _scores(self, A: np.ndarray, models: list) -> np.ndarray:
        out = np.empty((A.shape[0], len(models)), dtype=np.float64)
        for j, est in enumerate(models):
            out[:, j] = _positive_proba(est, A)
        return out

    def fit(self, X, Y, X_val=None, Y_val=None, groups=None, validation=None) -> "MultiLabelThresholdClassifier":
        """Fit the per-class models and choose their thresholds.

        Parameters
        ----------
        X : array-like of shape (n_records, n_features)
            Features; NaN allowed when the wrapped classifier accepts it.
        Y : array-like of shape (n_records, n_classes) or (n_records,)
            0/1 per class (a DataFrame names the classes), or one label per record.
        X_val, Y_val : array-like, optional
            Validation data for the thresholds (the models fit on all of ``X``).
        groups : array-like of shape (n_records,), optional
            Patient ids for the inner split (a patient stays on one side).
        validation : array-like of bool of shape (n_records,), optional
            Rows of ``X`` held out for the thresholds (the models fit on the others): a
            validation fold that travels with ``X`` through a ``Pipeline``
            (``pipe.fit(X, Y, multilabelthresholdclassifier__validation=mask)``).

        Without ``X_val`` or ``validation`` an inner split of ``X`` (``val_splits``) is used.

        Returns
        -------
        self
        """
        A = validate_data(self, X, ensure_all_finite="allow-nan", dtype=DTYPES)
        if np.isinf(A).any():        # an infinite feature is as undefined as NaN
            A = np.where(np.isinf(A), np.nan, A)
        T = self._targets(Y, A.shape[0])
        if (X_val is None) != (Y_val is None):
            raise ValueError("give both X_val and Y_val, or neither (then an inner split chooses the thresholds)")
        if X_val is not None and validation is not None:
            raise ValueError("give X_val/Y_val or validation, not both")
        if self.thresholds is not None and (X_val is not None or validation is not None):
            raise ValueError("thresholds are given: fit takes no validation data (X_val, Y_val or validation)")
        every = np.arange(A.shape[0])
        if X_val is not None or self.thresholds is not None:
            fit_rows = every
        else:
            if validation is not None:
                mask = np.asarray(validation)
                if mask.dtype != bool or mask.shape != (A.shape[0],):
                    raise ValueError(f"validation must be a boolean mask with one entry per row of X ({A.shape[0]})")
                fit_rows, val_rows = np.flatnonzero(~mask), np.flatnonzero(mask)
            else:
                fit_rows, val_rows = self._inner_split(T, groups)
        final_rows = every if self.refit and X_val is None else fit_rows
        # a column with no value on the rows the final models fit on carries nothing
        self.columns_ = (~np.isnan(A if final_rows is every else A[final_rows]).all(axis=0) if self.drop_empty
                         else np.ones(A.shape[1], dtype=bool))
        if not self.columns_.any():
            self.columns_[:] = True
        A = np.ascontiguousarray(A[:, self.columns_])
        # all rows (validation data given, or fixed thresholds): no copy of the matrix
        models = self._fit_models(A, T) if fit_rows is every else self._fit_models(A[fit_rows], T[fit_rows])
        if self.thresholds is not None:
            self.estimators_ = models
            self.thresholds_ = self._given_thresholds(T.shape[1])
            self.val_f1_ = np.full(T.shape[1], np.nan)
            return self
        if X_val is not None:
            V = validate_data(self, X_val, ensure_all_finite="allow-nan", dtype=DTYPES, reset=False)
            V = np.ascontiguousarray(np.where(np.isinf(V), np.nan, V)[:, self.columns_])
            TV = self._encode(Y_val, V.shape[0])
        else:
            V, TV = A[val_rows], T[val_rows]
        # thresholds from the models that did not see the validation rows, refit or not
        scores = self._scores(V, models)
        self.estimators_ = self._fit_models(A, T) if final_rows is every and fit_rows is not every else models
        if len(TV):
            self.thresholds_, self.val_f1_ = f1_thresholds(TV, scores, return_f1=True)
        else:
            self.thresholds_ = np.full(T.shape[1], 0.5)
            self.val_f1_ = np.full(T.shape[1], np.nan)
        return self

    def _given_thresholds(self, k: int) -> np.ndarray:
        thr = np.asarray(self.thresholds, dtype=np.float64)
        if thr.ndim > 1 or (thr.ndim == 1 and thr.shape[0] != k):
            raise ValueError(f"thresholds must be one number or one per class ({k}), got shape {thr.shape}")
        return np.array(np.broadcast_to(thr, (k,)))

    def _inner_split(self, T: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
        k = int(self.val_splits)
        if k < 2:
            raise ValueError(f"val_splits must be at least 2, got {self.val_splits!r}")
        if T.shape[0] < k:       # too few records to hold some out: thresholds on the training data
            idx = np.arange(T.shape[0])
            return idx, idx
        # the first split of IterativeStratifiedGroupKFold(k, random_state): fold 0 held out
        folds = assign_folds(T, k, int(self.random_state or 0), groups=groups)
        train, val = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
        if not len(train) or not len(val):
            idx = np.arange(T.shape[0])
            return idx, idx
        return train, val

    # -- prediction -------------------------------------------------------------------------
    def _matrix(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        A = validate_data(self, X, ensure_all_finite="allow-nan", dtype=DTYPES, reset=False)
        return np.ascontiguousarray(np.where(np.isinf(A), np.nan, A)[:, self.columns_])

    def decision_scores(self, X) -> np.ndarray:
        """(n_records, n_classes) positive-class probability of each one-vs-rest model (unnormalised)."""
        return self._scores(self._matrix(X), self.estimators_)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Multi-label ``Y``: (n_records, n_classes), each column the probability of that class.
        1-D binary ``y``: (n_records, 2). 1-D multiclass ``y``: rows normalised to sum to 1.
        """
        P = self.decision_scores(X)
        if self._kind == "binary":
            return np.column_stack([1.0 - P[:, 0], P[:, 0]])
        if self._kind == "multiclass":
            total = P.sum(axis=1, keepdims=True)
            return np.where(total > 0, P / np.where(total > 0, total, 1.0), 1.0 / P.shape[1])
        return P

    def predict(self, X) -> np.ndarray:
        """Labels: (n_records, n_classes) 0/1 from ``probability >= thresholds_`` for a multi-label
        ``Y``; for a 1-D ``y`` the class labels (binary: thresholded; multiclass: most probable)."""
        P = self.decision_scores(X)
        if self._kind == "multilabel":
            return apply_thresholds(P, self.thresholds_).astype(np.int64)
        if self._kind == "binary":
            if len(self.classes_) == 1:
                return np.full(P.shape[0], self.classes_[0])
            return self.classes_[apply_thresholds(P, self.thresholds_)[:, 0].astype(int)]
        return self.classes_[np.argmax(P, axis=1)]

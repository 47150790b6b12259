"""Exact SHAP values of the lr model: coefficients x standardised values.

lr is a Pipeline (models/zoo.py): median imputation, StandardScaler, LogisticRegression. Its log-odds
is f(x) = b + sum_j w_j z_j with z = (impute(x) - mean) / scale, the scaler fitted on the training
records. For a linear model the interventional SHAP value of feature j against a background is
w_j (z_j - E[z_j]) (Lundberg & Lee 2017; what `shap.LinearExplainer` computes); with the training
records as background E[z_j] = 0 (the scaler's own mean), so the attributions are w_j z_j and the
expected value is the intercept b: exact, no sampling, and they add up to the logit (tested against
`shap.LinearExplainer` and `decision_function`). The explained output is the log-odds.
"""

from __future__ import annotations

import numpy as np

from .trees import explainable


def split_pipeline(est):
    """(preprocessing, final estimator) of a zoo Pipeline (impute -> scale -> model)."""
    from sklearn.pipeline import Pipeline

    if not isinstance(est, Pipeline):
        raise ValueError(f"expected the zoo's Pipeline (impute, scale, model), got {type(est).__name__}")
    return Pipeline(est.steps[:-1]), est.steps[-1][1]


class LinearShap:
    """Per class of a OneVsRest of lr pipelines: w_j z_j and the intercept (see the module doc)."""

    def __init__(self, est, classes: list[str]):
        self.classes = list(classes)
        self.estimators, self.skipped = explainable(est, self.classes)
        self.explainers = {}
        for c, e in self.estimators.items():
            pre, lr = split_pipeline(e)
            self.explainers[c] = (pre, np.asarray(lr.coef_, dtype=float).ravel(), float(np.ravel(lr.intercept_)[0]))

    def standardised(self, c: str, X: np.ndarray) -> np.ndarray:
        """The imputed, standardised features z the logistic regression of class c reads."""
        return np.asarray(self.explainers[c][0].transform(X), dtype=float)

    def values(self, c: str, X: np.ndarray) -> tuple[np.ndarray, float]:
        """(n, p) SHAP values of class c's log-odds and its expected value (the intercept)."""
        _, w, b = self.explainers[c]
        return self.standardised(c, X) * w, b

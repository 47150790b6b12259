"""TreeSHAP of the one-vs-rest tree models: one `shap.TreeExplainer` per class's binary estimator.

The explained output is the estimator's raw output: the log-odds margin for xgb, lgbm and gbm
(`OUTPUT`), the positive-class probability for rf (a random forest averages leaf probabilities; it
has no margin). Per record, the SHAP values plus the expected value add up to that output (tested).
Population level: per class, the mean |SHAP| of each feature over the explained records, summed
per lead (record-level `all__` features form the group "all") and per family.
"""

from __future__ import annotations

import numpy as np

from ..vocab import LEADS, RECORD_LEVEL
from .groups import family_of, lead_of, top_check

TREE_MODELS = ("rf", "gbm", "xgb", "lgbm")
OUTPUT = {"xgb": "log-odds (raw margin)", "lgbm": "log-odds (raw margin)", "gbm": "log-odds (raw margin)",
          "rf": "probability (random forests average leaf probabilities; no margin)",
          "lr": "log-odds (the logistic regression's logit)", "mlp": "log-odds (logit of the class probability)"}
TOP_N = 10           # features listed per class in explain.json


def _target(est):
    """What TreeExplainer reads: the LightGBM booster of a loaded lgbm class, else the estimator."""
    if hasattr(est, "booster_") and not hasattr(est, "get_booster"):
        return est.booster_
    return est


def is_constant(est) -> bool:
    from ..models.multilabel import ConstantProba

    return isinstance(est, ConstantProba)


def explainable(est, classes: list[str]) -> tuple[dict, list[str]]:
    """({class: binary estimator} of a fitted OneVsRest's classes that learnt something, [classes
    whose estimator is constant: one value in training, nothing to explain]). Every explainer
    (trees, linear, permutation) starts from this split."""
    estimators, skipped = {}, []
    for j, c in enumerate(classes):
        e = est.estimators_[j]
        if is_constant(e):
            skipped.append(c)
        else:
            estimators[c] = e
    return estimators, skipped


def raw_output(est, X: np.ndarray) -> np.ndarray:
    """The output TreeSHAP explains, per record: margin (xgb, lgbm, gbm) or probability (rf)."""
    if hasattr(est, "get_booster"):
        import xgboost

        return est.get_booster().predict(xgboost.DMatrix(X), output_margin=True)
    if hasattr(est, "booster_"):
        return est.booster_.predict(X, raw_score=True)
    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    return est.predict_proba(X)[:, 1]


class TreeShap:
    """TreeExplainers of every non-constant class of a fitted OneVsRest."""

    def __init__(self, est, classes: list[str]):
        import shap

        self.classes = list(classes)
        self.estimators, self.skipped = explainable(est, self.classes)
        self.explainers = {c: shap.TreeExplainer(_target(e)) for c, e in self.estimators.items()}

    def values(self, c: str, X: np.ndarray) -> tuple[np.ndarray, float]:
        """(n, p) SHAP values of class c's positive output and its expected value."""
        import warnings

        ex = self.explainers[c]
        with warnings.catch_warnings():     # shap's notice that LightGBM binary output became a list: handled below
            warnings.filterwarnings("ignore", message="LightGBM binary classifier")
            v = ex.shap_values(X)
        ev = np.asarray(ex.expected_value, dtype=float).ravel()
        if isinstance(v, list):               # older shap: one array per output
            v = v[-1]
        v = np.asarray(v, dtype=float)
        if v.ndim == 3:                       # (n, p, 2) for sklearn classifiers: the positive class
            v = v[..., -1]
        return v, float(ev[-1])


def summarise(values: np.ndarray, names: list[str]) -> dict:
    """Global importance of one class: mean |SHAP| per feature, summed per lead and per family."""
    imp = np.abs(values).mean(axis=0)
    order = np.argsort(-imp, kind="stable")
    leads = {lead: 0.0 for lead in LEADS + (RECORD_LEVEL,)}
    fams: dict[str, float] = {}
    for name, v in zip(names, imp):
        lead = lead_of(name)
        leads[lead] = leads.get(lead, 0.0) + float(v)
        fam = family_of(name)
        fams[fam] = fams.get(fam, 0.0) + float(v)
    return {"importance": imp, "order": order,
            "top_features": [names[k] for k in order[:TOP_N]],
            "top_importance": [round(float(imp[k]), 5) for k in order[:TOP_N]],
            "lead_importance": {k: round(v, 5) for k, v in leads.items()},
            "family_importance": {k: round(v, 5) for k, v in sorted(fams.items())}}


def explain_population(ts: TreeShap, X: np.ndarray, names: list[str], progress=None) -> dict:
    """Per class: SHAP values of the records X, the summary and the ground-truth check."""
    out = {}
    for c in ts.explainers:
        v, ev = ts.values(c, X)
        s = summarise(v, names)
        s["values"], s["expected_value"] = v, ev
        s["check"] = top_check(c, [names[k] for k in s["order"]], [s["importance"][k] for k in s["order"]])
        out[c] = s
        if progress:
            progress(1)
    return out


def explain_record(ts: TreeShap, x: np.ndarray, names: list[str], predicted: list[str], top: int = 10) -> dict:
    """One record (1, p): per predicted class its SHAP values, expected value and top reasons."""
    from .words import reason

    out = {}
    for c in predicted:
        if c not in ts.explainers:
            continue
        v, ev = ts.values(c, x)
        v = v[0]
        order = np.argsort(-np.abs(v), kind="stable")[:top]
        leads: dict[str, float] = {}
        for name, val in zip(names, np.abs(v)):
            leads[lead_of(name)] = leads.get(lead_of(name), 0.0) + float(val)
        out[c] = {"values": v, "expected_value": ev, "output": float(ev + v.sum()),
                  "reasons": [{"feature": names[k], "value": _num(x[0, k]), "shap": round(float(v[k]), 4),
                               "text": reason(names[k], float(x[0, k]), float(v[k]), c)} for k in order],
                  "lead_mass": {k: round(val, 4) for k, val in leads.items()}}
    return out


def _num(v) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else round(v, 4)

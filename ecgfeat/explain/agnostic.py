"""Model-agnostic SHAP for the mlp: `shap.PermutationExplainer` on the classes' log-odds.

A neural network has no exact tree or linear algorithm, so its attributions are estimated: the
permutation explainer walks one random order of the features forwards and backwards (antithetic),
replacing features by a background record's values, and averages over a small seeded background
sample (`BACKGROUND` training records). The values add up exactly to f(x) - E_background[f] for
every record (the walk telescopes), whatever the sample; the sampling error lies in how the total
is shared between correlated features. The explained output is the log-odds logit(p) of each
class's probability, every class in one pass (the masked inputs are evaluated once for all).

Cost: (2 p + 1) x BACKGROUND rows through every class's network per record (p features); at
p = 760 and 16 background records that is ~24,000 rows, a few seconds per record on one core, so
the explained records are capped (`DEFAULT_N`, `--n` raises it).
"""

from __future__ import annotations

import numpy as np

from .trees import explainable

BACKGROUND = 16    # training records the masked features are drawn from (seeded sample)
DEFAULT_N = 30     # records explained at population level unless --n says otherwise
EPS = 1e-7         # probabilities are clipped to [EPS, 1 - EPS] before the logit


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


class PermutationShap:
    """Per class of a OneVsRest of mlp pipelines: permutation SHAP values of the log-odds, computed
    for every class at once and cached per explained matrix."""

    def __init__(self, est, classes: list[str], background: np.ndarray, seed: int = 0):
        self.classes = list(classes)
        self.estimators, self.skipped = explainable(est, self.classes)
        self.explainers = {c: "permutation" for c in self.estimators}
        self.background = np.asarray(background, dtype=np.float32)
        self.seed = int(seed)
        self._cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    def output(self, X: np.ndarray) -> np.ndarray:
        """(n, k) log-odds of the explained classes (k = len(self.estimators))."""
        X = np.asarray(X, dtype=np.float32)
        return np.column_stack([logit(e.predict_proba(X)[:, 1]) for e in self.estimators.values()])

    def _explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import shap

        key = np.ascontiguousarray(X, dtype=np.float32).tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
        ex = shap.PermutationExplainer(self.output, masker, seed=self.seed)
        res = ex(np.asarray(X, dtype=np.float32), max_evals=2 * X.shape[1] + 1, silent=True)
        values = np.asarray(res.values, dtype=float).reshape(X.shape[0], X.shape[1], -1)   # (n, p, k)
        base = np.asarray(res.base_values, dtype=float).reshape(X.shape[0], -1)            # (n, k)
        self._cache = (key, values, base)
        return values, base

    def values(self, c: str, X: np.ndarray) -> tuple[np.ndarray, float]:
        """(n, p) SHAP values of class c's log-odds and its expected value over the background."""
        values, base = self._explain(X)
        k = list(self.estimators).index(c)
        return values[:, :, k], float(base[0, k])

"""Train / validation / test splits and the cross-validator of the protocols.

The folds themselves come from ``assign_folds`` (:mod:`ecgfeat.models.stratify`, re-exported
here): the dataset's own folds when usable, else seeded iterative stratification with patient
groups. ``splits`` turns folds into the protocols' splits: ``paper`` (one split: test = last fold,
validation = the one before, train = the rest; on PTB-XL: test strat_fold 10, validation 9, train
1-8) and ``cv`` (n_folds splits: test fold k, validation fold (k-1) mod n_folds, train the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import BaseCrossValidator

from ..models.stratify import assign_folds, given_folds_usable

__all__ = ["PROTOCOLS", "IterativeStratifiedGroupKFold", "Split", "assign_folds", "given_folds_usable", "splits"]

PROTOCOLS = ("paper", "cv")


@dataclass(frozen=True)
class Split:
    """One train / validation / test split; index arrays are sorted record positions."""

    test_fold: int
    val_fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def splits(folds, protocol: str, n_folds: int = 10) -> list[Split]:
    """Train / validation / test splits of ``folds`` (values 0..n_folds-1) for a protocol.

    ``paper``: one split, test = fold n_folds-1, validation = fold n_folds-2, train = the rest.
    ``cv``: n_folds splits, split k has test = fold k, validation = fold (k-1) mod n_folds.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown --protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    if n_folds < 3:
        raise ValueError(f"train / validation / test splits need at least 3 folds, got {n_folds}")
    folds = np.asarray(folds)
    if folds.ndim != 1:
        raise ValueError(f"folds must be one fold per record, got shape {folds.shape}")
    if len(folds) and (folds.min() < 0 or folds.max() >= n_folds):
        raise ValueError(f"fold values must be in 0..{n_folds - 1}")
    tests = [n_folds - 1] if protocol == "paper" else list(range(n_folds))
    out = []
    for k in tests:
        v = (k - 1) % n_folds
        out.append(
            Split(
                test_fold=k,
                val_fold=v,
                train=np.flatnonzero((folds != k) & (folds != v)),
                val=np.flatnonzero(folds == v),
                test=np.flatnonzero(folds == k),
            )
        )
    return out


class IterativeStratifiedGroupKFold(BaseCrossValidator):
    """Multi-label, patient-grouped stratified K-fold: the folds of ``ecgfeat train``.

    A scikit-learn cross-validator over :func:`assign_folds`: iterative stratification of a
    multi-label target (Sechidis et al. 2011) in which the records of one group (patient) stay in
    one fold. Split ``k`` tests fold ``k`` and trains on the others. The same ``y``, ``groups``
    and ``random_state`` give the folds ``ecgfeat train`` uses on data without given folds.

    Parameters
    ----------
    n_splits : int, default=10
        Number of folds (at least 2; :meth:`split_validation` needs 3).
    random_state : int, default=0
        Seed of the tie-breaking and unit order (the ``--seed`` of ``ecgfeat train``); ``None``
        means 0: the folds are always deterministic.

    See Also
    --------
    assign_folds : the fold of each record.
    splits : train / validation / test splits of the protocols.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgfeat import IterativeStratifiedGroupKFold
    >>> Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1], [0, 0]] * 2)
    >>> patients = np.repeat(np.arange(6), 2)
    >>> cv = IterativeStratifiedGroupKFold(n_splits=3)
    >>> for train, test in cv.split(np.zeros((12, 1)), Y, groups=patients):
    ...     assert not set(patients[train]) & set(patients[test])
    >>> cv.get_n_splits()
    3
    """

    def __init__(self, n_splits: int = 10, random_state: int | None = 0):
        self.n_splits = n_splits
        self.random_state = random_state

    def _check(self, y):
        if not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 2:
            raise ValueError(f"n_splits must be an integer of at least 2, got {self.n_splits!r}")
        if y is None:
            raise ValueError("IterativeStratifiedGroupKFold needs y (a records x classes 0/1 matrix) to stratify")
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            raise ValueError(f"random_state must be an integer or None, got {self.random_state!r}")

    def folds(self, y, groups=None) -> np.ndarray:
        """Fold 0..n_splits-1 of each record (:func:`assign_folds` with these settings)."""
        self._check(y)
        y = np.asarray(y)
        if y.ndim == 1 and not np.isin(y, (0, 1)).all():   # a class label per record: one-hot
            y = (y[:, None] == np.unique(y)[None, :]).astype(np.int64)
        return assign_folds(y, int(self.n_splits), int(self.random_state or 0), groups=groups)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of splits, ``n_splits``."""
        return int(self.n_splits)

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays: test fold ``k``, train the other folds.

        ``y`` is a (records, classes) 0/1 matrix (or one class label per record); ``groups``
        one id per record (patient): a group never straddles train and test.
        """
        f = self.folds(y, groups)
        if X is not None and len(X) != len(f):
            raise ValueError(f"X has {len(X)} rows, y has {len(f)}")
        for k in range(int(self.n_splits)):
            yield np.flatnonzero(f != k), np.flatnonzero(f == k)

    def split_validation(self, X, y=None, groups=None):
        """Yield ``(train, validation, test)`` index arrays: the ``cv`` protocol of ``ecgfeat train``.

        Split ``k`` tests fold ``k``, validates (chooses thresholds) on fold ``(k - 1) mod
        n_splits`` and trains on the rest, exactly as :func:`splits` with ``protocol="cv"``.
        """
        f = self.folds(y, groups)
        for s in splits(f, "cv", int(self.n_splits)):
            yield s.train, s.val, s.test

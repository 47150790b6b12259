"""Fold assignment: multi-label iterative stratification with patient groups.

``assign_folds`` gives every record a fold 0..n_folds-1:

- the dataset's own folds (``given``, e.g. PTB-XL ``strat_fold`` 1..10) when they are complete and
  have exactly ``n_folds`` distinct values, mapped in sorted order (1..10 -> 0..9);
- otherwise seeded folds from iterative stratification for multi-label data (Sechidis, Tsoumakas &
  Vlahavas 2011, "On the stratification of multi-label data"), made group-aware: all records that
  share a group id (patient) form one unit carrying the sum of their labels, and units are placed
  whole. Rare classes are placed first; each unit goes to the fold that most lacks the class being
  placed, ties broken by the fold lacking the most records, then at random (seeded). Units with no
  positive label are placed last, largest first, to balance fold sizes.

It sits in the models layer because ``MultiLabelThresholdClassifier`` holds out one such fold for
its thresholds; ``ecgfeat.evaluation`` re-exports it with the protocol splits built on it.
"""

from __future__ import annotations

import numpy as np


def _missing(a: np.ndarray) -> np.ndarray:
    """Boolean mask of missing entries (None, NaN, pandas NA) in any array."""
    import pandas as pd

    return np.asarray(pd.isna(a), dtype=bool).reshape(a.shape)


def given_folds_usable(given, n: int | None = None, n_folds: int = 10) -> bool:
    """True when ``given`` is complete, has ``n`` entries and exactly ``n_folds`` distinct values."""
    if given is None:
        return False
    g = np.asarray(given)
    if g.ndim != 1 or (n is not None and len(g) != n) or len(g) == 0:
        return False
    if _missing(g).any():
        return False
    return len(np.unique(g)) == n_folds


def _as_label_matrix(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"y must be a (records, classes) label matrix, got shape {y.shape}")
    return (y > 0).astype(np.int64)


def _units(n: int, groups) -> np.ndarray:
    """Unit id per record: records sharing a group id share a unit; missing ids are their own unit."""
    if groups is None:
        return np.arange(n)
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have one entry per record ({n}), got shape {g.shape}")
    miss = _missing(g)
    unit = np.empty(n, dtype=np.int64)
    if (~miss).any():
        present = g[~miss]
        if present.dtype == object:
            present = present.astype(str)
        _, inv = np.unique(present, return_inverse=True)
        unit[~miss] = inv.ravel()
        start = int(inv.max()) + 1
    else:
        start = 0
    unit[miss] = start + np.arange(int(miss.sum()))
    return unit


def _pick(rng, first: np.ndarray, second: np.ndarray) -> int:
    """Fold with the largest ``first``; ties by largest ``second``; remaining ties at random."""
    cand = np.flatnonzero(first == first.max())
    if len(cand) > 1:
        sec = second[cand]
        cand = cand[sec == sec.max()]
    if len(cand) > 1:
        return int(cand[rng.integers(len(cand))])
    return int(cand[0])


def _stratify(labels: np.ndarray, sizes: np.ndarray, n_folds: int, rng) -> np.ndarray:
    """Iterative stratification of units with label counts ``labels`` (u, c) and ``sizes`` (u,)."""
    n_units, n_classes = labels.shape
    want_total = np.full(n_folds, sizes.sum() / n_folds, dtype=float)
    want_label = np.tile(labels.sum(axis=0) / n_folds, (n_folds, 1)).T.copy()  # (c, folds)
    fold = np.full(n_units, -1, dtype=np.int64)
    # Seeded order inside each pass, larger groups first (stable sort keeps the random order).
    order = rng.permutation(n_units)
    order = order[np.argsort(-sizes[order], kind="stable")]
    remaining = labels.sum(axis=0).astype(float)
    placed_class = np.zeros(n_classes, dtype=bool)
    while True:
        open_ = (~placed_class) & (remaining > 0)
        if not open_.any():
            break
        # Rarest remaining class first (ties: lowest class index, deterministic).
        cls = int(np.flatnonzero(open_)[np.argmin(remaining[open_])])
        placed_class[cls] = True
        todo = order[(labels[order, cls] > 0) & (fold[order] < 0)]
        for u in todo:
            f = _pick(rng, want_label[cls], want_total)
            fold[u] = f
            want_label[:, f] -= labels[u]
            want_total[f] -= sizes[u]
            remaining -= labels[u]
    for u in order[fold[order] < 0]:  # units with no positive label
        f = _pick(rng, want_total, rng.random(n_folds))
        fold[u] = f
        want_total[f] -= sizes[u]
    return fold


def assign_folds(y, n_folds: int = 10, seed: int = 0, groups=None, given=None) -> np.ndarray:
    """Fold 0..n_folds-1 per record: ``given`` folds when usable, else seeded stratified folds.

    ``y`` is a (records, classes) 0/1 matrix (a 1-D vector is one class). ``groups`` (one id per
    record, e.g. patient) keeps each group in one fold; a missing id makes the record its own group.
    ``given`` (e.g. PTB-XL strat_fold) is used as is, mapped in sorted order to 0..n_folds-1, when
    it has no missing values and exactly ``n_folds`` distinct values; otherwise it is ignored (check
    with :func:`given_folds_usable` to report which route was taken). Deterministic given ``seed``.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    labels = _as_label_matrix(y)
    n = labels.shape[0]
    if given_folds_usable(given, n, n_folds):
        g = np.asarray(given)
        if g.dtype.kind in "OUS":  # numeric strings sort as numbers ("10" after "9")
            try:
                g = g.astype(float)
            except (TypeError, ValueError):
                g = g.astype(str)
        _, inv = np.unique(g, return_inverse=True)
        return inv.ravel().astype(np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    unit = _units(n, groups)
    n_units = int(unit.max()) + 1
    unit_labels = np.zeros((n_units, labels.shape[1]), dtype=np.int64)
    np.add.at(unit_labels, unit, labels)
    sizes = np.bincount(unit, minlength=n_units)
    rng = np.random.default_rng(seed)
    unit_fold = _stratify(unit_labels, sizes, n_folds, rng)
    return unit_fold[unit]

"""Multi-label classification metrics with vectorised bootstrap 95% intervals.

Per class: precision, recall, F1 (0 where undefined, as scikit-learn's ``zero_division=0``),
ROC AUC (NaN without positives or without negatives), accuracy (TP + TN) / n and support. Macro =
unweighted mean over classes; macro AUC averages the classes where AUC is defined.

Bootstrap: records are resampled with replacement (``bootstrap_indices``), or, given ``groups``
(one patient id per record), patients are (cluster bootstrap: a drawn patient brings all of his
records, so several records of one patient are not counted as independent evidence); a draw is
held as a count per record, so confusion counts of all draws are one matrix product, and AUC comes from the
Mann-Whitney U with tie correction computed on weighted records: with classes sorted by score,
U = sum over positives of w_i * A_i - P^2 / 2, where A_i is the weight of all records scored below
record i plus half the weight of records tied with it (cumulative sums), and P the positive weight.
That equals scikit-learn's ``roc_auc_score`` on the explicitly resampled records (tested).
Intervals are percentile intervals (2.5, 97.5) over the draws where the metric is defined.
"""

from __future__ import annotations

import warnings

import numpy as np

METRICS = ("precision", "recall", "f1", "auc", "accuracy")
CI = (2.5, 97.5)
_CHUNK_ELEMENTS = 500_000  # records x draws held at once (small chunks stay in cache)


def _as_2d(a, name: str, dtype) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (records, classes), got shape {a.shape}")
    return a.astype(dtype)


def _check(y_true, y_score, y_pred):
    t = (_as_2d(y_true, "y_true", float) > 0).astype(float)
    s = _as_2d(y_score, "y_score", float)
    p = (_as_2d(y_pred, "y_pred", float) > 0).astype(float)
    if not (t.shape == s.shape == p.shape):
        raise ValueError(f"shapes differ: y_true {t.shape}, y_score {s.shape}, y_pred {p.shape}")
    if not np.isfinite(s).all():
        raise ValueError("y_score has non-finite values")
    return t, s, p


def bootstrap_indices(n: int, n_boot: int, seed: int = 0):
    """Yield (draws, n) arrays of resampled record indices, ``n_boot`` draws in all, seeded."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_ELEMENTS // max(n, 1)))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(m, n))
        done += m


def resample_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """(n, draws) float matrix: how often each record appears in each draw of ``idx`` (draws, n)."""
    m = idx.shape[0]
    flat = (idx + (np.arange(m) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=m * n).reshape(m, n).T.astype(float)


def _order(s: np.ndarray, t: np.ndarray):
    """Sorting of one class: (perm, run start, run end of each positive's tie group, positives)."""
    perm = np.argsort(s, kind="stable")
    ss = s[perm]
    new = np.r_[True, ss[1:] != ss[:-1]]
    run = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(s)]
    pos_sorted = np.flatnonzero(t[perm] > 0)
    return perm, starts[run[pos_sorted]], ends[run[pos_sorted]], perm[pos_sorted]


def weighted_auc(w: np.ndarray, order) -> np.ndarray:
    """ROC AUC of one class for each weight column of ``w`` (n, draws); NaN where undefined."""
    perm, gs, ge, pos = order
    cz = np.zeros((w.shape[0] + 1, w.shape[1]))
    np.cumsum(w[perm], axis=0, out=cz[1:])
    below = 0.5 * (cz[gs] + cz[ge])  # weight below each positive + half its tie group
    wp = w[pos]
    p = wp.sum(axis=0)
    neg = cz[-1] - p
    u = np.einsum("ij,ij->j", wp, below) - 0.5 * p * p
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((p > 0) & (neg > 0), u / (p * neg), np.nan)


def _div(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _stats(w, t, s, p, orders) -> dict:
    """Per-draw, per-class metrics (draws, classes) for weights ``w`` (n, draws)."""
    wt = w.T
    tp = wt @ (t * p)
    fp = wt @ ((1 - t) * p)
    fn = wt @ (t * (1 - p))
    total = w.sum(axis=0)[:, None]
    out = {
        "precision": _div(tp, tp + fp),
        "recall": _div(tp, tp + fn),
        "f1": _div(2 * tp, 2 * tp + fp + fn),
        "accuracy": (total - fp - fn) / total,
        "auc": np.stack([weighted_auc(w, o) for o in orders], axis=1),
        "subset_accuracy": (wt @ (t == p).all(axis=1).astype(float)) / total[:, 0],
    }
    return out


def _macro(per: dict) -> dict:
    out = {k: per[k].mean(axis=1) for k in ("precision", "recall", "f1", "accuracy")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["auc"] = np.nanmean(per["auc"], axis=1)
    return out


def _units(groups, n: int):
    """(unit per record, number of units) of ``groups`` (None: every record its own unit)."""
    if groups is None:
        return None, n
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have one entry per record ({n}), got shape {g.shape}")
    _, unit = np.unique(g.astype(str), return_inverse=True)
    unit = unit.ravel()
    return unit, int(unit.max()) + 1 if n else 0


def bootstrap_info(groups, n: int, n_boot: int, seed: int) -> dict:
    """What metrics.json says about its intervals: {"unit": "patient" | "record", "n": units, ...}."""
    _, n_units = _units(groups, n)
    return {"unit": "record" if groups is None else "patient", "n": int(n_units), "n_boot": int(n_boot), "seed": int(seed)}


def _run(t, models, n_boot: int, seed: int, groups=None):
    """Point estimates and bootstrap draws for models [(score, pred), ...] on the same draws.

    With ``groups`` the draws resample groups (patients); each record weighs as often as its group
    was drawn."""
    n = t.shape[0]
    orders = [[_order(s[:, j], t[:, j]) for j in range(t.shape[1])] for s, _ in models]
    ones = np.ones((n, 1))
    points = [_stats(ones, t, s, p, o) for (s, p), o in zip(models, orders)]
    draws = [[] for _ in models]
    unit, n_units = _units(groups, n)
    for idx in bootstrap_indices(n_units, n_boot, seed) if n_boot > 0 else ():
        w = resample_weights(idx, n_units)
        if unit is not None:
            w = w[unit]                      # (records, draws): a record counts as often as its patient
        for i, ((s, p), o) in enumerate(zip(models, orders)):
            draws[i].append(_stats(w, t, s, p, o))
    merged = [{k: np.concatenate([d[k] for d in ds]) for k in ds[0]} if ds else None for ds in draws]
    return points, merged


def _num(x):
    x = float(x)
    return None if np.isnan(x) else x


def _interval(values: np.ndarray):
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return [None, None]
    lo, hi = np.percentile(v, CI)
    return [float(lo), float(hi)]


def classification_metrics(y_true, y_score, y_pred, classes, n_boot: int = 1000, seed: int = 0,
                           groups=None) -> dict:
    """Per-class and macro metrics with bootstrap 95% percentile intervals (JSON-ready, NaN -> None).

    ``y_true`` and ``y_pred`` are 0/1 (records, classes); ``y_score`` the scores for AUC.
    ``n_boot=0`` skips the bootstrap (intervals are [None, None]). ``groups`` (a patient id per
    record): resample patients, not records; ``"bootstrap"`` in the result says which.
    """
    t, s, p = _check(y_true, y_score, y_pred)
    classes = [str(c) for c in classes]
    if len(classes) != t.shape[1]:
        raise ValueError(f"{len(classes)} class names for {t.shape[1]} columns")
    if t.shape[0] == 0:
        raise ValueError("no records to evaluate")
    (point,), (boot,) = _run(t, [(s, p)], n_boot, seed, groups)
    macro = _macro(point)
    boot_macro = _macro(boot) if boot is not None else None

    def ci(arr):
        return _interval(arr) if arr is not None else [None, None]

    per_class = {}
    tp = (t * p).sum(axis=0)
    fp = ((1 - t) * p).sum(axis=0)
    fn = (t * (1 - p)).sum(axis=0)
    for j, c in enumerate(classes):
        entry = {m: _num(point[m][0, j]) for m in METRICS}
        entry["support"] = int(t[:, j].sum())
        entry.update(tp=int(tp[j]), fp=int(fp[j]), fn=int(fn[j]), tn=int(len(t) - tp[j] - fp[j] - fn[j]))
        entry["ci"] = {m: ci(boot[m][:, j] if boot is not None else None) for m in METRICS}
        per_class[c] = entry

    undefined = [c for j, c in enumerate(classes) if np.isnan(point["auc"][0, j])]
    notes = [
        "precision, recall and F1 are 0 where undefined (scikit-learn zero_division=0)",
        f"95% intervals: percentile bootstrap over {'patients' if groups is not None else 'records'} "
        "resampled with replacement; "
        "in each draw macro AUC averages the classes with both positives and negatives",
    ]
    if undefined:
        notes.append(
            f"AUC undefined (no positives or no negatives) for {', '.join(undefined)}; macro AUC is "
            f"the mean over the {len(classes) - len(undefined)} classes where it is defined"
        )
    return {
        "classes": classes,
        "n_records": int(t.shape[0]),
        "macro": {m: _num(macro[m][0]) for m in METRICS},
        "macro_ci": {m: ci(boot_macro[m] if boot_macro is not None else None) for m in METRICS},
        "per_class": per_class,
        "subset_accuracy": _num(point["subset_accuracy"][0]),
        "subset_accuracy_ci": ci(boot["subset_accuracy"] if boot is not None else None),
        "n_boot": int(n_boot),
        "seed": int(seed),
        "ci_level": 0.95,
        "bootstrap": bootstrap_info(groups, t.shape[0], n_boot, seed),
        "notes": notes,
    }


def paired_bootstrap(y_true, score_a, score_b, pred_a, pred_b, n_boot: int = 1000, seed: int = 0,
                     groups=None) -> dict:
    """Macro AUC and macro F1 of model a minus model b, on the same resampled records.

    Returns {"auc": {"diff", "ci", "a", "b", "p_value"}, "f1": {...}, "n_records", "n_boot",
    "seed", "bootstrap"}; ``groups`` (patient ids) resample patients. ``diff`` is the difference on all records, ``ci`` the percentile 95% interval of the
    per-draw differences, ``p_value`` the two-sided bootstrap p-value
    min(1, 2 * min(share of draws with diff <= 0, share with diff >= 0)).
    """
    t, sa, pa = _check(y_true, score_a, pred_a)
    _, sb, pb = _check(y_true, score_b, pred_b)
    if t.shape[0] == 0:
        raise ValueError("no records to compare")
    (pt_a, pt_b), (bt_a, bt_b) = _run(t, [(sa, pa), (sb, pb)], n_boot, seed, groups)
    ma, mb = _macro(pt_a), _macro(pt_b)
    out = {}
    for m in ("auc", "f1"):
        entry = {"diff": _num(ma[m][0] - mb[m][0]), "a": _num(ma[m][0]), "b": _num(mb[m][0])}
        if bt_a is not None:
            d = _macro(bt_a)[m] - _macro(bt_b)[m]
            d = d[~np.isnan(d)]
            entry["ci"] = _interval(d)
            entry["p_value"] = (
                float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()))) if len(d) else None
            )
        else:
            entry["ci"], entry["p_value"] = [None, None], None
        out[m] = entry
    out.update(n_records=int(t.shape[0]), n_boot=int(n_boot), seed=int(seed),
               bootstrap=bootstrap_info(groups, t.shape[0], n_boot, seed))
    return out

"""Evaluation: stratified grouped folds, protocol splits, F1-optimal thresholds, bootstrap metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ecgfeat.evaluation import (
    apply_thresholds,
    assign_folds,
    classification_metrics,
    f1_thresholds,
    given_folds_usable,
    paired_bootstrap,
    splits,
)
from ecgfeat.evaluation.metrics import bootstrap_indices, resample_weights


def multilabel(n: int, seed: int = 0) -> np.ndarray:
    """Correlated multi-label y with prevalences from rare (1%) to common (40%)."""
    rng = np.random.default_rng(seed)
    prev = np.array([0.01, 0.03, 0.08, 0.15, 0.25, 0.4])
    y = (rng.random((n, len(prev))) < prev).astype(int)
    y[:, 1] |= y[:, 0] & (rng.random(n) < 0.5)  # co-occurrence
    y[:, 5] &= 1 - y[:, 4] * (rng.random(n) < 0.3)
    return y


def scored(n: int, c: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, c)) < np.linspace(0.1, 0.5, c)).astype(int)
    s = np.round(np.clip(0.35 * y + 0.75 * rng.random((n, c)), 0, 1), 2)  # rounded: ties
    return y, s, (s >= 0.5).astype(int)


def per_fold_counts(y, folds, n_folds=10):
    return np.array([y[folds == k].sum(axis=0) for k in range(n_folds)])


# --- folds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folds_stratified_and_balanced(seed):
    y = multilabel(2000, seed)
    folds = assign_folds(y, n_folds=10, seed=seed)
    assert folds.dtype.kind == "i" and set(np.unique(folds)) == set(range(10))
    counts = per_fold_counts(y, folds)
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1, counts
    sizes = np.bincount(folds, minlength=10)
    assert sizes.max() - sizes.min() <= 1


def test_folds_grouped():
    rng = np.random.default_rng(3)
    y = multilabel(3000, 3)
    groups = rng.integers(0, 1200, len(y)).astype(str)  # patients with 1..~8 records
    folds = assign_folds(y, seed=0, groups=groups)
    for g in np.unique(groups):
        assert len(np.unique(folds[groups == g])) == 1
    counts = per_fold_counts(y, folds)
    mean = counts.mean(axis=0)
    assert (np.abs(counts - mean) <= 0.1 * mean + 4).all(), counts
    sizes = np.bincount(folds, minlength=10)
    assert sizes.max() - sizes.min() <= 0.05 * len(y)


def test_missing_group_ids_are_their_own_group():
    y = multilabel(200, 4)
    groups = np.array(["p1"] * 5 + [None] * 195, dtype=object)
    folds = assign_folds(y, groups=groups)
    assert len(np.unique(folds[:5])) == 1
    assert len(np.unique(folds[5:])) == 10


def test_folds_deterministic_and_seeded():
    y = multilabel(1000, 5)
    a, b = assign_folds(y, seed=7), assign_folds(y, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, assign_folds(y, seed=8))


def test_unlabelled_records_get_balanced_folds():
    folds = assign_folds(np.zeros((103, 3), dtype=int), n_folds=10, seed=0)
    sizes = np.bincount(folds, minlength=10)
    assert sizes.min() >= 10 and sizes.max() <= 11
    assert len(assign_folds(np.zeros((7, 2)), n_folds=5)) == 7


def test_given_folds_honoured():
    rng = np.random.default_rng(0)
    y = multilabel(500, 0)
    strat = rng.integers(1, 11, len(y))
    strat[:10] = np.arange(1, 11)
    assert given_folds_usable(strat, len(y), 10)
    assert np.array_equal(assign_folds(y, given=strat), strat - 1)
    assert np.array_equal(assign_folds(y, given=strat.astype(float)), strat - 1)
    assert np.array_equal(assign_folds(y, given=list(strat)), strat - 1)
    assert np.array_equal(assign_folds(y, given=strat.astype(str)), strat - 1)  # "10" after "9"
    # Missing values or the wrong number of folds: ignored, seeded stratified folds instead.
    holed = strat.astype(float)
    holed[3] = np.nan
    assert not given_folds_usable(holed, len(y), 10)
    assert np.array_equal(assign_folds(y, given=holed, seed=1), assign_folds(y, seed=1))
    nine = np.where(strat == 10, 9, strat)
    assert not given_folds_usable(nine, len(y), 10)
    assert np.array_equal(assign_folds(y, given=nine), assign_folds(y))


# --- splits ----------------------------------------------------------------------------------


def check_partition(split, n):
    parts = [split.train, split.val, split.test]
    assert sum(len(p) for p in parts) == n
    assert len(np.unique(np.concatenate(parts))) == n


def test_paper_split_layout():
    folds = np.repeat(np.arange(10), 7)
    (s,) = splits(folds, "paper")
    assert (s.test_fold, s.val_fold) == (9, 8)
    assert set(folds[s.test]) == {9} and set(folds[s.val]) == {8}
    assert set(folds[s.train]) == set(range(8))
    check_partition(s, len(folds))


def test_paper_split_on_ptbxl_strat_fold():
    strat = np.tile(np.arange(1, 11), 5)
    (s,) = splits(assign_folds(np.zeros((50, 5)), given=strat), "paper")
    assert set(strat[s.test]) == {10} and set(strat[s.val]) == {9}
    assert set(strat[s.train]) == set(range(1, 9))


def test_cv_split_layout():
    folds = np.random.default_rng(0).integers(0, 10, 300)
    folds[:10] = np.arange(10)
    out = splits(folds, "cv")
    assert [(s.test_fold, s.val_fold) for s in out] == [(k, (k - 1) % 10) for k in range(10)]
    for s in out:
        assert set(folds[s.test]) == {s.test_fold} and set(folds[s.val]) == {s.val_fold}
        assert not set(folds[s.train]) & {s.test_fold, s.val_fold}
        check_partition(s, len(folds))
    tested = np.concatenate([s.test for s in out])
    assert np.array_equal(np.sort(tested), np.arange(len(folds)))  # every record tested once


def test_unknown_protocol():
    with pytest.raises(ValueError, match=r"--protocol.*paper, cv"):
        splits(np.zeros(10, dtype=int), "holdout")


# --- thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "y, s, thr, f1",
    [
        ([1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.3, 0.1], 0.45, 6 / 7),
        ([1, 0, 1, 0], [0.8, 0.8, 0.4, 0.2], 0.3, 0.8),  # tied scores
        ([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6], 0.85, 2 / 3),  # F1 tie: higher threshold
        ([1, 0, 1], [0.9, 0.5, 0.1], -0.1, 0.8),  # all positive is best
    ],
)
def test_f1_thresholds_hand_made(y, s, thr, f1):
    got, got_f1 = f1_thresholds(np.array(y)[:, None], np.array(s)[:, None], return_f1=True)
    assert got[0] == pytest.approx(thr) and got_f1[0] == pytest.approx(f1)
    pred = apply_thresholds(np.array(s)[:, None], got)
    assert f1_score(y, pred[:, 0]) == pytest.approx(f1)


def test_f1_thresholds_degenerate_classes():
    y = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    s = np.array([[0.2, 0.3, 0.9], [0.7, 0.1, 0.1], [0.9, 0.6, 0.8]])
    thr, f1 = f1_thresholds(y, s, return_f1=True)
    assert thr[0] == 0.5 and thr[1] == 0.5 and np.isnan(f1[:2]).all()
    assert thr[2] == pytest.approx(0.45) and f1[2] == 1.0


def test_f1_thresholds_optimal_on_random_data():
    y, s, _ = scored(400, 3, seed=1)
    thr, f1 = f1_thresholds(y, s, return_f1=True)
    pred = apply_thresholds(s, thr)
    for j in range(3):
        assert not np.isin(thr[j], s[:, j])
        assert f1_score(y[:, j], pred[:, j]) == pytest.approx(f1[j], abs=1e-12)
        best = max(f1_score(y[:, j], s[:, j] >= u) for u in np.unique(s[:, j]))
        assert f1[j] == pytest.approx(best, abs=1e-12)


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_equal_sklearn():
    y, s, p = scored(500, 4, seed=2)
    r = classification_metrics(y, s, p, ["A", "B", "C", "D"], n_boot=50)
    for j, c in enumerate("ABCD"):
        m = r["per_class"][c]
        assert m["precision"] == pytest.approx(precision_score(y[:, j], p[:, j], zero_division=0), abs=1e-12)
        assert m["recall"] == pytest.approx(recall_score(y[:, j], p[:, j], zero_division=0), abs=1e-12)
        assert m["f1"] == pytest.approx(f1_score(y[:, j], p[:, j], zero_division=0), abs=1e-12)
        assert m["auc"] == pytest.approx(roc_auc_score(y[:, j], s[:, j]), abs=1e-12)
        assert m["accuracy"] == pytest.approx(accuracy_score(y[:, j], p[:, j]), abs=1e-12)
        assert m["support"] == y[:, j].sum()
    for k in ("precision", "recall", "f1", "auc", "accuracy"):
        assert r["macro"][k] == pytest.approx(np.mean([r["per_class"][c][k] for c in "ABCD"]))
    assert r["macro"]["f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert r["subset_accuracy"] == pytest.approx(accuracy_score(y, p))
    assert r["n_records"] == 500 and r["classes"] == list("ABCD")
    assert (r["n_boot"], r["seed"]) == (50, 0)


def test_metrics_nan_handling_and_json():
    y, s, p = scored(200, 3, seed=3)
    y[:, 1] = 0  # no positives: AUC undefined
    p[:, 2] = 0  # no predicted positives: precision 0
    r = classification_metrics(y, s, p, ["X", "Y", "Z"], n_boot=100)
    json.dumps(r, allow_nan=False)
    assert r["per_class"]["Y"]["auc"] is None and r["per_class"]["Y"]["ci"]["auc"] == [None, None]
    assert r["per_class"]["Y"]["recall"] == 0.0 and r["per_class"]["Z"]["precision"] == 0.0
    aucs = [r["per_class"][c]["auc"] for c in "XZ"]
    assert r["macro"]["auc"] == pytest.approx(np.mean(aucs))
    assert any("Y" in note and "macro AUC" in note for note in r["notes"])
    assert None not in r["macro_ci"]["auc"]


def test_ci_contains_estimate_narrows_and_is_seeded():
    def widths(r):
        return {k: r["macro_ci"][k][1] - r["macro_ci"][k][0] for k in r["macro_ci"]}

    small = classification_metrics(*scored(200, 3, 4), list("abc"), n_boot=1000, seed=1)
    large = classification_metrics(*scored(5000, 3, 4), list("abc"), n_boot=1000, seed=1)
    for r in (small, large):
        for k, (lo, hi) in r["macro_ci"].items():
            assert lo <= r["macro"][k] <= hi
        for c in "abc":
            for k, (lo, hi) in r["per_class"][c]["ci"].items():
                assert lo <= r["per_class"][c][k] <= hi
    ws, wl = widths(small), widths(large)
    assert all(wl[k] < ws[k] for k in ws)
    again = classification_metrics(*scored(200, 3, 4), list("abc"), n_boot=1000, seed=1)
    assert again == small
    other = classification_metrics(*scored(200, 3, 4), list("abc"), n_boot=1000, seed=2)
    assert other["macro_ci"] != small["macro_ci"]


def test_bootstrap_fast_path_equals_sklearn_on_resampled_records():
    y, s, p = scored(150, 3, seed=5)
    y[:4, 0] = 1
    n_boot = 40
    r = classification_metrics(y, s, p, list("abc"), n_boot=n_boot, seed=9)
    draws = np.concatenate(list(bootstrap_indices(len(y), n_boot, seed=9)))
    assert draws.shape == (n_boot, len(y))
    # Explicitly resampled records through scikit-learn, draw by draw.
    ref = {k: np.full((n_boot, 3), np.nan) for k in ("precision", "recall", "f1", "auc", "accuracy")}
    for b, idx in enumerate(draws):
        for j in range(3):
            t, sc, pr = y[idx, j], s[idx, j], p[idx, j]
            ref["precision"][b, j] = precision_score(t, pr, zero_division=0)
            ref["recall"][b, j] = recall_score(t, pr, zero_division=0)
            ref["f1"][b, j] = f1_score(t, pr, zero_division=0)
            ref["accuracy"][b, j] = accuracy_score(t, pr)
            if 0 < t.sum() < len(t):
                ref["auc"][b, j] = roc_auc_score(t, sc)
    for k, v in ref.items():
        for j, c in enumerate("abc"):
            col = v[:, j][~np.isnan(v[:, j])]
            expected = list(np.percentile(col, [2.5, 97.5]))
            assert r["per_class"][c]["ci"][k] == pytest.approx(expected, abs=1e-12)
        macro = np.nanmean(v, axis=1)
        assert r["macro_ci"][k] == pytest.approx(list(np.percentile(macro, [2.5, 97.5])), abs=1e-12)
    # The weighted AUC itself, draw by draw.
    from ecgfeat.evaluation.metrics import _order, weighted_auc

    w = resample_weights(draws[:5], len(y))
    assert np.array_equal(w[:, 2], np.bincount(draws[2], minlength=len(y)))
    for j in range(3):
        fast = weighted_auc(w, _order(s[:, j], y[:, j]))
        slow = [roc_auc_score(y[idx, j], s[idx, j]) for idx in draws[:5]]
        assert fast == pytest.approx(slow, abs=1e-12)


def test_no_bootstrap():
    r = classification_metrics(*scored(100, 2, 6), ["a", "b"], n_boot=0)
    assert r["macro_ci"]["f1"] == [None, None] and r["per_class"]["a"]["ci"]["auc"] == [None, None]


def test_paired_bootstrap():
    y, s, p = scored(400, 3, seed=7)
    same = paired_bootstrap(y, s, s, p, p, n_boot=200, seed=0)
    for k in ("auc", "f1"):
        assert same[k]["diff"] == 0.0 and same[k]["ci"] == [0.0, 0.0]
    rng = np.random.default_rng(0)
    s_b = np.clip(s + rng.normal(0, 0.3, s.shape), 0, 1)
    p_b = (s_b >= 0.5).astype(int)
    r = paired_bootstrap(y, s, s_b, p, p_b, n_boot=500, seed=0)
    ra = classification_metrics(y, s, p, list("abc"), n_boot=0)["macro"]
    rb = classification_metrics(y, s_b, p_b, list("abc"), n_boot=0)["macro"]
    assert r["auc"]["diff"] == pytest.approx(ra["auc"] - rb["auc"])
    assert r["f1"]["diff"] == pytest.approx(ra["f1"] - rb["f1"])
    lo, hi = r["auc"]["ci"]
    assert 0 < lo <= r["auc"]["diff"] <= hi and r["auc"]["p_value"] < 0.05
    json.dumps(r, allow_nan=False)


# --- patients: cluster bootstrap, splits that never share a patient ----------------------------


def test_patient_bootstrap_widens_the_interval_of_duplicated_patients():
    """Each patient's record repeated 4 times: resampling records treats the copies as independent
    evidence (interval about half as wide); resampling patients gives the width of the originals."""
    y, s, p = scored(300, 3, seed=5)
    k, classes = 4, list("abc")
    Y, S, P = np.repeat(y, k, 0), np.repeat(s, k, 0), np.repeat(p, k, 0)
    pid = np.repeat(np.arange(300), k)
    orig = classification_metrics(y, s, p, classes, n_boot=600, seed=1)
    rec = classification_metrics(Y, S, P, classes, n_boot=600, seed=1)
    pat = classification_metrics(Y, S, P, classes, n_boot=600, seed=1, groups=pid)

    def width(m, key="auc"):
        lo, hi = m["macro_ci"][key]
        return hi - lo
    for key in ("auc", "f1"):
        assert width(pat, key) > 1.5 * width(rec, key), key
        assert width(pat, key) == pytest.approx(width(orig, key), rel=0.25), key
    assert pat["macro"] == rec["macro"]                      # point estimates do not change
    assert rec["bootstrap"] == {"unit": "record", "n": 1200, "n_boot": 600, "seed": 1}
    assert pat["bootstrap"] == {"unit": "patient", "n": 300, "n_boot": 600, "seed": 1}
    # paired: the same rule
    s_b = np.repeat(np.clip(s + np.random.default_rng(0).normal(0, 0.3, s.shape), 0, 1), k, 0)
    pr = paired_bootstrap(Y, S, s_b, P, (s_b >= 0.5).astype(int), n_boot=400, seed=0)
    pp = paired_bootstrap(Y, S, s_b, P, (s_b >= 0.5).astype(int), n_boot=400, seed=0, groups=pid)
    assert pp["bootstrap"]["unit"] == "patient" and pr["bootstrap"]["unit"] == "record"
    assert np.diff(pp["auc"]["ci"])[0] > 1.3 * np.diff(pr["auc"]["ci"])[0]


def test_every_split_of_both_protocols_is_disjoint_and_keeps_patients_whole():
    rng = np.random.default_rng(4)
    y = multilabel(900, 4)
    groups = rng.integers(0, 300, len(y))                    # about 3 records per patient
    seeded = assign_folds(y, 10, seed=0, groups=groups)
    given = assign_folds(y, 10, given=np.tile(np.arange(1, 11), 90))
    for folds in (seeded, given):
        for protocol in ("paper", "cv"):
            out = splits(folds, protocol)
            assert len(out) == (1 if protocol == "paper" else 10)
            for s in out:
                tr, va, te = set(s.train), set(s.val), set(s.test)
                assert not tr & va and not tr & te and not va & te
                assert len(tr) and len(va) and len(te) and len(tr | va | te) == len(y)
    for protocol in ("paper", "cv"):
        for s in splits(seeded, protocol):
            g = {k: set(groups[getattr(s, k)]) for k in ("train", "val", "test")}
            assert not g["train"] & g["test"] and not g["train"] & g["val"] and not g["val"] & g["test"]


def test_thresholds_and_fold_assignment_live_in_models_and_evaluation_reexports_them():
    """One implementation each (models/f1.py, models/stratify.py): the classifier in the models layer
    uses them, and the imports of the protocols and of users' scripts keep working."""
    import ecgfeat.evaluation as ev
    from ecgfeat.evaluation import folds, thresholds
    from ecgfeat.models import f1, stratify

    assert ev.f1_thresholds is thresholds.f1_thresholds is f1.f1_thresholds
    assert ev.apply_thresholds is thresholds.apply_thresholds is f1.apply_thresholds
    assert ev.assign_folds is folds.assign_folds is stratify.assign_folds
    assert ev.given_folds_usable is stratify.given_folds_usable

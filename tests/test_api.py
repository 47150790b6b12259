"""The public Python API (ecgfeat/__init__.py): extract_features, readers, ECGFeatures,
MultiLabelThresholdClassifier, IterativeStratifiedGroupKFold, CNNClassifier."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

import ecgfeat
from ecgfeat import (ECGFeatures, IterativeStratifiedGroupKFold, MultiLabelThresholdClassifier,
                     extract_features, feature_names, read_record)
from ecgfeat.evaluation import assign_folds, f1_thresholds, splits
from ecgfeat.features import FeatureSettings
from ecgfeat.features import extract_features as extract_record
from ecgfeat.features import rhythm
from ecgfeat.record import Record
from ecgfeat.synth.assemble import make_record
from ecgfeat.vocab import LEADS

FS = 500


@pytest.fixture(scope="module")
def ecgs():
    """Three 10 s synthetic records with their generating parameters (known ground truth)."""
    out = [make_record([c], FS, 10, np.random.default_rng(i)) for i, c in enumerate(["Normal", "AF", "LBBB"])]
    return np.stack([s for s, _, _ in out]), [p for _, p, _ in out]


# ----------------------------------------------------------------- extract_features

def test_twelve_leads_equal_the_store_extraction_of_the_same_record(ecgs):
    X, _ = ecgs
    df = extract_features(X[0], FS, families=["expert", "rhythm"])
    tables, errors = extract_record(Record("r", X[0].astype(np.float32), float(FS)),
                                    FeatureSettings(families=("expert", "rhythm")))
    want = {**tables["expert"], **tables["rhythm"]}
    assert errors == [] and df.attrs["errors"] == []
    assert list(df.columns) == feature_names(["expert", "rhythm"]) and set(df.columns) == set(want)
    np.testing.assert_array_equal(df.loc[0, list(want)].to_numpy(dtype=float), np.array(list(want.values())))


def test_a_batch_gives_the_rows_of_its_records_and_takes_ids_and_ragged_lists(ecgs):
    X, _ = ecgs
    batch = extract_features(X, FS, families=["rhythm"], ids=["a", "b", "c"])
    assert list(batch.index) == ["a", "b", "c"]
    one = extract_features(X[1], FS, families=["rhythm"])
    pd.testing.assert_series_equal(batch.loc["b"], one.loc[0], check_names=False)
    ragged = extract_features([X[0], X[1][:, :3000]], FS, families=["rhythm"])
    assert ragged.shape == (2, len(rhythm.feature_names()))  # every rhythm column, one row per record
    assert ragged.loc[0, "all__rhythm__rr_mean_ms"] == batch.loc["a", "all__rhythm__rr_mean_ms"]


def test_physiology_matches_the_generating_parameters(ecgs):
    X, params = ecgs
    df = extract_features(X[0], FS, families=["expert", "rhythm"])
    assert abs(df.loc[0, "all__rhythm__rr_mean_ms"] - params[0]["rr_mean_ms"]) < 10
    assert abs(df.loc[0, "all__expert__hr_bpm"] - params[0]["hr_bpm"]) < 3
    assert abs(df.loc[0, "all__expert__qrs_ms"] - params[0]["qrs_ms"]) < 25


def test_one_lead_keeps_its_own_and_lead_free_record_features(ecgs):
    X, params = ecgs
    full = extract_features(X[0], FS, families=["expert", "rhythm", "quality"])
    strip = extract_features(X[0][1], FS, leads=["ii"], families=["expert", "rhythm", "quality"])
    assert {c.split("__")[0] for c in strip.columns} == {"II", "all"}
    assert list(strip.columns) == feature_names(["expert", "rhythm", "quality"], leads=["II"])
    assert abs(strip.loc[0, "all__rhythm__rr_mean_ms"] - params[0]["rr_mean_ms"]) < 10
    assert strip.loc[0, "all__rhythm__rr_mean_ms"] == pytest.approx(full.loc[0, "all__rhythm__rr_mean_ms"], abs=2)
    # the axis needs I and aVF, f-waves V1 and II: not measurable on lead II alone
    assert np.isnan(strip.loc[0, "all__expert__axis_deg"]) and np.isfinite(full.loc[0, "all__expert__axis_deg"])
    assert np.isnan(strip.loc[0, "all__rhythm__fwave_rms_uv"])
    assert np.isfinite(strip.loc[0, "all__expert__hr_bpm"])
    # quality is summarised over the leads given: the 11 absent ones are not "low quality"
    assert strip.loc[0, "all__quality__n_low_leads"] == 0
    assert strip.loc[0, "all__quality__lead_index_mean"] == pytest.approx(strip.loc[0, "II__quality__index"])


def test_a_lead_subset_keeps_the_axis_when_it_has_i_and_avf(ecgs):
    X, params = ecgs
    rows = [LEADS.index(lead) for lead in ("I", "II", "aVF")]
    df = extract_features(X[0][rows], FS, leads="I,II,aVF", families=["expert"])
    full = extract_features(X[0], FS, families=["expert"])
    assert df.loc[0, "all__expert__axis_deg"] == pytest.approx(full.loc[0, "all__expert__axis_deg"], abs=5)
    assert np.isnan(df.loc[0, "all__expert__sokolow_lyon_mv"])


def test_bad_inputs_give_one_line_errors(ecgs):
    X, _ = ecgs
    with pytest.raises(ValueError, match="unknown lead 'V7'"):
        extract_features(X[0][:1], FS, leads=["V7"])
    with pytest.raises(ValueError, match="the signal has 12 lead row"):
        extract_features(X[0], FS, leads=["I", "II"])
    with pytest.raises(ValueError, match="lead II is given twice"):
        extract_features(X[0][:2], FS, leads=["II", "ii"])
    with pytest.raises(ValueError, match="must be"):
        extract_features(np.zeros((2, 2, 2, 2)), FS)
    short = extract_features(X[0][:, :500], FS, families=["rhythm"])       # 1 s: refused, row NaN
    assert short.isna().all(axis=None)
    assert short.attrs["errors"] == [("0", "record", "record 0: record is 1.00 s long, under the 2 s minimum")]
    bad = X[0][:2].copy()
    bad[1, 10] = np.nan
    err = extract_features(bad, FS, leads=["I", "V2"], families=["rhythm"]).attrs["errors"]
    assert err[0][2] == "record 0: NaN/Inf samples in lead(s) V2"


# ----------------------------------------------------------------- readers

def test_read_record_and_open_dataset_read_a_wfdb_folder(tmp_path):
    from ecgfeat.synth import synthesize

    folder = synthesize(tmp_path / "s", n=2, seed=0, seconds=5.0, jobs=1)
    ds = ecgfeat.open_dataset(folder)
    assert [r.record_id for r in ds.refs()] == ["S00001", "S00002"]
    rec = read_record(folder / "S00002.hea")
    assert rec.signal.shape == (12, 2500) and rec.fs == 500.0
    assert read_record(folder / "S00002", fs=250).signal.shape == (12, 1250)
    with pytest.raises(ecgfeat.DatasetError, match="a folder, not a record"):
        read_record(folder)
    with pytest.raises(ecgfeat.DatasetError, match="no such file"):
        read_record(folder / "nope.hea")
    assert ecgfeat.FeatureStore(tmp_path / "store").datasets() == []


# ----------------------------------------------------------------- ECGFeatures

def test_ecgfeatures_takes_3d_or_flattened_2d_and_names_its_columns(ecgs):
    X, _ = ecgs
    fe = ECGFeatures(fs=FS, families=["rhythm"])
    A = fe.fit_transform(X)
    B = clone(fe).fit(X.reshape(3, -1)).transform(X.reshape(3, -1))
    np.testing.assert_array_equal(A, B)
    assert list(fe.get_feature_names_out()) == list(extract_features(X, FS, families=["rhythm"]).columns)
    df = clone(fe).set_output(transform="pandas").fit_transform(X)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(fe.get_feature_names_out())
    np.testing.assert_array_equal(df.to_numpy(), A)
    with pytest.raises(ValueError, match="does not split into 12 leads"):
        ECGFeatures().fit(np.zeros((2, 13)))
    one = ECGFeatures(fs=FS, families=["rhythm"], leads=["II"]).fit_transform(X[:, 1:2])
    assert one.shape == (3, len(rhythm.feature_names()))


def test_ecgfeatures_in_a_pipeline_with_a_classifier_and_a_grid_search(ecgs):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    X, _ = ecgs
    Xb = np.concatenate([X, X[:, :, ::-1]])          # 6 records, 2 classes
    y = np.array([0, 1, 0, 0, 1, 0])
    # rr_sampen is NaN on every record here: MultiLabelThresholdClassifier drops such a column
    # (HistGradientBoosting's binner fails on it)
    clf = MultiLabelThresholdClassifier(HistGradientBoostingClassifier(max_iter=5), val_splits=2)
    pipe = make_pipeline(ECGFeatures(fs=FS, families=["rhythm"]), clf)
    assert set(pipe.fit(Xb, y).predict(Xb)) <= {0, 1}
    assert not pipe[-1].columns_[list(pipe[0].get_feature_names_out()).index("all__rhythm__rr_sampen")]
    assert pipe.get_params()["ecgfeatures__fs"] == FS
    assert clone(pipe).set_params(ecgfeatures__families=["expert"]).get_params()["ecgfeatures__families"] == ["expert"]


# ----------------------------------------------------------------- MultiLabelThresholdClassifier

def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.column_stack([X[:, 0] + 0.5 * rng.normal(size=n) > 1.0, X[:, 1] - X[:, 2] > 0]).astype(int)
    return X, Y


def test_check_estimator_passes_but_for_the_thresholded_predict():
    from sklearn.utils.estimator_checks import check_estimator

    from ecgfeat.models.threshold import EXPECTED_FAILED_CHECKS

    res = check_estimator(MultiLabelThresholdClassifier(LogisticRegression()), on_fail=None,
                          expected_failed_checks=EXPECTED_FAILED_CHECKS)
    status = {r["check_name"]: r["status"] for r in res}
    assert [c for c, s in status.items() if s == "failed"] == []
    assert {c for c, s in status.items() if s == "xfail"} == set(EXPECTED_FAILED_CHECKS)


def test_thresholds_are_the_f1_optimum_on_the_validation_data_given():
    X, Y = _data()
    clf = MultiLabelThresholdClassifier(LogisticRegression()).fit(X[:150], Y[:150], X_val=X[150:200], Y_val=Y[150:200])
    scores = np.column_stack([clone(LogisticRegression()).fit(X[:150], Y[:150, j]).predict_proba(X[150:200])[:, 1]
                              for j in range(2)])
    np.testing.assert_array_equal(clf.thresholds_, f1_thresholds(Y[150:200], scores))
    np.testing.assert_array_equal(clf.decision_scores(X[150:200]), scores)
    np.testing.assert_array_equal(clf.predict(X[200:]), (clf.predict_proba(X[200:]) >= clf.thresholds_).astype(int))
    assert clf.thresholds_[0] != 0.5 and not np.allclose(clf.thresholds_, clf.thresholds_[::-1])
    with pytest.raises(ValueError, match="give both X_val and Y_val"):
        MultiLabelThresholdClassifier(LogisticRegression()).fit(X, Y, X_val=X)


def test_validation_mask_equals_explicit_validation_data_and_drops_empty_columns():
    X, Y = _data()
    X = np.column_stack([X, np.full(len(X), np.nan)])
    X[:150, 3] = np.nan                       # a value only on validation rows: dropped
    mask = np.zeros(200, dtype=bool)
    mask[150:] = True
    a = MultiLabelThresholdClassifier(LogisticRegression()).fit(X[:200], Y[:200], validation=mask)
    X2 = X[:, :3]
    b = MultiLabelThresholdClassifier(LogisticRegression()).fit(X2[:150], Y[:150], X_val=X2[150:200], Y_val=Y[150:200])
    assert list(a.columns_) == [True, True, True, False, False]
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)
    np.testing.assert_array_equal(a.predict_proba(X[200:]), b.predict_proba(X2[200:]))


def test_inner_split_constant_class_and_names_from_a_dataframe():
    X, Y = _data()
    Y = pd.DataFrame(np.column_stack([Y, np.zeros(len(Y), int)]), columns=["AF", "RBBB", "STE"])
    clf = MultiLabelThresholdClassifier(LogisticRegression(), refit=True).fit(pd.DataFrame(X), Y)
    assert list(clf.classes_) == ["AF", "RBBB", "STE"]
    assert clf.thresholds_[2] == 0.5 and np.isnan(clf.val_f1_[2])     # no positive: the 0.5 fallback
    assert (clf.predict(X)[:, 2] == 0).all()
    assert repr(clf.estimators_[2]) == "ConstantProba(0.0)"


def test_fixed_thresholds_fit_on_every_row_and_are_kept_as_given():
    """The cv refit of `ecgfeat train`: thresholds given (the folds' median), models on all of X."""
    X, Y = _data()
    clf = MultiLabelThresholdClassifier(LogisticRegression(), thresholds=[0.3, 0.7]).fit(X, Y)
    np.testing.assert_array_equal(clf.thresholds_, [0.3, 0.7])
    assert np.isnan(clf.val_f1_).all()
    full = [clone(LogisticRegression()).fit(X, Y[:, j]).predict_proba(X)[:, 1] for j in range(2)]
    np.testing.assert_array_equal(clf.decision_scores(X), np.column_stack(full))
    np.testing.assert_array_equal(clf.predict(X), (np.column_stack(full) >= [0.3, 0.7]).astype(int))
    assert list(MultiLabelThresholdClassifier(LogisticRegression(), thresholds=0.4).fit(X, Y).thresholds_) == [0.4, 0.4]
    with pytest.raises(ValueError, match="thresholds are given: fit takes no validation data"):
        MultiLabelThresholdClassifier(LogisticRegression(), thresholds=0.4).fit(X, Y, X_val=X, Y_val=Y)
    with pytest.raises(ValueError, match=r"one number or one per class \(2\), got shape \(3,\)"):
        MultiLabelThresholdClassifier(LogisticRegression(), thresholds=[0.1, 0.2, 0.3]).fit(X, Y)


def test_nested_params_reach_the_wrapped_estimator_in_a_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X, Y = _data()
    grid = GridSearchCV(MultiLabelThresholdClassifier(DecisionTreeClassifier(random_state=0)),
                        {"estimator__max_depth": [1, 3]}, cv=IterativeStratifiedGroupKFold(3), scoring="f1_macro")
    grid.fit(X, Y)
    assert grid.best_params_["estimator__max_depth"] in (1, 3)
    assert grid.best_estimator_.estimators_[0].get_depth() == grid.best_params_["estimator__max_depth"]


# ----------------------------------------------------------------- IterativeStratifiedGroupKFold

def test_folds_are_those_of_train_and_groups_stay_whole():
    from sklearn.model_selection import BaseCrossValidator, cross_val_predict

    X, Y = _data(300, seed=4)
    groups = np.repeat(np.arange(100), 3)
    cv = IterativeStratifiedGroupKFold(n_splits=10, random_state=3)
    assert isinstance(cv, BaseCrossValidator) and cv.get_n_splits() == 10
    folds = assign_folds(Y, 10, 3, groups=groups)
    np.testing.assert_array_equal(cv.folds(Y, groups), folds)
    for k, (train, test) in enumerate(cv.split(X, Y, groups)):
        np.testing.assert_array_equal(test, np.flatnonzero(folds == k))
        assert not set(groups[train]) & set(groups[test])
    for (tr, va, te), s in zip(cv.split_validation(X, Y, groups), splits(folds, "cv", 10)):
        for a, b in ((tr, s.train), (va, s.val), (te, s.test)):
            np.testing.assert_array_equal(a, b)
    P = cross_val_predict(MultiLabelThresholdClassifier(LogisticRegression()), X, Y, groups=groups, cv=cv)
    assert P.shape == Y.shape
    with pytest.raises(ValueError, match="needs y"):
        next(cv.split(X))


# ----------------------------------------------------------------- CNNClassifier, import cost

def test_cnn_classifier_clones_and_import_ecgfeat_stays_light():
    from ecgfeat.deep.presets import CNNSettings

    cnn = ecgfeat.CNNClassifier(CNNSettings(epochs=3), leads=("I", "II"), seed=2)
    twin = clone(cnn).set_params(epochs=1, seed=5)
    assert twin.get_params()["settings"] == CNNSettings(epochs=3) and twin.seed == 5 and cnn.seed == 2
    code = "import sys, ecgfeat; print(sorted(m for m in ('torch', 'sklearn', 'pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ecgfeat.nope   # noqa: B018


# ----------------------------------------------------------------- the protocol, composed

@pytest.mark.slow
def test_ecgfeatures_and_threshold_classifier_reproduce_train_cv_predictions(tmp_path):
    """`ecgfeat train --model xgb --protocol cv` = ECGFeatures on the raw signals, then per split of
    IterativeStratifiedGroupKFold.split_validation a MultiLabelThresholdClassifier of the zoo's xgb
    fitted on the train folds with the validation fold for its thresholds."""
    from sklearn.pipeline import make_pipeline

    from ecgfeat.extraction import run_extract
    from ecgfeat.models import make_binary
    from ecgfeat.synth import synthesize
    from ecgfeat.training import TrainConfig, train

    data = synthesize(tmp_path / "syn", n=60, seed=7, seconds=5.0, jobs=1)
    run_extract(data, tmp_path / "store", FeatureSettings(families=("expert", "rhythm")), jobs=1)
    params = {"n_estimators": 20}
    res = train(TrainConfig(model="xgb", dataset="syn", store=str(tmp_path / "store"), protocol="cv",
                            params=params, n_boot=10, jobs=1), tmp_path / "models")
    pred = pd.read_parquet(f"{res['model_dir']}/predictions.parquet")
    classes = res["metrics"]["classes"]
    Y = pred[[f"y_true__{c}" for c in classes]].to_numpy()

    records = {ref.record_id: rec.signal for ref, rec in ecgfeat.open_dataset(data).iter_records()}
    signals = np.stack([records[r] for r in pred["record_id"]])                 # (60, 12, 2500) mV
    F = ECGFeatures(fs=FS, families=["expert", "rhythm"]).set_output(transform="pandas").fit_transform(signals)
    stored = ecgfeat.FeatureStore(tmp_path / "store").read("syn", families=["expert", "rhythm"]).X
    assert set(F.columns) == set(stored.columns)
    F = F[list(stored.columns)]        # the store's column order (xgb's column sampling follows it)
    np.testing.assert_array_equal(F.to_numpy(np.float32), stored.loc[pred["record_id"]].to_numpy())

    cv = IterativeStratifiedGroupKFold(n_splits=10, random_state=0)
    scores = np.full(Y.shape, np.nan)
    for train_idx, val_idx, test_idx in cv.split_validation(F, Y, groups=pred["record_id"].to_numpy()):
        rows = np.concatenate([train_idx, val_idx])
        clf = MultiLabelThresholdClassifier(make_binary("xgb", params, seed=0, n_jobs=1))
        clf.fit(F.iloc[rows], Y[rows], validation=np.isin(rows, val_idx))
        scores[test_idx] = clf.predict_proba(F.iloc[test_idx])
        want = pred.iloc[test_idx][[f"y_pred__{c}" for c in classes]].to_numpy(dtype=int)
        np.testing.assert_array_equal(clf.predict(F.iloc[test_idx]), want)
    np.testing.assert_array_equal(scores, pred[[f"y_score__{c}" for c in classes]].to_numpy())

    # the same split as one pipeline on raw signals equals the two steps (in ECGFeatures' column order)
    train_idx, val_idx, test_idx = next(cv.split_validation(F, Y, groups=pred["record_id"].to_numpy()))
    rows = np.concatenate([train_idx, val_idx])
    pipe = make_pipeline(ECGFeatures(fs=FS, families=["expert", "rhythm"]),
                         MultiLabelThresholdClassifier(make_binary("xgb", params, seed=0, n_jobs=1)))
    pipe.fit(signals[rows], Y[rows], multilabelthresholdclassifier__validation=np.isin(rows, val_idx))
    G = pipe[0].transform(signals)
    two = clone(pipe[-1]).fit(G[rows], Y[rows], validation=np.isin(rows, val_idx))
    np.testing.assert_array_equal(pipe.predict_proba(signals[test_idx]), two.predict_proba(G[test_idx]))

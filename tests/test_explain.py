"""`ecgfeat explain`: TreeSHAP and DeepSHAP, population and patient level, against the synthetic ground truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.explain.groups import EXPECTED_FEATURES, expected, top_check
from ecgfeat.synth import read_params, synthesize

runner = CliRunner()
OTHERS = ("AF", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE")


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """270 synthetic records (30 per class: 900 took over a minute to synthesise and extract, too
    long for this file; the README's figure is on the embedded 1,800), expert + rhythm features,
    xgb (100 trees) and lgbm (60 trees) under the paper protocol, in one workspace."""
    from ecgfeat.extraction import run_extract
    from ecgfeat.features import FeatureSettings
    from ecgfeat.training import TrainConfig, train

    root = tmp_path_factory.mktemp("explain")
    data = synthesize(root / "syn270", n=270, seed=11, jobs=2)
    run_extract(data, root / "store", FeatureSettings(families=("expert", "rhythm")), jobs=2)
    dirs = {}
    for model, params in (("xgb", {"n_estimators": 100}), ("lgbm", {"n_estimators": 60})):
        cfg = TrainConfig(model=model, dataset="syn270", store=str(root / "store"), n_boot=50, jobs=2, params=params)
        dirs[model] = Path(train(cfg, root / "models")["model_dir"])
    return root, data, dirs


def _json(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_xgb_explanations_point_at_the_generating_mechanisms(trees):
    root, data, dirs = trees
    params = read_params(data)
    rid = next(r for r, p in params.iterrows() if p["labels"] == ["I-AVB"])
    out = _json(runner.invoke(app, ["--workspace", str(root), "explain", "--model", dirs["xgb"].name,
                                    "--record", rid, "--jobs", "2", "--json"]))
    assert out["n_checked"] == 8 and out["hits"] >= 7, out["ground_truth"]       # Normal: not checked
    assert "Normal" not in out["ground_truth"]
    path = Path(out["explain_json"])
    assert path == root / "reports" / "explain" / dirs["xgb"].name / "explain.json"
    doc = json.loads(path.read_text())
    assert {"model", "method", "per_class", "ground_truth", "hits"} <= set(doc)
    assert doc["method"] == "shap.TreeExplainer" and doc["output"].startswith("log-odds")
    assert doc["ground_truth"] == out["ground_truth"] and sum(doc["ground_truth"].values()) == doc["hits"]
    for pc in doc["per_class"].values():
        assert len(pc["top_features"]) == 10 and set(pc["lead_importance"]) == set(doc["leads"]) | {"all"}
        assert set(pc["family_importance"]) == {"expert", "rhythm"}
    assert doc["per_class"]["I-AVB"]["top_features"][0] == "all__expert__pr_ms"
    assert max(doc["per_class"]["STE"]["lead_importance"], key=doc["per_class"]["STE"]["lead_importance"].get) != "all"
    # patient level: the I-AVB record is predicted I-AVB for its PR, said in words
    rec = doc["records"][rid]
    assert "I-AVB" in rec["predicted"]
    first = rec["classes"]["I-AVB"]["reasons"][0]
    assert first["feature"] == "all__expert__pr_ms" and first["shap"] > 0
    assert re.fullmatch(r"PR \d+ ms \(\+\d+\.\d\d towards I-AVB\)", first["text"]), first["text"]
    assert abs(first["value"] - params.loc[rid, "pr_ms"]) < 40          # the measured PR is the generated one
    folder = path.parent
    names = {p.name for p in folder.glob("*.png")}
    assert {"lead_class_heatmap.png", "family_class_heatmap.png", f"record_{rid}_I-AVB_waterfall.png",
            f"record_{rid}_I-AVB_ecg.png"} <= names
    assert len([n for n in names if n.startswith("beeswarm_")]) == 9


@pytest.mark.parametrize("model", ["xgb", "lgbm"])
def test_tree_shap_values_add_up_to_the_margin(trees, model):
    from ecgfeat.explain.run import load_features
    from ecgfeat.explain.trees import TreeShap, raw_output
    from ecgfeat.predict import load_model

    _, _, dirs = trees
    config, est = load_model(dirs[model])
    X = load_features(dirs[model], config).iloc[:60].to_numpy(np.float32)
    assert np.isnan(X).any()                                      # missing values take the trees' default paths
    ts = TreeShap(est, config["classes"])
    proba = est.predict_proba(X)
    for j, c in enumerate(config["classes"]):
        values, base = ts.values(c, X)
        margin = raw_output(est.estimators_[j], X)
        np.testing.assert_allclose(values.sum(axis=1) + base, margin, atol=1e-4, err_msg=f"{model} {c}")
        np.testing.assert_allclose(1 / (1 + np.exp(-margin)), proba[:, j], atol=1e-5)   # the margin of the model's output


def test_compare_report_shows_the_hit_table(trees):
    from ecgfeat.report import compare_models

    root, _, dirs = trees
    if not (root / "reports" / "explain" / dirs["xgb"].name / "explain.json").exists():
        _json(runner.invoke(app, ["--workspace", str(root), "explain", "--model", dirs["xgb"].name, "--n", "40", "--json"]))
    res = compare_models(root / "models", root / "reports", n_boot=50)
    md = Path(res["md"]).read_text()
    assert "## Explanations" in md and "Explanations against the synthetic ground truth" in md
    row = next(line for line in md.splitlines() if line.startswith(f"| {dirs['xgb'].name} | shap.TreeExplainer"))
    assert row.count("✓") >= 7 and "%" in row
    assert 'id="explain"' in Path(res["html"]).read_text()
    assert res["report"]["explanations"][0]["model"] == dirs["xgb"].name


def test_cli_errors_are_one_line(trees, tmp_path):
    root, _, dirs = trees
    base = ["--workspace", str(root), "explain"]
    res = runner.invoke(app, base + ["--model", dirs["xgb"].name, "--record", "NOPE"])
    assert res.exit_code == 1 and "--record NOPE: not a record of" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, base + ["--model", "no-such-model"])
    assert res.exit_code == 1 and "--model no-such-model: no model folder" in res.output
    odd = tmp_path / "svm-model"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model": "svm", "name": "svm-model"}))
    res = runner.invoke(app, base + ["--model", str(odd)])
    assert res.exit_code == 1 and "names model 'svm', which explain does not know; it explains rf, gbm, xgb, lgbm, lr, mlp, cnn" in res.output
    res = runner.invoke(app, base + ["--model", dirs["xgb"].name, "--n", "0"])
    assert res.exit_code == 1 and "--n 0" in res.output
    res = runner.invoke(app, base + ["--help"])
    assert res.exit_code == 0 and "ecgfeat explain --model xgb-synthetic-cpsc9-paper-all --record" in res.output


# -- lr (exact) and mlp (permutation) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def linear(trees):
    """lr and mlp (the zoo's default presets) on the same 270 records and store as the tree models."""
    from ecgfeat.training import TrainConfig, train

    root, data, _ = trees
    dirs = {}
    for model in ("lr", "mlp"):
        cfg = TrainConfig(model=model, dataset="syn270", store=str(root / "store"), n_boot=50, jobs=2)
        dirs[model] = Path(train(cfg, root / "models")["model_dir"])
    return root, data, dirs


def test_lr_attributions_are_exact_and_add_up_to_the_logit(linear):
    import shap

    from ecgfeat.explain.linear import LinearShap
    from ecgfeat.explain.run import load_features
    from ecgfeat.predict import load_model

    _, _, dirs = linear
    config, est = load_model(dirs["lr"])
    X = load_features(dirs["lr"], config).to_numpy(np.float32)
    assert np.isnan(X).any()                                      # imputed inside the pipeline, as in predict
    ls = LinearShap(est, config["classes"])
    proba = est.predict_proba(X[:60])
    for j, c in enumerate(config["classes"]):
        values, base = ls.values(c, X[:60])
        logit = est.estimators_[j].decision_function(X[:60])
        np.testing.assert_allclose(values.sum(axis=1) + base, logit, atol=1e-5, err_msg=c)    # float32 inputs
        np.testing.assert_allclose(1 / (1 + np.exp(-logit)), proba[:, j], atol=1e-6)
        # the same as shap.LinearExplainer against the training distribution, whose standardised mean
        # is 0 by construction (the scaler's mean), and the expected value is the intercept
        Z, p = ls.standardised(c, X[:60]), X.shape[1]
        ref = shap.LinearExplainer(est.estimators_[j].steps[-1][1], (np.zeros(p), np.eye(p)))
        np.testing.assert_allclose(ref.shap_values(Z), values, atol=1e-9, err_msg=c)
        assert float(np.ravel(ref.expected_value)[0]) == pytest.approx(base)


def test_lr_and_mlp_explanations_point_at_the_generating_mechanisms(linear):
    root, data, dirs = linear
    params = read_params(data)
    rid = next(r for r, p in params.iterrows() if p["labels"] == ["I-AVB"])
    for model, method in (("lr", "exact linear SHAP"), ("mlp", "shap.PermutationExplainer")):
        out = _json(runner.invoke(app, ["--workspace", str(root), "explain", "--model", dirs[model].name, "--record", rid,
                                        "--n", "30" if model == "mlp" else "200", "--jobs", "2", "--json"]))
        doc = json.loads(Path(out["explain_json"]).read_text())
        assert doc["method"].startswith(method) and doc["output"].startswith("log-odds"), doc["method"]
        assert out["n_checked"] == 8
        if model == "lr":          # as for the trees: 7 of 8, and PR first for I-AVB
            assert out["hits"] >= 7, out["ground_truth"]
            assert doc["per_class"]["I-AVB"]["top_features"][0] == "all__expert__pr_ms"
        else:
            # measured 4/8 in two runs on these 27 test records (3 per class): the mlp model itself is
            # weaker here (test AUC I-AVB 0.83-0.85, PAC 0.51-0.74; xgb ~1.0), and a permutation
            # importance of its PR agrees that it barely uses it; the explainer is checked on a model
            # that does use one feature below (test_mlp_explainer_finds_the_feature_the_model_uses)
            assert out["hits"] >= 3, out["ground_truth"]
            assert "all__expert__pr_ms" in doc["per_class"]["I-AVB"]["top_features"][:3]
        rec = doc["records"][rid]["classes"]["I-AVB"]
        assert rec["reasons"][0]["feature"] == "all__expert__pr_ms" and rec["reasons"][0]["shap"] > 0, model
        # the record's attributions add up to its log-odds (exactly for lr; for the permutation walk too)
        assert rec["output"] == pytest.approx(float(np.log(doc["records"][rid]["probabilities"]["I-AVB"]
                                                            / (1 - doc["records"][rid]["probabilities"]["I-AVB"]))), abs=2e-3)
        assert doc["clinical_scheme"] == "cpsc9" and set(doc["clinical"]) == set(doc["ground_truth"])   # Normal: neither
        if model == "lr":
            assert doc["clinical"]["I-AVB"] is True


def test_mlp_permutation_values_add_up_and_are_seeded(linear):
    from ecgfeat.explain.agnostic import PermutationShap, logit
    from ecgfeat.explain.run import load_features
    from ecgfeat.predict import load_model

    _, _, dirs = linear
    config, est = load_model(dirs["mlp"])
    X = load_features(dirs["mlp"], config).to_numpy(np.float32)
    bg, x = X[:8], X[100:104]
    a, b = PermutationShap(est, config["classes"], bg, seed=3), PermutationShap(est, config["classes"], bg, seed=3)
    for j, c in enumerate(config["classes"]):
        v, base = a.values(c, x)
        np.testing.assert_allclose(v.sum(axis=1) + base, logit(est.predict_proba(x)[:, j]), atol=1e-4, err_msg=c)
        assert base == pytest.approx(float(logit(est.predict_proba(bg)[:, j]).mean()), abs=1e-6)
        np.testing.assert_array_equal(v, b.values(c, x)[0])          # same seed, same values


def test_mlp_explainer_finds_the_feature_the_model_uses(linear):
    """A mlp that learnt a label defined by one feature (PR > 200 ms, PR < 150 ms; training AUC 1.0):
    permutation SHAP must put that feature first, well ahead of the runner-up (measured x1.4 and
    x2.3; an over-parameterised net also leans on other features, so not all of the attribution)."""
    import pandas as pd

    from ecgfeat.explain.agnostic import PermutationShap
    from ecgfeat.explain.run import load_features
    from ecgfeat.models.multilabel import OneVsRest
    from ecgfeat.predict import load_model

    _, _, dirs = linear
    config, _ = load_model(dirs["mlp"])
    X = load_features(dirs["mlp"], config)
    pr = X["all__expert__pr_ms"]
    Y = pd.DataFrame({"long_pr": (pr > 200).astype(int), "short_pr": (pr < 150).astype(int)})
    assert 30 < Y["long_pr"].sum() < len(Y) - 30
    ovr = OneVsRest("mlp", params={"alpha": 1e-4, "hidden_layer_sizes": (32,), "early_stopping": False, "max_iter": 500},
                    seed=0).fit(X, Y)
    A = X.to_numpy(np.float32)
    from sklearn.metrics import roc_auc_score
    assert min(roc_auc_score(Y[c], p) for c, p in zip(Y, ovr.predict_proba(A).T)) > 0.99    # it did learn the rule
    ps = PermutationShap(ovr, ["long_pr", "short_pr"], A[::17][:16], seed=0)
    for c in ("long_pr", "short_pr"):
        v, _ = ps.values(c, A[1::9][:24])
        imp = np.abs(v).mean(axis=0)
        order = np.argsort(-imp)
        assert X.columns[order[0]] == "all__expert__pr_ms", (c, list(X.columns[order[:3]]))
        assert imp[order[0]] > 1.25 * imp[order[1]], (c, imp[order[:3]])


# -- the mechanism table ----------------------------------------------------------------------------

def test_expected_groups_name_real_features_and_the_check_weighs_the_top_three():
    from ecgfeat.features import expert, rhythm
    from ecgfeat.features.tsfresh_fast import FAST_SET, feature_names
    from ecgfeat.vocab import LEADS

    names = expert.feature_names() + rhythm.feature_names()
    names += [f"{lead}__tsfresh__{n}" for lead in LEADS for n in feature_names(FAST_SET)]
    for c, patterns in EXPECTED_FEATURES.items():
        for p in patterns:
            assert any(re.search(p, n) for n in names), (c, p)    # no pattern names a missing feature
        assert not any(expected(c, n) for n in names if "__tsfresh__" in n), c  # generic statistics never count
    assert [n for n in names if expected("I-AVB", n)] == ["all__expert__pr_ms"]
    assert expected("LBBB", "II__expert__q_amp_mv") and not expected("LBBB", "V1__expert__st60_mv")
    assert expected("STE", "aVR__expert__st60_mv") and not expected("Normal", "all__rhythm__rr_cv")
    assert top_check("I-AVB", ["all__expert__pr_ms", "V1__tsfresh__c3__lag_1", "all__rhythm__rr_cv"], [4.6, 0.2, 0.18])["hit"]
    miss = top_check("I-AVB", ["V1__tsfresh__c3__lag_1", "all__expert__pr_ms", "all__rhythm__rr_cv"], [1.0, 0.5, 0.5])
    assert not miss["hit"] and miss["share"] == 0.25 and miss["matched"] == [False, True, False]


def test_agreement_is_the_spearman_rank_correlation_of_lead_importance(tmp_path):
    from ecgfeat.explain.run import update_agreement
    from ecgfeat.report.explanations import explanation_tables, gather_explanations
    from ecgfeat.vocab import LEADS

    up = {lead: float(k) for k, lead in enumerate(LEADS)}
    down = {lead: float(-k) for k, lead in enumerate(LEADS)}
    base = {"dataset": "syn", "labels": "cpsc9", "classes": ["AF", "STE"]}
    docs = {"xgb-syn": {**base, "model": "xgb-syn", "estimator": "xgb",
                        "per_class": {"AF": {"lead_importance": {**up, "all": 9.0}}, "STE": {"lead_importance": up}}},
            "cnn-syn": {**base, "model": "cnn-syn", "estimator": "cnn",
                        "per_class": {"AF": {"lead_importance": up}, "STE": {"lead_importance": down}}},
            "lgbm-other": {**base, "dataset": "other", "model": "lgbm-other", "estimator": "lgbm", "per_class": {}}}
    for name, doc in docs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "explain.json").write_text(json.dumps(doc))
    got = update_agreement(tmp_path / "cnn-syn" / "explain.json")
    assert list(got) == ["xgb-syn"]                                     # another dataset is not compared
    assert got["xgb-syn"]["per_class"] == {"AF": 1.0, "STE": -1.0} and got["xgb-syn"]["mean"] == 0.0
    tree = json.loads((tmp_path / "xgb-syn" / "explain.json").read_text())
    assert tree["agreement"]["cnn-syn"]["per_class"]["STE"] == -1.0    # both files carry it
    tables = explanation_tables(gather_explanations(tmp_path))
    assert tables[-1].rows[0][2].text == "+1.00" and tables[-1].rows[0][-1].text == "+0.00"


# -- DeepSHAP ---------------------------------------------------------------------------------------

# -- ground-truth hits that are not easy by construction -------------------------------------------

def test_normal_is_not_a_free_hit_and_the_cnn_needs_a_stated_margin():
    from ecgfeat.explain.groups import CNN_MIN_RATIO, NOT_CHECKED
    from ecgfeat.explain.regions import region_hit

    # Normal matched any expert or rhythm feature: left out of the count, with the reason
    assert top_check("Normal", ["all__rhythm__rr_cv", "II__expert__qrs_ms", "all__expert__pr_ms"], [1, 1, 1]) is None
    assert not expected("Normal", "all__rhythm__rr_cv") and "Normal" in NOT_CHECKED
    # the cnn: x1.09 the rest is not a hit; the margin is stated and the ratio is reported
    dens = {"PR": 1.09, "not_PR": 1.0, "QRS": 1.0, "ST": 1.0, "TQ": 0.9}
    weak = region_hit("I-AVB", dens)
    assert CNN_MIN_RATIO >= 1.2 and weak["ratio"] == 1.09 and not weak["hit"] and weak["min_ratio"] == CNN_MIN_RATIO
    assert region_hit("I-AVB", {**dens, "PR": 1.6})["hit"]


def test_rerun_keeps_earlier_patient_figures(trees):
    root, data, dirs = trees
    ids = sorted(read_params(data).index.astype(str))[:2]
    base = ["--workspace", str(root), "explain", "--model", dirs["xgb"].name, "--n", "20", "--jobs", "2", "--json"]
    _json(runner.invoke(app, base + ["--record", ids[0]]))
    out = _json(runner.invoke(app, base + ["--record", ids[1]]))
    folder = Path(out["explain_json"]).parent
    doc = json.loads(Path(out["explain_json"]).read_text())
    assert set(doc["records"]) >= set(ids) and doc["records"][ids[0]].get("earlier_run")
    for rid in ids:
        assert list(folder.glob(f"record_{rid}_*_waterfall.png")), rid
        assert any(f.startswith(f"record_{rid}_") for f in doc["figures"]), rid
    assert doc["in_sample"] is False


def test_a_cv_model_is_explained_as_in_sample():
    """A cv folder holds the refit on every labelled record: its explained records were trained on."""
    from ecgfeat.explain.run import in_sample_note

    assert in_sample_note({"protocol": "cv"})["in_sample"] is True
    assert "in-sample" in in_sample_note({"protocol": "cv"})["in_sample_note"]
    assert in_sample_note({"protocol": "paper"}) == {"in_sample": False}

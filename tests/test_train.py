"""`ecgfeat train` and `ecgfeat predict`: protocols, metrics, saved models, leakage, lead subsets."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.extraction import run_extract
from ecgfeat.features import FeatureSettings
from ecgfeat.synth import synthesize
from ecgfeat.training import TrainConfig, load_matrix, run_protocol, train
from ecgfeat.vocab import CPSC9

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """360 synthetic records (40 per class), extracted once (expert + rhythm: quick to fit)."""
    root = tmp_path_factory.mktemp("train")
    data = synthesize(root / "syn360", n=360, seed=11, jobs=2)
    run_extract(data, root / "store", FeatureSettings(families=("expert", "rhythm")), jobs=2)
    return root


def cfg(store, **kw) -> TrainConfig:
    base = dict(model="xgb", dataset="syn360", store=str(store / "store"), n_boot=200, jobs=2,
                params={"n_estimators": 60})
    base.update(kw)
    return TrainConfig(**base)


def test_paper_protocol_saves_a_complete_model_folder(store):
    res = train(cfg(store), store / "models")
    folder = store / "models" / "xgb-syn360-cpsc9-paper-all"
    assert res["model_dir"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metrics.json", "model", "predictions.parquet", "thresholds.json"]
    m = json.loads((folder / "metrics.json").read_text())
    assert {k: m[k] for k in ("model", "dataset", "labels", "protocol", "leads")} == \
        {"model": "xgb-syn360-cpsc9-paper-all", "dataset": "syn360", "labels": "cpsc9", "protocol": "paper", "leads": list(__import__("ecgfeat.vocab").vocab.LEADS)}
    assert m["classes"] == list(CPSC9) and 30 <= m["n_records"] <= 42      # the test fold: 1 of 10
    assert set(m["macro"]) == {"precision", "recall", "f1", "auc", "accuracy"}
    assert all(lo <= m["macro"][k] <= hi for k, (lo, hi) in m["macro_ci"].items())
    assert m["macro"]["auc"] > 0.9 and m["macro"]["f1"] > 0.75
    cfg_doc = json.loads((folder / "config.json").read_text())
    assert {"model", "params", "protocol", "seed", "labels", "leads", "families", "store_fingerprint", "libraries",
            "thresholds", "feature_names", "estimators", "command"} <= set(cfg_doc)
    assert cfg_doc["families"] == ["expert", "rhythm"] and cfg_doc["libraries"]["xgboost"]
    pred = pd.read_parquet(folder / "predictions.parquet")
    assert len(pred) == 360 and pred["tested"].sum() == m["n_records"]
    assert {"record_id", "fold", "y_true__AF", "y_score__AF", "y_pred__AF"} <= set(pred.columns)
    # the metrics are those of the saved predictions
    t = pred[pred["tested"]]
    from sklearn.metrics import f1_score, roc_auc_score
    assert m["per_class"]["AF"]["f1"] == pytest.approx(f1_score(t["y_true__AF"], t["y_pred__AF"]))
    assert m["per_class"]["AF"]["auc"] == pytest.approx(roc_auc_score(t["y_true__AF"], t["y_score__AF"]))


@pytest.mark.parametrize("model", ["lr", "rf", "gbm", "xgb", "lgbm", "mlp"])
def test_every_model_trains_under_cv(store, model):
    params = {"xgb": {"n_estimators": 40}, "lgbm": {"n_estimators": 40}, "gbm": {"max_iter": 40},
              "rf": {"n_estimators": 60}}.get(model, {})
    res = train(cfg(store, model=model, protocol="cv", params=params, n_boot=100), store / "models")
    m = res["metrics"]
    assert m["n_records"] == 360 and m["protocol"] == "cv"
    assert m["macro"]["auc"] > 0.85, (model, m["macro"])


def test_seed_preset_is_reachable(store):
    res = train(cfg(store, model="lgbm", preset="seed", params={}), store / "models")
    doc = json.loads((store / "models" / "lgbm-syn360-cpsc9-paper-all-seed" / "config.json").read_text())
    assert doc["preset"] == "seed" and res["metrics"]["macro"]["auc"] > 0.8


def test_shuffled_labels_give_chance_auc(store):
    """Leakage check: with labels shuffled across records, cv macro AUC is 0.5 +- 0.07."""
    c = cfg(store, model="lgbm", protocol="cv", params={"n_estimators": 40})
    X, Y, classes, folds, _ = load_matrix(c)
    rng = np.random.default_rng(0)
    Y_shuffled = Y[rng.permutation(len(Y))]
    scores, preds, tested, _, _ = run_protocol(c, X, Y_shuffled, folds)
    from ecgfeat.evaluation import classification_metrics
    m = classification_metrics(Y_shuffled[tested], scores[tested], preds[tested], classes, n_boot=0)
    assert abs(m["macro"]["auc"] - 0.5) <= 0.07, m["macro"]


def test_reloaded_model_in_a_fresh_process_gives_identical_probabilities(store):
    folder = store / "models" / "xgb-syn360-cpsc9-paper-all"
    if not folder.exists():
        train(cfg(store), store / "models")
    rec = sorted((store / "syn360").glob("*.hea"))[0]
    code = ("import json,sys; from pathlib import Path; from ecgfeat.predict import predict_records; "
            f"print(json.dumps(predict_records(Path({str(rec)!r}), Path({str(folder)!r}))))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]["records"][0]["record"] == rec.stem
    # and equal to the training-time model's probability on the same record
    from ecgfeat.predict import load_model
    from ecgfeat.store import FeatureStore
    config, model = load_model(folder)
    X = FeatureStore(store / "store").read("syn360", families=config["families"]).X.loc[[rec.stem], config["feature_names"]]
    p = model.predict_proba(X)[0]
    assert [round(float(v), 4) for v in p] == [runs[0]["records"][0]["probabilities"][c] for c in config["classes"]]


def test_tampered_model_file_is_refused(store, tmp_path):
    import shutil
    src = store / "models" / "xgb-syn360-cpsc9-paper-all"
    if not src.exists():
        train(cfg(store), store / "models")
    folder = shutil.copytree(src, tmp_path / "m")
    target = sorted((folder / "model").iterdir())[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    rec = sorted((store / "syn360").glob("*.hea"))[0]
    res = runner.invoke(app, ["predict", str(rec), "--model", str(folder)])
    assert res.exit_code == 1
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and str(target) in line and "refusing to load" in line


def test_leads_each_ranks_leads_without_re_extraction(store, monkeypatch):
    import ecgfeat.extraction as extraction

    def no_extract(*a, **k):
        raise AssertionError("train must not extract: the store has the dataset")
    monkeypatch.setattr(extraction, "run_extract", no_extract)
    res = runner.invoke(app, ["--workspace", str(store), "train", "--model", "xgb", "--data", str(store / "syn360"),
                              "--store", str(store / "store"), "--leads", "each", "--param", "n_estimators=40",
                              "--n-boot", "50", "--jobs", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    ranking = out["ranking"]["ranking"]
    assert sorted(r["lead"] for r in ranking) == sorted(__import__("ecgfeat.vocab").vocab.LEADS)
    aucs = [r["auc"] for r in ranking]
    assert aucs == sorted(aucs, reverse=True) and min(aucs) > 0.7
    assert (store / "reports" / "lead_ranking" / "xgb-syn360-cpsc9-paper.json").exists()
    one = json.loads((store / "models" / "xgb-syn360-cpsc9-paper-V1" / "config.json").read_text())
    assert all(n.startswith(("V1__", "all__")) for n in one["feature_names"])


def test_user_errors_are_one_line(store):
    for args, expect in ((["train", "--model", "svm"], "--model 'svm': unknown; models are lr, rf, gbm, xgb, lgbm, mlp"),
                         (["train", "--model", "xgb", "--protocol", "holdout"], "--protocol 'holdout': unknown; protocols are paper, cv"),
                         (["train", "--model", "xgb", "--leads", "V7", "--data", str(store / "syn360"), "--store", str(store / "store")],
                          "unknown lead 'V7'")):
        res = runner.invoke(app, args)
        assert res.exit_code == 1 and expect in res.output and len(res.output.strip().splitlines()) == 1, res.output


@pytest.mark.realdata
def test_predict_on_real_records(shared_data, tmp_path):
    """A model trained on PTB-XL features predicts a PTB-XL record and a Challenge record."""
    store = tmp_path / "store"
    run_extract(shared_data / "ptbxl-500", store, FeatureSettings(families=("expert", "rhythm")), jobs=2, limit=200)
    res = train(TrainConfig(model="lgbm", dataset="ptbxl-500", store=str(store), labels="ptbxl-super", n_boot=50,
                            params={"n_estimators": 60}, jobs=2), tmp_path / "models")
    folder = res["model_dir"]
    for target in (shared_data / "ptbxl-500" / "records500" / "00000" / "00001_hr.hea",
                   shared_data / "challenge-wfdb" / "G12EC" / "E00001.hea"):
        out = runner.invoke(app, ["predict", str(target), "--model", folder, "--json"])
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout.strip().splitlines()[-1])
        (rec,) = doc["records"]
        assert rec["record"] == target.stem and set(rec["probabilities"]) == {"NORM", "MI", "STTC", "CD", "HYP"}
        assert all(0 <= p <= 1 for p in rec["probabilities"].values()) and doc["errors"] == []


def test_train_extracts_a_dataset_the_store_lacks(tmp_path):
    data = synthesize(tmp_path / "fresh", n=90, seed=5, seconds=5.0, jobs=2)
    res = runner.invoke(app, ["--workspace", str(tmp_path), "train", "--model", "lgbm", "--data", str(data),
                              "--param", "n_estimators=30", "--n-boot", "50", "--jobs", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["model_dir"] == str(tmp_path / "models" / "lgbm-fresh-cpsc9-paper-all")
    assert "'fresh' is not in the store yet: extracting it first" in res.stderr
    from ecgfeat.store import FeatureStore
    assert FeatureStore(tmp_path / "feature_store").summary("fresh")["records"] == 90

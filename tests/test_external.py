"""`ecgfeat evaluate`: a saved model on another labelled dataset (external validation).

A small xgb model is trained on synthetic records without STE; it is evaluated on other synthetic
records (record-level bootstrap), on the same signals written as an SPH folder whose records come
two per patient (patient-level bootstrap), and on folders that must be refused. A one-epoch cnn
goes through the same route. The numbers are checked against an independent route: `predict` on
the same records gives the same probabilities, and the metrics recomputed from the written
predictions with the package's metric code are the ones in metrics.json.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.evaluation import ExternalError, classification_metrics, evaluate_external
from ecgfeat.vocab import CPSC9

runner = CliRunner()
NO_STE = {c: (0.0 if c == "STE" else 1.0) for c in CPSC9}
# AHA statement codes of the SPH release for the synthetic classes (vocab.AHA_TO_CPSC9)
AHA = {"Normal": "1", "AF": "50", "I-AVB": "82", "LBBB": "104", "RBBB": "106", "PAC": "30", "PVC": "60",
       "STD": "145+362", "STE": "145+363"}


def invoke(*args):
    res = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(workspace, model name, external synthetic folder): xgb on 90 records without STE."""
    from ecgfeat.extraction import run_extract
    from ecgfeat.features import FeatureSettings
    from ecgfeat.synth import synthesize
    from ecgfeat.training import TrainConfig, train

    ws = tmp_path_factory.mktemp("extws")
    src = synthesize(ws / "data" / "src90", n=90, seed=21, seconds=6.0, weights=NO_STE, jobs=1)
    run_extract(src, ws / "feature_store", FeatureSettings(families=("expert", "rhythm")), jobs=1)
    res = train(TrainConfig(model="xgb", dataset="src90", store=str(ws / "feature_store"), n_boot=50, jobs=1,
                            params={"n_estimators": 20}), ws / "models")
    ext = synthesize(ws / "data" / "ext40", n=40, seed=5, seconds=6.0, jobs=1)
    return ws, Path(res["model_dir"]).name, ext


def labels_of(folder: Path) -> dict[str, list[str]]:
    with open(folder / "labels.csv", newline="") as fh:
        return {r["record"]: [c for c in r["labels"].split(";") if c] for r in csv.DictReader(fh)}


def test_external_metrics_are_the_models_own_predictions_scored(setup):
    from ecgfeat.predict import predict_records

    ws, name, ext = setup
    res = evaluate_external(name, ext, ws, n_boot=200, jobs=1)
    out = ws / "models" / name / "external" / "ext40"
    assert res["out_dir"] == str(out) and sorted(p.name for p in out.iterdir()) == ["metrics.json", "predictions.parquet"]
    m = json.loads((out / "metrics.json").read_text())
    assert m == res["metrics"]
    config = json.loads((ws / "models" / name / "config.json").read_text())
    assert "STE" not in config["classes"]
    # the protocol is written in
    assert (m["model"], m["source_dataset"], m["dataset"], m["labels"], m["protocol"], m["seed"], m["n_boot"]) == (
        name, "src90", "ext40", "cpsc9", "external", 0, 200)
    truth = labels_of(ext)
    assert m["n_records"] == len(truth) == 40 and m["dropped_unlabelled"] == 0
    assert m["thresholds"] == config["thresholds"] and "not re-tuned" in m["thresholds_origin"]
    assert m["bootstrap"] == {"unit": "record", "n": 40, "n_boot": 200, "seed": 0}
    # STE has positives here but is no class of the model
    n_ste = sum("STE" in v for v in truth.values())
    assert n_ste > 0 and m["not_in_model"] == {"STE": n_ste}
    # every probability is the one `predict` gives for the record, every label its threshold's
    pred = pd.read_parquet(out / "predictions.parquet").set_index("record_id")
    direct = {r["record"]: r["probabilities"] for r in predict_records(ext, ws / "models" / name)["records"]}
    assert set(pred.index) == set(direct) == set(truth)
    classes = config["classes"]
    for rid, probs in direct.items():
        for c in classes:
            assert abs(pred.loc[rid, f"y_score__{c}"] - probs[c]) <= 5e-5, (rid, c)
            assert pred.loc[rid, f"y_pred__{c}"] == int(pred.loc[rid, f"y_score__{c}"] >= config["thresholds"][c])
            assert pred.loc[rid, f"y_true__{c}"] == int(c in truth[rid])
    # the metrics are the package's metrics of those predictions, on the classes present
    present = [c for c in classes if pred[f"y_true__{c}"].sum() > 0]
    assert m["classes"] == present and set(m["absent_classes"]) == set(classes) - set(present)
    again = classification_metrics(pred[[f"y_true__{c}" for c in present]].to_numpy(),
                                   pred[[f"y_score__{c}" for c in present]].to_numpy(),
                                   pred[[f"y_pred__{c}" for c in present]].to_numpy(), present, n_boot=200, seed=0)
    assert m["macro"] == pytest.approx(again["macro"])
    assert all(m["macro_ci"][k] == pytest.approx(again["macro_ci"][k]) for k in again["macro_ci"])
    assert m["per_class"]["AF"]["ci"]["auc"] == pytest.approx(again["per_class"]["AF"]["ci"]["auc"])
    # internal: the model's own test predictions on the same classes; the drop is their difference
    inner = m["internal"]
    assert inner["classes"] == present and inner["n_records"] == json.loads(
        (ws / "models" / name / "metrics.json").read_text())["n_records"]
    for c in present:
        for k in ("auc", "f1"):
            e, i = m["per_class"][c][k], inner["per_class"][c][k]
            d = m["drop"]["per_class"][c][k]
            assert d is None if e is None or i is None else d == pytest.approx(e - i)
    assert m["drop"]["macro"]["auc"] == pytest.approx(m["macro"]["auc"] - inner["macro"]["auc"])


def test_a_class_absent_from_the_external_set_gets_no_metric(setup, tmp_path):
    from ecgfeat.synth import synthesize

    ws, name, _ = setup
    only = synthesize(tmp_path / "af_rbbb", n=24, seed=8, seconds=6.0, weights={"AF": 1.0, "RBBB": 1.0}, jobs=1)
    present = sorted({c for v in labels_of(only).values() for c in v})
    m = evaluate_external(name, only, ws, n_boot=50, jobs=1)["metrics"]
    assert sorted(m["classes"]) == present and set(m["per_class"]) == set(present)
    absent = m["absent_classes"]
    assert set(absent) == {c for c in m["model_classes"] if c not in present}
    pred = pd.read_parquet(Path(ws / "models" / name / "external" / "af_rbbb" / "predictions.parquet"))
    for c, a in absent.items():
        assert a["support"] == 0 and set(a) == {"support", "predicted_positive", "n_records", "reason"}
        assert a["predicted_positive"] == int(pred[f"y_pred__{c}"].sum())
    # the macro is the mean over the present classes only
    assert m["macro"]["f1"] == pytest.approx(np.mean([m["per_class"][c]["f1"] for c in present]))


def write_as_sph(src: Path, root: Path) -> dict[str, str]:
    """The synthetic records of `src` as an SPH folder (float16 `ecg`, AHA codes), two records a
    patient; returns {record: patient}."""
    h5py = pytest.importorskip("h5py")
    from ecgfeat.datasets import open_dataset

    (root / "records").mkdir(parents=True)
    truth, patients = labels_of(src), {}
    lines = ["ECG_ID,AHA_Code,Patient_ID,Age,Sex,N,Date"]
    ds = open_dataset(src)
    for i, ref in enumerate(sorted(ds.refs(), key=lambda r: r.record_id)):
        rec = ds.read(ref)
        with h5py.File(root / "records" / f"{ref.record_id}.h5", "w") as f:
            f.create_dataset("ecg", data=rec.signal.astype(np.float16))
        patients[ref.record_id] = f"P{i // 2:03d}"
        codes = ";".join(AHA[c] for c in truth[ref.record_id])
        lines.append(f'{ref.record_id},"{codes}",{patients[ref.record_id]},60,M,{rec.signal.shape[1]},2020-01-01')
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return patients


def test_patients_are_resampled_where_the_external_set_has_patient_ids(setup, tmp_path):
    ws, name, ext = setup
    patients = write_as_sph(ext, tmp_path / "sph40")
    m = evaluate_external(name, tmp_path / "sph40", ws, n_boot=100, jobs=1)["metrics"]
    assert m["format"] == "sph" and m["n_records"] == 40
    assert m["bootstrap"] == {"unit": "patient", "n": len(set(patients.values())), "n_boot": 100, "seed": 0} == {
        "unit": "patient", "n": 20, "n_boot": 100, "seed": 0}
    pred = pd.read_parquet(ws / "models" / name / "external" / "sph40" / "predictions.parquet").set_index("record_id")
    assert pred["patient_id"].to_dict() == patients
    # the same records with the same labels (AHA codes mapped back onto cpsc9)
    truth = labels_of(ext)
    for c in m["model_classes"]:
        assert pred[f"y_true__{c}"].to_dict() == {r: int(c in truth[r]) for r in truth}, c


def test_refusals_are_one_line_errors(setup, tmp_path):
    from ecgfeat.synth import synthesize

    ws, name, ext = setup
    with pytest.raises(ExternalError, match=r"^--model nope: unknown model, no model folder there or under .*\(models: "):
        evaluate_external("nope", ext, ws)
    with pytest.raises(ExternalError, match=rf"^--labels ptbxl-super: {name} was trained on the 'cpsc9' scheme"):
        evaluate_external(name, ext, ws, labels="ptbxl-super")
    with pytest.raises(ValueError, match="unknown label scheme 'nine'"):
        evaluate_external(name, ext, ws, labels="nine")
    with pytest.raises(ExternalError, match="is the dataset .* was trained on; external validation needs data"):
        evaluate_external(name, ws / "data" / "src90", ws)
    # records without labels: the synthetic folder without its labels.csv
    bare = shutil.copytree(ext, tmp_path / "bare")
    (bare / "labels.csv").unlink()
    with pytest.raises(ExternalError, match=r"no record carries labels of the 'cpsc9' scheme \(40 readable records\)"):
        evaluate_external(name, bare, ws)
    # positives only of a class the model does not have
    ste = synthesize(tmp_path / "ste", n=12, seed=3, seconds=6.0, weights={"STE": 1.0}, jobs=1)
    with pytest.raises(ExternalError, match=r"no overlapping classes, none of the model's classes \(Normal, .*\) has a "
                                            r"positive record there \(its positives: STE 12\)"):
        evaluate_external(name, ste, ws)


def test_evaluate_cli_table_json_and_errors(setup):
    ws, name, ext = setup
    res = invoke("-w", ws, "evaluate", "--model", name, "--data", ext, "--n-boot", "50", "--jobs", "1", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(out) == {"model_dir", "dataset", "out_dir", "metrics"} and out["dataset"] == "ext40"
    assert out["metrics"]["n_boot"] == 50
    human = invoke("-w", ws, "evaluate", "--model", name, "--data", ext, "--n-boot", "50", "--jobs", "1")
    assert human.exit_code == 0
    assert f"{name} on ext40 (cpsc9): 40 labelled records, 95% CI over records (no patient ids)" in human.stdout
    assert "macro" in human.stdout and "not re-tuned on the external set" in human.stdout
    assert "positives of classes the model was not trained on: STE" in human.stdout
    bad = invoke("-w", ws, "evaluate", "--model", name, "--data", ext, "--labels", "raw")
    assert bad.exit_code == 1 and bad.output.strip().splitlines()[-1].startswith(
        f"error: --labels raw: {name} was trained on the 'cpsc9' scheme")
    missing = invoke("-w", ws, "evaluate", "--model", "nope", "--data", ext)
    assert missing.exit_code == 1 and missing.output.strip().startswith("error: --model nope: unknown model")


def test_a_tiny_cnn_is_evaluated_externally_on_signals(setup, tmp_path):
    from ecgfeat.deep import CNNSettings
    from ecgfeat.predict import predict_records
    from ecgfeat.training import TrainConfig, train

    ws, _, ext = setup
    tiny = CNNSettings(preset="test", fs=100.0, window_s=2.0, epochs=1, batch_size=16, lr=1e-3, patience=None).to_dict()
    cfg = TrainConfig(model="cnn", dataset="src90", store="", preset="test", n_boot=20, jobs=1, cnn=tiny,
                      data_path=str(ws / "data" / "src90"), cache=str(ws / "signal_cache"))
    name = Path(train(cfg, ws / "models")["model_dir"]).name
    m = evaluate_external(name, ext, ws, n_boot=50, jobs=1)["metrics"]
    assert m["estimator"] == "cnn" and m["n_records"] == 40 and m["not_in_model"]["STE"] > 0
    assert (ws / "signal_cache" / "ext40" / "100hz" / "index.parquet").is_file()
    pred = pd.read_parquet(ws / "models" / name / "external" / "ext40" / "predictions.parquet").set_index("record_id")
    direct = {r["record"]: r["probabilities"] for r in predict_records(ext, ws / "models" / name)["records"]}
    assert set(direct) == set(pred.index)
    for rid, probs in direct.items():
        for c, p in probs.items():
            assert abs(pred.loc[rid, f"y_score__{c}"] - p) <= 1e-3, (rid, c)
    assert set(m["macro"]) == {"precision", "recall", "f1", "auc", "accuracy"}


def test_compare_shows_the_external_table_in_html_markdown_and_json(setup, tmp_path):
    from ecgfeat.report import compare_models
    from ecgfeat.report.fmt import signed, with_ci

    ws, name, ext = setup
    m = evaluate_external(name, ext, ws, n_boot=60, jobs=1)["metrics"]
    out = compare_models(ws / "models", tmp_path / "reports", n_boot=20)
    doc = json.loads(Path(out["json"]).read_text())
    (entry,) = [e for e in doc["external"] if e["model"] == name and e["dataset"] == "ext40"]
    assert entry["external"] == {k: m[k] for k in ("macro", "macro_ci", "per_class")}
    assert entry["internal"]["macro"] == m["internal"]["macro"] and entry["drop"] == m["drop"]
    assert entry["bootstrap"]["unit"] == "record" and entry["not_in_model"] == m["not_in_model"]
    md = Path(out["md"]).read_text()
    assert "## External validation" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| xgb | src90 (paper) | ext40 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "40 (records resampled)"
    assert cells[4:7] == [with_ci(m["internal"]["macro"]["auc"], m["internal"]["macro_ci"]["auc"]),
                          with_ci(m["macro"]["auc"], m["macro_ci"]["auc"]), signed(m["drop"]["macro"]["auc"], plus=True)]
    af = next(ln for ln in md.splitlines() if ln.startswith("| AF |") and "[" in ln and ln.count("|") == 10)
    assert with_ci(m["per_class"]["AF"]["auc"], m["per_class"]["AF"]["ci"]["auc"]) in af
    assert "| STE | – | " in md and "not a model class" in md
    html = Path(out["html"]).read_text()
    assert '<h2 id="external">External validation</h2>' in html and '<a href="#external">' in html
    assert "Curves on ext40 · cpsc9 (external)" in html
    for alt in ("ROC curves per class", "Precision-recall curves per class", "Calibration (reliability) curves per class"):
        assert html.count(f'<img alt="{alt}"') >= 2       # the internal group and the external set
    # `compare --json` carries the same entry on stdout (the last line), with the drop
    res = invoke("-w", str(ws), "compare", "--out", str(tmp_path / "cli"), "--n-boot", "20", "--json")
    assert res.exit_code == 0, res.output
    (short,) = [e for e in json.loads(res.output.strip().splitlines()[-1])["external"]
                if e["model"] == name and e["dataset"] == "ext40"]
    assert short["external"] == {k: m[k] for k in ("macro", "macro_ci")} and short["drop"] == m["drop"]
    assert short["internal"]["macro"] == m["internal"]["macro"] and short["n_records"] == 40


def test_evaluate_help_shows_examples():
    res = invoke("evaluate", "--help")
    assert res.exit_code == 0 and "Examples:" in res.output
    assert "ecgfeat evaluate --model" in res.output.split("Examples:")[1]
    assert "ecgfeat evaluate --model" in invoke("--help").output       # in the top-level examples too

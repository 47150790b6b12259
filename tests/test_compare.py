"""`ecgfeat compare`: grouping, exact numbers, the paired test, the lead ranking, the rendered page.

Most tests build model folders by hand (metrics.json from the package's own metric code on made-up
scores, config.json, predictions.parquet): quick, and the scores can be chosen to make one model
clearly better. One module fixture trains two real models end to end on a small synthetic store.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.evaluation import classification_metrics, paired_bootstrap
from ecgfeat.report import compare_models, find_models, verdict
from ecgfeat.vocab import LEADS

runner = CliRunner()
CLASSES = ("Normal", "AF", "PAC", "STE")
SUPER = ("NORM", "MI", "STTC")


def truth(n: int, classes) -> np.ndarray:
    """Labels shared by every fake model of a scheme (same records, same truth); STE has no
    positive in the first 3/4 of the records, so a model tested there has no STE AUC."""
    rng = np.random.default_rng(123)
    y = (rng.random((n, len(classes))) < 0.3).astype(np.int8)
    if "STE" in classes:
        y[: 3 * n // 4, list(classes).index("STE")] = 0
    return y


def fake_model(models: Path, name: str, estimator: str = "xgb", *, labels: str = "cpsc9", classes=CLASSES,
               leads=LEADS, protocol: str = "paper", dataset: str = "syn", record_features: bool = True,
               skill: float = 1.0, seed: int = 0, n: int = 160, tested: slice = slice(0, 120),
               command: str | None = None, created: str = "2024-01-01T00:00:00+00:00") -> Path:
    """A model folder as training.py writes it; `skill` scales how far scores separate the classes."""
    y = truth(n, classes)
    rng = np.random.default_rng(seed)
    score = 1 / (1 + np.exp(-(skill * (2 * y - 1) * 2 + rng.normal(0, 1.5, y.shape))))
    pred = (score > 0.5).astype(np.int8)
    mask = np.zeros(n, bool)
    mask[tested] = True
    m = classification_metrics(y[mask], score[mask], pred[mask], list(classes), n_boot=60, seed=0)
    doc = {"model": name, "estimator": estimator, "dataset": dataset, "labels": labels, "protocol": protocol,
           "leads": list(leads), "record_features": record_features, "n_records": int(mask.sum()),
           **m, "dropped_unlabelled": 0, "dropped_classes": [], "folds": "seeded-stratified", "seconds": 1.0}
    folder = models / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(doc, indent=2))
    cmd = command or f"ecgfeat train --model {estimator} --labels {labels} --protocol {protocol}"
    (folder / "config.json").write_text(json.dumps({"command": cmd, "seed": 0, "created": created, "model": estimator}))
    df = pd.DataFrame({"record_id": [f"r{i:04d}" for i in range(n)], "fold": np.arange(n) % 10 + 1, "tested": mask})
    for j, c in enumerate(classes):
        df[f"y_true__{c}"], df[f"y_score__{c}"], df[f"y_pred__{c}"] = y[:, j], score[:, j], pred[:, j]
    df.to_parquet(folder / "predictions.parquet", index=False)
    return folder


def metrics_of(folder) -> dict:
    return json.loads((Path(folder) / "metrics.json").read_text())


def fmt_ci(v, ci) -> str:
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


# ---------------------------------------------------------------- real models, end to end

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """xgb and lgbm trained on 200 extracted synthetic records, then compared."""
    from ecgfeat.extraction import run_extract
    from ecgfeat.features import FeatureSettings
    from ecgfeat.synth import synthesize
    from ecgfeat.training import TrainConfig, train

    root = tmp_path_factory.mktemp("compare")
    data = synthesize(root / "syn200", n=200, seed=11, jobs=1)
    run_extract(data, root / "store", FeatureSettings(families=("expert", "rhythm")), jobs=1)
    for model in ("xgb", "lgbm"):
        cfg = TrainConfig(model=model, dataset="syn200", store=str(root / "store"), n_boot=200, jobs=1,
                          params={"n_estimators": 30})
        train(cfg, root / "models", command=f"ecgfeat train --model {model} --param n_estimators=30")
    out = compare_models(root / "models", root / "reports", n_boot=200)
    return root, out


def test_real_report_files_and_exact_numbers(real):
    root, out = real
    for k in ("html", "md", "json"):
        assert Path(out[k]).is_file() and Path(out[k]).stat().st_size > 500
    doc = json.loads(Path(out["json"]).read_text())
    assert doc == out["report"]
    (group,) = doc["groups"]
    assert (group["dataset"], group["labels"], group["protocol"], group["leads"]) == ("syn200", "cpsc9", "paper", list(LEADS))
    assert sorted(m["name"] for m in group["models"]) == ["lgbm-syn200-cpsc9-paper-all", "xgb-syn200-cpsc9-paper-all"]
    md = Path(out["md"]).read_text()
    html = Path(out["html"]).read_text()
    for m in group["models"]:
        truth_doc = metrics_of(root / "models" / m["name"])
        # the report's numbers are metrics.json's, bit for bit
        assert m["macro"] == truth_doc["macro"] and m["macro_ci"] == truth_doc["macro_ci"]
        assert m["per_class"] == truth_doc["per_class"]
        assert m["command"] == f"ecgfeat train --model {m['estimator']} --param n_estimators=30"
        f1 = fmt_ci(truth_doc["macro"]["f1"], truth_doc["macro_ci"]["f1"])
        assert f"| {m['label']} |" in md and f1 in md and f1 in html
        assert m["command"] in md and m["command"] in html
    # the best per column is the maximum of the column
    for metric, name in group["best"].items():
        vals = {m["name"]: m["macro"][metric] for m in group["models"]}
        assert vals[name] == max(vals.values())


def test_real_confusion_counts_match_metrics_and_pair_two_classical(real):
    root, out = real
    (group,) = out["report"]["groups"]
    p = group["paired"]
    assert "no cnn in this group" in p["note"] and "without looking at any test result" in group["pair_rule"]
    # the pair is not chosen by test AUC: both classical models, in name order
    assert (p["a"], p["b"]) == ("lgbm-syn200-cpsc9-paper-all", "xgb-syn200-cpsc9-paper-all")
    first = next(m for m in group["models"] if m["name"] == p["a"])
    assert p["n_records"] == metrics_of(root / "models" / p["a"])["n_records"]   # same seed: same test fold
    # the paired point estimates are the models' own macro AUC / F1 on the shared records
    assert p["auc"]["a"] == pytest.approx(first["macro"]["auc"]) and p["f1"]["a"] == pytest.approx(first["macro"]["f1"])
    for name, counts in group["confusion"].items():
        per_class = metrics_of(root / "models" / name)["per_class"]
        for c, k in counts.items():
            assert k == {x: per_class[c][x] for x in ("tp", "fp", "fn", "tn")}, (name, c)
    assert set(group["confusion"]) == {p["a"], p["b"]}


# ---------------------------------------------------------------- hand-made model folders

def test_label_schemes_and_protocols_are_never_mixed(tmp_path):
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", seed=1)
    fake_model(models, "rf-syn-cpsc9-paper-all", "rf", seed=2, skill=0.5)
    fake_model(models, "xgb-syn-ptbxl-super-paper-all", "xgb", labels="ptbxl-super", classes=SUPER, seed=3)
    fake_model(models, "lr-syn-cpsc9-cv-all", "lr", protocol="cv", tested=slice(0, 160), seed=4)
    fake_model(models, "xgb-syn-cpsc9-paper-I+aVR+V5", "xgb", leads=["I", "aVR", "V5"], seed=5)
    out = compare_models(models, tmp_path / "reports", n_boot=100)
    groups = {(g["labels"], g["protocol"]): g for g in out["report"]["groups"] if g["leads"] == list(LEADS)}
    assert set(groups) == {("cpsc9", "paper"), ("ptbxl-super", "paper"), ("cpsc9", "cv")}
    (subset,) = [g for g in out["report"]["groups"] if g["leads"] != list(LEADS)]
    assert subset["leads"] == ["I", "aVR", "V5"] and [m["name"] for m in subset["models"]] == ["xgb-syn-cpsc9-paper-I+aVR+V5"]
    assert [m["name"] for m in groups["cpsc9", "paper"]["models"]] == ["xgb-syn-cpsc9-paper-all", "rf-syn-cpsc9-paper-all"]
    assert [m["name"] for m in groups["ptbxl-super", "paper"]["models"]] == ["xgb-syn-ptbxl-super-paper-all"]
    assert groups["ptbxl-super", "paper"]["classes"] == list(SUPER) and groups["ptbxl-super", "paper"]["paired"] is None
    md = Path(out["md"]).read_text()
    assert md.count("\n## syn · ") == 4 and "## syn · cpsc9 · paper · leads I, aVR, V5" in md
    # a class without positives in the test rows: null AUC in metrics.json, "–" in the tables, never NaN
    xgb = groups["cpsc9", "paper"]["models"][0]
    assert xgb["per_class"]["STE"]["auc"] is None and xgb["per_class"]["STE"] == metrics_of(models / xgb["name"])["per_class"]["STE"]
    assert "| STE | – | – |" in md and "NaN" not in Path(out["json"]).read_text()


def test_best_classical_is_paired_with_the_cnn_on_shared_records(tmp_path):
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", skill=0.6, seed=1)
    fake_model(models, "lgbm-syn-cpsc9-paper-all", "lgbm", skill=0.3, seed=2)
    fake_model(models, "cnn-syn-cpsc9-paper-all", "cnn", skill=2.5, seed=3, tested=slice(40, 160))
    out = compare_models(models, tmp_path / "reports", n_boot=300, seed=5)
    (g,) = out["report"]["groups"]
    p = g["paired"]
    assert (p["a"], p["b"]) == ("xgb-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all")
    assert p["n_records"] == 80          # records 40..119: tested by both
    # the same numbers as paired_bootstrap on the inner join, done here independently
    a, b = (pd.read_parquet(models / n / "predictions.parquet") for n in (p["a"], p["b"]))
    j = a[a.tested].merge(b[b.tested], on="record_id", suffixes=("_a", "_b"))
    cols = lambda kind, s: [f"{kind}__{c}_{s}" for c in CLASSES]  # noqa: E731
    ref = paired_bootstrap(j[cols("y_true", "a")].to_numpy(), j[cols("y_score", "a")].to_numpy(), j[cols("y_score", "b")].to_numpy(),
                           j[cols("y_pred", "a")].to_numpy(), j[cols("y_pred", "b")].to_numpy(), n_boot=300, seed=5)
    assert p["auc"] == ref["auc"] and p["f1"] == ref["f1"]
    # two comparisons (xgb and lgbm, each against the cnn): Holm-corrected verdicts
    assert p["n_tests"] == 2 and p["p_holm"]["auc"] >= p["auc"]["p_value"]
    assert p["verdict"]["auc"] == verdict("xgb", "cnn", ref["auc"], p["p_holm"]["auc"], 2)
    assert p["verdict"]["auc"].startswith("xgb − cnn = −0.") and ": cnn is significantly better (Holm-adjusted p" in p["verdict"]["auc"]
    # the confusion matrices are those of the compared models, classical first
    assert list(g["confusion"]) == [p["a"], "lgbm-syn-cpsc9-paper-all", p["b"]]
    html = Path(out["html"]).read_text()
    assert p["verdict"]["auc"] in html and p["verdict"]["f1"] in Path(out["md"]).read_text()


def test_models_without_shared_test_records_are_not_paired(tmp_path):
    """Paper-protocol runs of other seeds test other folds: no shared record, no paired test."""
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", tested=slice(0, 60))
    fake_model(models, "cnn-syn-cpsc9-paper-all", "cnn", tested=slice(60, 120), seed=1)
    out = compare_models(models, tmp_path / "reports", n_boot=50)
    p = out["report"]["groups"][0]["paired"]
    assert (p["a"], p["b"], p["skipped"]) == ("xgb-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all",
                                              "the two models share no tested record")
    assert "xgb vs cnn: not compared, the two models share no tested record." in Path(out["md"]).read_text()


def test_verdict_wording():
    assert verdict("xgb", "cnn", {"diff": 0.012, "ci": [-0.004, 0.027]}) == \
        "xgb − cnn = +0.012 [−0.004, 0.027]: no significant difference"
    assert verdict("xgb", "cnn", {"diff": -0.05, "ci": [-0.081, -0.02]}) == \
        "xgb − cnn = −0.050 [−0.081, −0.020]: cnn is significantly better"
    assert verdict("xgb", "lgbm", {"diff": 0.03, "ci": [0.001, 0.06]}) == \
        "xgb − lgbm = +0.030 [0.001, 0.060]: xgb is significantly better"
    assert verdict("xgb", "cnn", {"diff": 0.02, "ci": [0.0, 0.04]}).endswith(": no significant difference")  # 0 is inside


def test_lead_ranking_from_single_lead_runs(tmp_path):
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb")
    skills = {"I": 1.4, "aVR": 1.1, "V5": 0.7}
    for k, (lead, skill) in enumerate(skills.items()):
        fake_model(models, f"xgb-syn-cpsc9-paper-{lead}", "xgb", leads=[lead], skill=skill, seed=10 + k,
                   command="ecgfeat train --model xgb --leads each")
        fake_model(models, f"xgb-syn-cpsc9-paper-{lead}-norec", "xgb", leads=[lead], skill=skill / 2, seed=20 + k,
                   record_features=False, command="ecgfeat train --model xgb --leads each --no-record-features")
    out = compare_models(models, tmp_path / "reports", n_boot=50)
    doc = out["report"]
    assert [m["name"] for g in doc["groups"] for m in g["models"]] == ["xgb-syn-cpsc9-paper-all"]   # single leads apart
    (r,) = doc["lead_ranking"]
    assert r["families"] == ["xgb", "xgb (no record features)"]
    assert len(r["rows"]) == 6
    for row in r["rows"]:
        m = metrics_of(models / row["model"])
        assert (row["f1"], row["auc"], row["f1_ci"], row["auc_ci"]) == \
            (m["macro"]["f1"], m["macro"]["auc"], m["macro_ci"]["f1"], m["macro_ci"]["auc"])
        assert row["lead"] == m["leads"][0]
    by_auc = sorted(skills, key=lambda lead: -metrics_of(models / f"xgb-syn-cpsc9-paper-{lead}")["macro"]["auc"])
    assert r["ranking"]["xgb"] == by_auc
    assert r["commands"]["xgb (no record features)"] == ["ecgfeat train --model xgb --leads each --no-record-features"]
    md = Path(out["md"]).read_text()
    assert "## Lead ranking · syn · cpsc9 · paper" in md and "| lead | xgb | xgb (no record features) |" in md


def test_broken_and_temporary_folders(tmp_path):
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb")
    bad_json = fake_model(models, "rf-syn-cpsc9-paper-all", "rf")
    (bad_json / "metrics.json").write_text('{"model": "rf", "macro": {')
    no_pred = fake_model(models, "lr-syn-cpsc9-paper-all", "lr")
    (no_pred / "predictions.parquet").unlink()
    torn = fake_model(models, "gbm-syn-cpsc9-paper-all", "gbm")
    (torn / "predictions.parquet").write_bytes(b"PAR1 half a file")
    shutil.copytree(models / "xgb-syn-cpsc9-paper-all", models / ".xgb-syn-cpsc9-paper-all.tmp-123")
    (models / ".cnn-syn-cpsc9-paper-all.ckpt").mkdir()
    (models / "README.md").write_text("models live here")
    runs, skipped = find_models(models)
    assert [r.name for r in runs] == ["xgb-syn-cpsc9-paper-all"]
    assert [s["folder"] for s in skipped] == [str(torn), str(no_pred), str(bad_json)]   # sorted by name
    assert skipped[0]["reason"].startswith("predictions.parquet is unreadable")
    assert skipped[1]["reason"] == "no predictions.parquet"
    assert skipped[2]["reason"].startswith("metrics.json is not valid JSON")
    res = runner.invoke(app, ["--workspace", str(tmp_path), "compare", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    assert f"warning: {bad_json}: metrics.json is not valid JSON" in res.output
    assert f"warning: {no_pred}: no predictions.parquet; skipped" in res.output
    doc = json.loads((tmp_path / "reports" / "compare.json").read_text())
    assert [m["name"] for m in doc["groups"][0]["models"]] == ["xgb-syn-cpsc9-paper-all"]
    assert {s["folder"] for s in doc["skipped"]} == {str(bad_json), str(no_pred), str(torn)}


def test_cli_json_and_user_errors(tmp_path):
    res = runner.invoke(app, ["--workspace", str(tmp_path), "compare"])
    assert res.exit_code == 1 and res.output.startswith(f"error: --models {tmp_path / 'models'}: no such folder")
    (tmp_path / "models").mkdir()
    res = runner.invoke(app, ["--workspace", str(tmp_path), "compare"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert res.output.startswith(f"error: {tmp_path / 'models'}: no model folder")
    fake_model(tmp_path / "models", "xgb-syn-cpsc9-paper-all", "xgb", seed=1)
    fake_model(tmp_path / "models", "cnn-syn-cpsc9-paper-all", "cnn", seed=2)
    res = runner.invoke(app, ["--workspace", str(tmp_path), "compare", "--json", "--n-boot", "100"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["html"] == str(tmp_path / "reports" / "compare.html") and Path(out["md"]).is_file() and Path(out["json"]).is_file()
    (g,) = out["groups"]
    assert set(g["models"]) == {"xgb-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all"}
    assert g["models"]["cnn-syn-cpsc9-paper-all"]["macro"] == metrics_of(tmp_path / "models" / "cnn-syn-cpsc9-paper-all")["macro"]
    assert (g["paired"]["a"], g["paired"]["b"]) == ("xgb-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all")
    assert g["paired"]["verdict"]["auc"].startswith("xgb − cnn = ")
    help_ = runner.invoke(app, ["compare", "--help"])
    assert help_.exit_code == 0 and "ecgfeat compare" in help_.output.split("Examples:")[1]


def test_html_is_self_contained(real):
    _, out = real
    html = Path(out["html"]).read_text()
    assert html.count('src="data:image/png;base64,') == 6      # ROC, PR, calibration, F1 bars, two confusion figures
    for remote in ("http://", "https://", "<script", "<link"):
        assert remote not in html
    assert "<td class=\"best\">" in html


def test_html_renders_in_headless_chromium(real, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no `chromium` binary on PATH: cannot render compare.html headless (apt-get install chromium)")
    from PIL import Image

    _, out = real
    shot = tmp_path / "compare.png"
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", f"--screenshot={shot}", "--window-size=1400,2000",
                           Path(out["html"]).resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.is_file(), proc.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2000, 1400)
    colours = np.unique(img.reshape(-1, 3), axis=0)
    non_white = (img < 245).any(axis=2).mean()
    assert len(colours) > 200, len(colours)        # text antialiasing, table shading, plot lines
    assert 0.02 < non_white < 0.9, non_white
    # the "best" cell shading (#e7f3e7) is on screen: the tables rendered with their CSS
    assert ((img == [0xE7, 0xF3, 0xE7]).all(axis=2)).sum() > 100


# ---------------------------------------------------------------- the pair is not chosen on the test set

def test_holm_adjustment():
    from ecgfeat.report.compare import holm
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert holm([0.5]) == [0.5] and holm([]) == []


@pytest.mark.parametrize("xgb_skill, lgbm_skill", [(0.6, 0.3), (0.3, 0.6)])
def test_default_pairs_do_not_depend_on_test_results(tmp_path, xgb_skill, lgbm_skill):
    """Every classical model against the cnn, whichever scores best on the test records; the rule
    is written in compare.json, .md and .html."""
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", skill=xgb_skill, seed=1)
    fake_model(models, "lgbm-syn-cpsc9-paper-all", "lgbm", skill=lgbm_skill, seed=2)
    fake_model(models, "cnn-syn-cpsc9-paper-all", "cnn", skill=1.0, seed=3)
    out = compare_models(models, tmp_path / "reports", n_boot=200)
    (g,) = out["report"]["groups"]
    pairs = {(c["a"], c["b"]) for c in g["comparisons"]}
    assert pairs == {("xgb-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all"), ("lgbm-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all")}
    assert "every classical model against the cnn, chosen without looking at any test result" in g["pair_rule"]
    assert "Holm" in g["pair_rule"] and "best" not in g["pair_rule"]
    for c in g["comparisons"]:
        for m in ("auc", "f1"):
            assert c["p_holm"][m] >= c[m]["p_value"]
    for f in ("md", "html"):
        assert "Pairs chosen by: every classical model against the cnn" in Path(out[f]).read_text()


def test_user_names_the_pair(tmp_path):
    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", skill=0.6, seed=1)
    fake_model(models, "lgbm-syn-cpsc9-paper-all", "lgbm", skill=0.3, seed=2)
    fake_model(models, "cnn-syn-cpsc9-paper-all", "cnn", skill=1.0, seed=3)
    res = runner.invoke(app, ["compare", "--models", str(models), "--out", str(tmp_path / "r"), "--n-boot", "100",
                              "--baseline", "lgbm", "--against", "cnn", "--json"])
    assert res.exit_code == 0, res.output
    (g,) = json.loads(res.stdout.strip().splitlines()[-1])["groups"]
    assert [(c["a"], c["b"]) for c in g["comparisons"]] == [("lgbm-syn-cpsc9-paper-all", "cnn-syn-cpsc9-paper-all")]
    assert g["pair_rule"] == "the pair named by the user (--baseline lgbm --against cnn)"
    assert "Holm" not in g["comparisons"][0]["verdict"]["auc"]
    bad = runner.invoke(app, ["compare", "--models", str(models), "--out", str(tmp_path / "r"), "--baseline", "rf", "--against", "cnn"])
    assert bad.exit_code == 1 and "--baseline rf --against cnn: no group" in bad.output
    half = runner.invoke(app, ["compare", "--models", str(models), "--out", str(tmp_path / "r"), "--baseline", "xgb"])
    assert half.exit_code == 1 and "go together" in half.output


def test_every_model_in_a_group_gets_its_own_colour(tmp_path):
    """Three xgb runs (seeds), an unknown estimator, lr and gbm and the cnn: one colour each (line
    styles alone are hard to tell apart in small panels), and the tables use the plots' colours."""
    from ecgfeat.report import plots

    models = tmp_path / "models"
    for name, est in (("xgb-syn-cpsc9-paper-all", "xgb"), ("xgb-syn-cpsc9-paper-all-seed1", "xgb"),
                      ("xgb-syn-cpsc9-paper-all-seed2", "xgb"), ("svm-syn-cpsc9-paper-all", "svm"),
                      ("knn-syn-cpsc9-paper-all", "knn"), ("lr-syn-cpsc9-paper-all", "lr"),
                      ("gbm-syn-cpsc9-paper-all", "gbm"), ("cnn-syn-cpsc9-paper-all", "cnn")):
        fake_model(models, name, est, seed=len(name))
    runs, _ = find_models(models)
    style = plots.styles(runs)
    colours = [s["colour"] for s in style.values()]
    assert len(set(colours)) == len(runs) == 8, style
    assert style["cnn-syn-cpsc9-paper-all"]["colour"] == plots.MODEL_COLOURS["cnn"]
    assert style["xgb-syn-cpsc9-paper-all"]["colour"] == plots.MODEL_COLOURS["xgb"]
    out = compare_models(models, tmp_path / "reports", n_boot=20)
    (g,) = out["report"]["groups"]
    assert {m["name"]: m["colour"] for m in g["models"]} == {n: s["colour"] for n, s in style.items()}


def test_precision_recall_and_calibration_curves_beside_the_roc(tmp_path):
    from ecgfeat.report import plots

    models = tmp_path / "models"
    fake_model(models, "xgb-syn-cpsc9-paper-all", "xgb", skill=2.0)
    fake_model(models, "cnn-syn-cpsc9-paper-all", "cnn", skill=0.5, seed=1)
    out = compare_models(models, tmp_path / "reports", n_boot=20)
    html = Path(out["html"]).read_text()
    h3 = [html.index(f'<img alt="{t}"') for t in ("ROC curves per class", "Precision-recall curves per class",
                                                   "Calibration (reliability) curves per class", "F1 per class")]
    assert h3 == sorted(h3)                           # in this order, in the group's section
    assert "dashed: the class&#x27;s prevalence" in html and "dashed: perfect calibration" in html
    assert "External validation" not in html          # no `ecgfeat evaluate` run: no section
    # about 10 records a reliability point, 2 to 10 points
    assert [plots.calibration_bins(n) for n in (5, 40, 120, 5000)] == [2, 4, 10, 10]


def test_the_precision_recall_curve_is_the_one_average_precision_integrates():
    """Its steps (recall descending, precision of the step's right end) have exactly scikit-learn's
    average precision as area, ties in the scores included, and no zero-width spikes."""
    from sklearn.metrics import average_precision_score

    from ecgfeat.report.plots import calibration_points, pr_curve

    rng = np.random.default_rng(0)
    for _ in range(30):
        y = rng.random(60) < 0.3
        s = np.round(rng.random(60) + 0.5 * y, 1)         # many ties
        r, p = pr_curve(y, s)
        assert np.all(np.diff(r) < 0) and r[0] == 1.0 and r[-1] == 0.0 and p[-1] == 1.0
        assert np.sum((r[:-1] - r[1:]) * p[:-1]) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    # reliability: quantile bins of 10 records; a perfectly calibrated score lies on the diagonal
    s = np.repeat([0.05, 0.35, 0.65, 0.95], 10)
    y = np.concatenate([[1] * k + [0] * (10 - k) for k in (0, 4, 6, 10)]).astype(bool)
    mean, frac = calibration_points(y, s)
    assert mean == pytest.approx([0.05, 0.35, 0.65, 0.95]) and frac == pytest.approx([0.0, 0.4, 0.6, 1.0])

"""The deep comparator: network shape rules, signal cache, estimator, determinism, resume, DeepSHAP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgfeat.deep import CNNClassifier, CNNSettings, SignalCache, Signals, cnn_settings
from ecgfeat.deep.cache import prepare
from ecgfeat.deep.estimator import tile_starts
from ecgfeat.deep.network import ResNet1d, final_length
from ecgfeat.vocab import LEADS

# 2 s windows at 100 Hz: the real network, trained in seconds
TINY = CNNSettings(preset="test", fs=100.0, window_s=2.0, epochs=2, batch_size=16, lr=1e-3, patience=None)


def toy_signals(n: int = 48, seed: int = 0, seconds: float = 6.0):
    """Class 0: a 2 mV 'beat' every second in lead II; class 1: a 0.5 mV 10 Hz sine in V1 (both
    visible in any 2 s window)."""
    rng = np.random.default_rng(seed)
    t = int(100 * seconds)
    sigs, Y = [], np.zeros((n, 2), np.int8)
    for i in range(n):
        x = rng.normal(0, 0.05, (12, t)).astype(np.float32)
        if i % 2 == 0:
            x[1, ::100] += 2.0
            Y[i, 0] = 1
        if i % 3 == 0:
            x[6] += 0.5 * np.sin(2 * np.pi * 10 * np.arange(t) / 100)
            Y[i, 1] = 1
        sigs.append(x)
    return Signals.from_arrays(sigs, 100.0), Y


# -- network ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [400, 1000, 1003, 15000])
def test_global_pools_equal_the_adaptive_pools_of_the_seed(n):
    torch.manual_seed(0)
    net = ResNet1d(12, 9, n).eval()
    x = torch.randn(2, 12, n)
    with torch.no_grad():
        feats = net.blocks(net.pool(net.relu(net.bn1(net.conv1(x)))))
        assert feats.shape[-1] == final_length(n)
        ours = torch.cat([net.avg(feats), net.max(feats)], dim=1)
        seed = torch.cat([torch.nn.AdaptiveAvgPool1d(1)(feats), torch.nn.AdaptiveMaxPool1d(1)(feats)], dim=1)
    assert torch.allclose(ours, seed, atol=1e-6)
    assert net(x).shape == (2, 9)


def test_network_follows_resnet34_and_has_no_inplace_relu():
    net = ResNet1d(12, 9, 1000)
    blocks = list(net.blocks)
    assert len(blocks) == 3 + 4 + 6 + 3
    assert [b.conv1.out_channels for b in blocks] == [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    assert net.conv1.kernel_size == (15,) and net.conv1.stride == (2,) and blocks[0].conv1.kernel_size == (7,)
    relus = [m for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 1 + 2 * 16 and not any(r.inplace for r in relus)
    assert len({id(r) for r in relus}) == len(relus)
    with pytest.raises(ValueError, match="n_leads must be 1..12"):
        ResNet1d(13, 9, 1000)
    assert ResNet1d(1, 9, 1000)(torch.zeros(2, 1, 1000)).shape == (2, 9)


def test_tile_starts_cover_the_record():
    assert tile_starts(1000, 1000) == [0]
    assert tile_starts(500, 1000) == [0]
    assert tile_starts(2500, 1000) == [0, 750, 1500]
    assert tile_starts(6000, 1000) == [0, 1000, 2000, 3000, 4000, 5000]


def test_presets():
    assert cnn_settings("paper").n_samples == 15000 and cnn_settings("paper").lr == 1e-4
    cpu = cnn_settings("cpu", epochs=3, lr=5e-4)
    assert (cpu.n_samples, cpu.epochs, cpu.lr) == (1000, 3, 5e-4)
    with pytest.raises(ValueError, match="unknown cnn preset 'gpu'"):
        cnn_settings("gpu")
    with pytest.raises(ValueError, match="--batch-size must be positive"):
        cnn_settings("cpu", batch_size=0)


# -- signals --------------------------------------------------------------------------------

def test_prepare_and_window_pad_at_the_front():
    x = np.vstack([np.full(300, 5.0, np.float32) + np.arange(300) * 0.001] * 12)
    x[3, 10] = np.nan
    p = prepare(x, 100.0)
    assert p.dtype == np.float16 and p[3, 10] == 0
    assert abs(float(np.median(p[0]))) < 1e-3            # the lead's 5 mV offset is removed
    s = Signals.from_arrays([x], 100.0)
    w = s.window(0, 0, 400)
    assert w.shape == (12, 400) and not w[:, :100].any()   # 300 samples, front-padded to 400
    np.testing.assert_allclose(w[0, 100:], p[0].astype(np.float32))
    assert s.window(0, 250, 100, [0, 6]).shape == (2, 100)


def test_signal_cache_decodes_once_and_redoes_only_changed_records(synth200, tmp_path):
    import shutil

    data = tmp_path / "d"
    shutil.copytree(synth200, data)
    cache = SignalCache(tmp_path / "cache", "d", 100)
    first = cache.build(data, jobs=2)
    assert (first["records"], first["decoded"], first["errors"]) == (200, 200, 0)
    second = cache.build(data, jobs=2)
    assert (second["decoded"], second["reused"]) == (0, 200)
    sig, index = cache.open()
    assert len(sig) == 200 and set(sig.length) == {1000} and list(sig.ids) == sorted(sig.ids)
    # the cached signal is the record at 100 Hz, median removed (float16)
    from ecgfeat.datasets import open_dataset
    ds = open_dataset(data)
    ref = ds.refs()[5]
    rec = ds.read(ref, fs=100)
    i = list(sig.ids).index(ref.record_id)
    np.testing.assert_allclose(sig.window(i, 0, 1000), prepare(rec.signal, 100).astype(np.float32))
    # one record rewritten with a truncated .dat: only it is decoded again, and it becomes an error row
    dat = data / f"{ref.record_id}.dat"
    dat.write_bytes(dat.read_bytes()[:100])
    third = cache.build(data, jobs=1)
    assert (third["decoded"], third["reused"], third["errors"]) == (1, 199, 1)
    sig, index = cache.open()
    assert len(sig) == 199 and ref.record_id in str(index.loc[ref.record_id, "error"])


# -- estimator -------------------------------------------------------------------------------

def test_same_seed_same_data_gives_identical_predictions():
    X, Y = toy_signals()
    p1 = CNNClassifier(TINY, seed=3, n_jobs=2).fit(X, Y).predict_proba(X)
    p2 = CNNClassifier(TINY, seed=3, n_jobs=2).fit(X, Y).predict_proba(X)
    p3 = CNNClassifier(TINY, seed=4, n_jobs=2).fit(X, Y).predict_proba(X)
    assert p1.shape == (48, 2)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_cnn_learns_a_toy_problem_and_validation_picks_the_best_epoch():
    # 192 records = 12 steps an epoch: with 6 (96 records) BatchNorm's running statistics, which the
    # validation pass uses, had not settled in 6 epochs, and the run hung on numpy's random stream
    X, Y = toy_signals(192)
    Xv, Yv = toy_signals(32, seed=1)
    est = CNNClassifier(CNNSettings(fs=100.0, window_s=2.0, epochs=6, batch_size=16, patience=3), seed=0, n_jobs=2)
    est.fit(X, Y, validation=(Xv, Yv))
    hist = est.history_
    assert 1 <= len(hist) <= 6 and all("val_auc" in h for h in hist)
    best = max(hist, key=lambda h: h["val_auc"])
    assert est.best_epoch_ == best["epoch"] and best["best"]
    from ecgfeat.deep.estimator import macro_auc
    assert macro_auc(Yv, est.predict_proba(Xv)) == pytest.approx(best["val_auc"])
    assert best["val_auc"] > 0.9


def test_single_lead_network_reads_only_its_lead():
    X, Y = toy_signals()
    est = CNNClassifier(TINY, leads=("V1",), seed=0, n_jobs=2).fit(X, Y)
    assert est.network_.conv1.in_channels == 1
    Xz = Signals([p.copy() for p in X.parts], X.part, X.offset, X.length, X.ids, X.fs)
    Xz.parts[0][[i for i in range(12) if LEADS[i] != "V1"]] = 0          # other leads wiped: same output
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(Xz))


def test_resume_after_interruption_ends_with_the_same_weights(tmp_path):
    X, Y = toy_signals()
    Xv, Yv = toy_signals(16, seed=1)
    settings = CNNSettings(fs=100.0, window_s=2.0, epochs=3, batch_size=16, patience=None)
    whole = CNNClassifier(settings, seed=1, n_jobs=2).fit(X, Y, validation=(Xv, Yv))

    class Kill(Exception):
        pass

    def die_after_two(rec):
        if rec["epoch"] == 2:
            raise Kill()
    with pytest.raises(Kill):
        CNNClassifier(settings, seed=1, n_jobs=2).fit(X, Y, validation=(Xv, Yv), checkpoint=tmp_path, on_epoch=die_after_two)
    seen = []
    resumed = CNNClassifier(settings, seed=1, n_jobs=2).fit(X, Y, validation=(Xv, Yv), checkpoint=tmp_path,
                                                            on_epoch=lambda r: seen.append(r["epoch"]))
    assert seen == [3]                                     # epochs 1-2 were not trained again
    assert [h["val_auc"] for h in resumed.history_] == [h["val_auc"] for h in whole.history_]
    np.testing.assert_array_equal(resumed.predict_proba(Xv), whole.predict_proba(Xv))


def test_wrong_sampling_rate_and_missing_cuda_are_clear_errors():
    X, Y = toy_signals(8)
    with pytest.raises(ValueError, match="signals at 100 Hz, the network takes 500 Hz"):
        CNNClassifier(CNNSettings(fs=500.0, window_s=2.0)).fit(X, Y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            CNNClassifier(TINY, device="cuda").fit(X, Y)


def test_deep_explainer_runs_and_attributions_add_up():
    """shap.DeepExplainer on the trained ResNet-34-1D: attributions of one record sum to the model
    output minus the expected value (shap's own additivity check, and ours)."""
    import shap

    X, Y = toy_signals(48)
    est = CNNClassifier(TINY, seed=0, n_jobs=2).fit(X, Y)
    net = est.network_.eval()
    n = TINY.n_samples
    background = torch.from_numpy(np.stack([X.window(i, 0, n) for i in range(1, 21)]))
    record = torch.from_numpy(X.window(0, 0, n)[None])
    explainer = shap.DeepExplainer(net, background)
    values = explainer.shap_values(record, check_additivity=True)
    values = np.asarray(values)
    assert values.shape == (1, 12, n, 2)
    with torch.no_grad():
        out = net(record).numpy()[0]
    expected = np.asarray(explainer.expected_value)
    np.testing.assert_allclose(values[0].sum(axis=(0, 1)), out - expected, atol=1e-2)


# -- train / predict through the CLI ----------------------------------------------------------

@pytest.fixture(scope="module")
def cnn_run(synth200, tmp_path_factory):
    """`ecgfeat train --model cnn` on 200 synthetic records, one epoch (the plumbing, not accuracy)."""
    import json

    from typer.testing import CliRunner

    from ecgfeat.cli import app

    ws = tmp_path_factory.mktemp("cnnws")
    res = CliRunner().invoke(app, ["--workspace", str(ws), "train", "--model", "cnn", "--data", str(synth200),
                                   "--epochs", "1", "--n-boot", "50", "--jobs", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return ws, out


def test_cnn_model_folder_is_complete_and_uses_the_classical_folds(cnn_run, synth200, tmp_path):
    import json

    import pandas as pd

    from ecgfeat.extraction import run_extract
    from ecgfeat.features import FeatureSettings
    from ecgfeat.training import TrainConfig, load_matrix

    ws, out = cnn_run
    folder = ws / "models" / "cnn-s200-cpsc9-paper-all"
    assert out["model_dir"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metrics.json", "model", "predictions.parquet",
                                                         "thresholds.json"]
    assert [p.name for p in (folder / "model").iterdir()] == ["network.pt"]
    assert not any(p.name.endswith(".ckpt") for p in (ws / "models").iterdir())     # checkpoint removed
    m = json.loads((folder / "metrics.json").read_text())
    assert m["estimator"] == "cnn" and m["preset"] == "cpu" and m["n_records"] == 20 and len(m["epochs"][0]) == 1
    assert set(m["macro"]) == {"precision", "recall", "f1", "auc", "accuracy"}
    config = json.loads((folder / "config.json").read_text())
    assert config["network"]["settings"]["fs"] == 100.0 and config["network"]["n_samples"] == 1000
    assert "torch" in config["libraries"]
    # the same records in the same folds as a classical model of the same dataset
    run_extract(synth200, tmp_path / "store", FeatureSettings(families=("expert",)), jobs=2)
    X, _, _, folds, _ = load_matrix(TrainConfig(model="xgb", dataset="s200", store=str(tmp_path / "store")))
    pred = pd.read_parquet(folder / "predictions.parquet").set_index("record_id")
    assert list(pred.index) == list(X.index)
    np.testing.assert_array_equal(pred["fold"].to_numpy(), folds + 1)


def test_cnn_predict_gives_the_saved_probabilities(cnn_run, synth200):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from ecgfeat.cli import app

    ws, _ = cnn_run
    folder = ws / "models" / "cnn-s200-cpsc9-paper-all"
    pred = pd.read_parquet(folder / "predictions.parquet").set_index("record_id")
    rid = pred.index[pred["tested"]][0]
    res = CliRunner().invoke(app, ["--workspace", str(ws), "predict", str(synth200 / f"{rid}.hea"),
                                   "--model", folder.name, "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["model"] == folder.name and got["errors"] == []
    probs = got["records"][0]["probabilities"]
    for c, p in probs.items():
        assert p == pytest.approx(pred.loc[rid, f"y_score__{c}"], abs=1e-4)


def test_cnn_model_file_tampered_or_pickled_is_refused(cnn_run, tmp_path):
    import hashlib
    import json
    import pickle
    import shutil

    from ecgfeat.models.persist import ModelFileError
    from ecgfeat.predict import load_model

    ws, _ = cnn_run
    folder = tmp_path / "m"
    shutil.copytree(ws / "models" / "cnn-s200-cpsc9-paper-all", folder)
    net = folder / "model" / "network.pt"
    data = bytearray(net.read_bytes())
    data[-10] ^= 0xFF
    net.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256 differs from config.json"):
        load_model(folder)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    net.write_bytes(pickle.dumps({"conv1.weight": Evil()}))
    config = json.loads((folder / "config.json").read_text())
    config["network"]["sha256"] = hashlib.sha256(net.read_bytes()).hexdigest()   # the attacker fixes the hash too
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="not a ResNet-34-1D state_dict"):
        load_model(folder)


def test_cnn_cli_user_errors(cnn_run, synth200, tmp_path):
    import json

    from typer.testing import CliRunner

    from ecgfeat.cli import app

    ws, _ = cnn_run
    run = CliRunner().invoke
    base = ["--workspace", str(tmp_path), "train", "--data", str(synth200)]
    res = run(app, base + ["--model", "cnn", "--families", "expert"])
    assert res.exit_code == 1 and "apply to the classical models, not cnn" in res.output
    res = run(app, base + ["--model", "xgb", "--epochs", "3"])
    assert res.exit_code == 1 and "apply to --model cnn only" in res.output
    res = run(app, base + ["--model", "cnn", "--preset", "seed"])
    assert res.exit_code == 1 and "--preset 'seed': unknown for cnn; presets are cpu, paper" in res.output
    # --resume with a checkpoint of another configuration is refused, naming what differs
    ckpt = tmp_path / "models" / ".cnn-s200-cpsc9-paper-all.ckpt"
    ckpt.mkdir(parents=True)
    (ckpt / "run.json").write_text(json.dumps({"model": "cnn", "seed": 99}))
    res = run(app, base + ["--model", "cnn", "--epochs", "1", "--resume"])
    assert res.exit_code == 1 and "the checkpoint is of another configuration" in res.output and "seed" in res.output


def test_cnn_cv_tests_every_record_once_and_refits_for_the_median_best_epoch(synth200, tmp_path):
    import json

    import pandas as pd

    from ecgfeat.training import TrainConfig, train

    settings = CNNSettings(preset="test", fs=100.0, window_s=2.0, epochs=2, batch_size=32, patience=None).to_dict()
    cfg = TrainConfig(model="cnn", dataset="s200", store="", protocol="cv", preset="test", n_boot=20, jobs=2,
                      cnn=settings, data_path=str(synth200), cache=str(tmp_path / "cache"))
    res = train(cfg, tmp_path / "models")
    folder = tmp_path / "models" / "cnn-s200-cpsc9-cv-all-test"
    pred = pd.read_parquet(folder / "predictions.parquet")
    assert res["metrics"]["n_records"] == 200 and pred["tested"].all() and sorted(pred["fold"].unique()) == list(range(1, 11))
    m = json.loads((folder / "metrics.json").read_text())
    assert len(m["epochs"]) == 10
    best = [max(h, key=lambda e: e["val_auc"])["epoch"] for h in m["epochs"]]
    config = json.loads((folder / "config.json").read_text())
    assert config["network"]["best_epoch"] == int(np.median(best))      # the refit's epoch budget
    assert config["final_model"].startswith("refit on all labelled records")
    assert not (tmp_path / "models" / ".cnn-s200-cpsc9-cv-all-test.ckpt").exists()

"""`ecgfeat extract` into the store: incremental, bad input, kill-safety, the CLI contract."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.datasets import open_dataset
from ecgfeat.extraction import plan, run_extract
from ecgfeat.features import FeatureSettings
from ecgfeat.store import FeatureStore
from ecgfeat.synth import synthesize

runner = CliRunner()
FAST = FeatureSettings(families=("expert", "rhythm"))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("ds") / "small", n=24, seed=3, jobs=1)


def frame(store_root, dataset):
    data = FeatureStore(store_root).read(dataset)
    return data.X, data.y


def test_cli_json_and_second_run_computes_nothing(small, tmp_path):
    store = tmp_path / "store"
    res = runner.invoke(app, ["extract", str(small), "--store", str(store), "--jobs", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert {k: out[k] for k in ("dataset", "records", "computed", "skipped", "errors")} == \
        {"dataset": "small", "records": 24, "computed": 24, "skipped": 0, "errors": 0}
    assert out["records_per_s"] > 0 and set(out) >= {"store", "seconds"}
    again = json.loads(runner.invoke(app, ["extract", str(small), "--store", str(store), "--json"]).stdout.strip().splitlines()[-1])
    assert (again["computed"], again["skipped"]) == (0, 24)
    X, y = frame(store, "small")
    assert X.shape[0] == 24 and X.index.is_unique and y.shape == (24, 9)
    assert {"V1__expert__st60_mv", "all__rhythm__rr_cv", "V5__tsfresh__autocorrelation__lag_5"} <= set(X.columns)
    # the store is plain Parquet: pandas reads a compacted table directly, each record once
    direct = pd.read_parquet(store / "small" / "expert")
    assert len(direct) == 24 and direct["record_id"].is_unique


def test_only_changed_records_and_missing_families_are_computed(small, tmp_path):
    ds_dir = shutil.copytree(small, tmp_path / "copy")
    store = tmp_path / "store"
    run_extract(ds_dir, store, FeatureSettings(families=("expert",)), jobs=1)
    before = FeatureStore(store).read("copy", families=["expert"]).X
    jobs, _, skipped = plan(open_dataset(ds_dir), FeatureStore(store), FAST)
    assert len(jobs) == 24 and skipped == 0 and {j.families for j in jobs} == {("rhythm",)}
    out = run_extract(ds_dir, store, FAST, jobs=1)
    assert out["computed"] == 24
    pd.testing.assert_frame_equal(FeatureStore(store).read("copy", families=["expert"]).X, before)
    # a changed file recomputes that record only
    sig = np.fromfile(ds_dir / "S00005.dat", dtype="<i2")
    sig[:12 * 50] = 0
    sig.tofile(ds_dir / "S00005.dat")
    jobs, _, skipped = plan(open_dataset(ds_dir), FeatureStore(store), FAST)
    assert [j.ref.record_id for j in jobs] == ["S00005"] and skipped == 23
    # touching a file (same bytes, new mtime) recomputes nothing
    os.utime(ds_dir / "S00007.dat", ns=(1, 1))
    assert run_extract(ds_dir, store, FAST, jobs=1)["computed"] == 1
    assert run_extract(ds_dir, store, FAST, jobs=1)["computed"] == 0


def test_bad_records_become_error_rows_and_the_rest_is_extracted(small, tmp_path):
    ds_dir = shutil.copytree(small, tmp_path / "mixed")
    with open(ds_dir / "S00002.dat", "r+b") as fh:
        fh.truncate(1000)
    (ds_dir / "S00003.dat").unlink()
    text = (ds_dir / "S00004.hea").read_text().replace("S00004.dat", "../S00004.dat")
    (ds_dir / "S00004.hea").write_text(text)
    out = run_extract(ds_dir, tmp_path / "store", FAST, jobs=2)
    assert (out["records"], out["computed"], out["errors"]) == (24, 24, 3)
    s = FeatureStore(tmp_path / "store").summary("mixed")
    reasons = {e["record"]: e["reason"] for e in s["first_errors"]}
    assert set(reasons) == {"S00002", "S00003", "S00004"}
    assert reasons["S00002"].startswith(str(ds_dir / "S00002.dat")) and "truncated" in reasons["S00002"]
    assert "missing" in reasons["S00003"] and "outside" in reasons["S00004"]
    assert sorted((e["record"], e["stage"], e["reason"]) for e in out["first_errors"]) == \
        sorted((r, "read", why) for r, why in reasons.items())
    X = FeatureStore(tmp_path / "store").read("mixed").X
    good = X.drop(index=["S00002", "S00003", "S00004"], errors="ignore")
    assert len(good) == 21 and good["all__expert__hr_bpm"].notna().all()
    # unchanged bad records are not retried
    assert run_extract(ds_dir, tmp_path / "store", FAST, jobs=1)["computed"] == 0
    # the CLI lists this run's reasons after its summary line (a fresh store: all three again)
    res = runner.invoke(app, ["extract", str(ds_dir), "--store", str(tmp_path / "s2"), "--features", "expert"])
    assert res.exit_code == 0, res.output
    listed = [line for line in res.output.splitlines() if line.startswith("error ")]
    assert sorted(listed) == sorted(f"error {r} (read): {why}" for r, why in reasons.items())


def _seq(store) -> int:
    """The manifest's part sequence counter (it grows with every committed part), 0 before any."""
    try:
        return json.loads((store / "manifest.json").read_text())["datasets"]["small"]["next_seq"]
    except (OSError, ValueError, KeyError):
        return 0


def test_sigkill_at_several_points_then_rerun_equals_a_clean_run(small, tmp_path):
    """Kill the real CLI (and its workers) at start-up and at several points of its commits."""
    clean = tmp_path / "clean"
    run_extract(small, clean, FAST, jobs=1)
    X_clean, y_clean = frame(clean, "small")
    env = {**os.environ, "ECGFEAT_WRITE_EVERY": "3", "OMP_NUM_THREADS": "1"}
    partial = []
    for trial, after_seq in enumerate((None, 2, 4, 6)):
        store = tmp_path / f"killed{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "ecgfeat", "extract", str(small), "--store", str(store),
                                 "--features", "expert,rhythm", "--jobs", "1"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if after_seq is None:
            time.sleep(0.3)                       # still importing: nothing committed yet
        deadline = time.monotonic() + 60
        while after_seq is not None and _seq(store) <= after_seq and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first: still a valid trial of the rerun
            pass
        proc.wait()
        if (store / "manifest.json").exists():
            X, _ = frame(store, "small")           # readable, each record at most once, values right
            assert X.index.is_unique
            pd.testing.assert_frame_equal(X, X_clean.loc[X.index])
            partial.append(len(X))
        else:
            partial.append(0)
        out = run_extract(small, store, FAST, jobs=1)
        X, y = frame(store, "small")
        assert out["computed"] == 24 - partial[-1] and out["skipped"] == partial[-1]
        pd.testing.assert_frame_equal(X, X_clean)
        pd.testing.assert_frame_equal(y, y_clean)
    assert any(0 < n < 24 for n in partial), partial  # at least one kill landed mid-run
    print(f"4 SIGKILL trials; records committed when killed: {partial}")


def test_default_dataset_is_synthesised_on_first_use(tmp_path, monkeypatch):
    import ecgfeat.workspace as ws

    monkeypatch.setitem(ws.DEFAULT_SYNTH, "n", 18)
    monkeypatch.setitem(ws.DEFAULT_SYNTH, "seconds", 4.0)
    res = runner.invoke(app, ["--workspace", str(tmp_path), "extract", "--features", "expert,rhythm", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["dataset"] == "synthetic" and out["computed"] == 18
    assert (tmp_path / "data" / "synthetic" / "synthetic.json").exists()
    assert (tmp_path / "feature_store" / "manifest.json").exists()


def test_unknown_family_and_missing_path_are_one_line_errors(tmp_path):
    res = runner.invoke(app, ["extract", str(tmp_path), "--features", "expert,wavelets"])
    assert res.exit_code == 1 and res.output.strip() == \
        "error: --features: unknown family 'wavelets'; families are expert, rhythm, tsfresh, quality"
    res = runner.invoke(app, ["extract", str(tmp_path / "nope")])
    assert res.exit_code == 1 and res.output.strip() == f"error: {tmp_path / 'nope'}: no such file or folder"


def test_store_ls_and_info(small, tmp_path):
    store = tmp_path / "store"
    run_extract(small, store, FAST, jobs=1)
    res = runner.invoke(app, ["store", "ls", "--store", str(store), "--json"])
    assert res.exit_code == 0
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert [d["dataset"] for d in out["datasets"]] == ["small"] and out["datasets"][0]["records"] == 24
    res = runner.invoke(app, ["store", "info", "small", "--store", str(store), "--json"])
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["families"] == {"expert": 449, "rhythm": 16}
    assert info["by_lead"]["V1"] == 35 and info["by_lead"]["all"] == 29 + 16
    res = runner.invoke(app, ["store", "info", "nope", "--store", str(store)])
    assert res.exit_code == 1 and "nope" in res.output and "small" in res.output


def test_warm_run_opens_no_dataset_and_a_changed_file_is_re_extracted(small, tmp_path, monkeypatch):
    import ecgfeat.datasets as datasets

    ds_dir = shutil.copytree(small, tmp_path / "warm")
    store = tmp_path / "store"
    assert run_extract(ds_dir, store, FAST, jobs=1)["computed"] == 24
    X_before = FeatureStore(store).read("warm").X
    opened = []
    real_open = datasets.open_dataset
    monkeypatch.setattr(datasets, "open_dataset", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    out = run_extract(ds_dir, store, FAST, jobs=1)
    assert (out["records"], out["computed"], out["skipped"], out["dataset"]) == (24, 0, 24, "warm") and not opened
    # other settings are another question: planned as usual
    assert run_extract(ds_dir, store, FeatureSettings(families=("expert",)), jobs=1)["computed"] == 0 and opened
    opened.clear()
    # a record's signal rewritten: planned, and only that record computed, with its new values
    sig = np.fromfile(ds_dir / "S00005.dat", dtype="<i2")
    sig[:12 * 200] = 0
    sig.tofile(ds_dir / "S00005.dat")
    out = run_extract(ds_dir, store, FAST, jobs=1)
    assert (out["computed"], out["skipped"]) == (1, 23) and opened
    X = FeatureStore(store).read("warm").X
    assert not X.loc["S00005"].equals(X_before.loc["S00005"])
    pd.testing.assert_frame_equal(X.drop(index="S00005"), X_before.drop(index="S00005"))
    # a new file in the folder (say a record copied in) is seen too
    opened.clear()
    assert run_extract(ds_dir, store, FAST, jobs=1)["computed"] == 0 and not opened
    (ds_dir / "notes.txt").write_text("x")
    assert run_extract(ds_dir, store, FAST, jobs=1)["computed"] == 0 and opened


def test_store_option_errors_are_one_line(small, tmp_path):
    missing = tmp_path / "missing"
    res = runner.invoke(app, ["store", "ls", "--store", str(missing)])
    assert res.exit_code == 1 and res.output.strip() == \
        f"error: {missing}: no such feature store (no folder there; `ecgfeat extract --store {missing}` makes one)"
    res = runner.invoke(app, ["store", "info", "small", "--store", str(missing)])
    assert res.exit_code == 1 and res.output.strip().startswith(f"error: {missing}: no such feature store")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a store")
    res = runner.invoke(app, ["extract", str(small), "--store", str(a_file)])
    assert res.exit_code == 1 and res.output.strip() == f"error: {a_file}: --store names a file, not a feature store folder"
    res = runner.invoke(app, ["store", "ls", "--store", str(a_file)])
    assert res.exit_code == 1 and res.output.strip() == f"error: {a_file}: not a feature store (a file, not a folder)"
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["store", "ls", "--store", str(empty)])
    assert res.exit_code == 0 and "empty store" in res.output


def test_median_network_selects_the_median_of_every_input():
    """The comparator network of signal/template.py: every 0/1 input up to 16 items (the 0-1 principle
    proves it for all inputs), then median0 against np.median bit for bit, NaN and ties included."""
    from ecgfeat.signal.template import NETWORK_MAX, median0, median_network

    for n in range(1, 17):
        x = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int8).T.copy()
        for i, j in median_network(n):
            lo = np.minimum(x[i], x[j])
            x[j] = np.maximum(x[i], x[j])
            x[i] = lo
        want = np.sort(x, axis=0)
        assert (x[n // 2] == want[n // 2]).all(), n
        assert n % 2 or (x[n // 2 - 1] == want[n // 2 - 1]).all(), n
    rng = np.random.default_rng(0)
    for n in list(range(1, 40)) + [NETWORK_MAX, NETWORK_MAX + 1, 90]:
        a = rng.standard_normal((n, 3, 40))
        a[:, 0, :5] = np.round(a[:, 0, :5])                 # ties
        a[rng.integers(n), 1, 7] = np.nan                    # a NaN in one column
        got, want = median0(a), np.median(a, axis=0)
        assert got.shape == want.shape and np.array_equal(got, want, equal_nan=True), n
        assert np.isnan(got[1, 7]) and np.isfinite(got[2]).all()

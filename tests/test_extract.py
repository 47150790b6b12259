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

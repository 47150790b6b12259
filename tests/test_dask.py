"""`ecgfeat extract --scheduler`: the Dask backend writes the same store as joblib, survives a
killed worker, and isolates a record that kills its worker. Skips when the dask extra is absent."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest
from typer.testing import CliRunner

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'ecgfeat[dask]')")

from ecgfeat.cli import app  # noqa: E402
from ecgfeat.cluster import ClusterError, parse_scheduler, run_chunks  # noqa: E402
from ecgfeat.datasets import RecordRef  # noqa: E402
from ecgfeat.extraction import Job, run_extract  # noqa: E402
from ecgfeat.features import FeatureSettings  # noqa: E402
from ecgfeat.store import FeatureStore  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 one-thread worker processes on 127.0.0.1 (one failure allowed per task,
    so the poison-record test needs 4 worker restarts rather than 8)."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=":0", silence_logs=50) as lc:
            yield lc


@pytest.fixture(scope="module")
def joblib_store(synth200, tmp_path_factory):
    root = tmp_path_factory.mktemp("joblib") / "store"
    run_extract(synth200, root, FeatureSettings(), jobs=2)
    return root


def same_store(a, b, dataset="s200"):
    da, db = FeatureStore(a).read(dataset), FeatureStore(b).read(dataset)
    assert da.X.index.is_unique and len(da.X) == 200
    pd.testing.assert_frame_equal(da.X, db.X)
    pd.testing.assert_frame_equal(da.y, db.y)
    pd.testing.assert_frame_equal(da.info, db.info)
    sa, sb = FeatureStore(a).summary(dataset), FeatureStore(b).summary(dataset)
    assert {k: sa[k] for k in ("records", "families", "versions", "errors")} == \
        {k: sb[k] for k in ("records", "families", "versions", "errors")}


def test_cli_on_a_two_worker_cluster_writes_the_joblib_store(cluster, synth200, joblib_store, tmp_path):
    store = tmp_path / "store"
    res = runner.invoke(app, ["extract", str(synth200), "--store", str(store), "--scheduler",
                              cluster.scheduler_address, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert (out["computed"], out["skipped"], out["errors"], out["scheduler"]) == (200, 0, 0, cluster.scheduler_address)
    same_store(store, joblib_store)
    # the incremental rules are the store's: a second run on the cluster computes nothing
    again = json.loads(runner.invoke(app, ["extract", str(synth200), "--store", str(store), "--scheduler",
                                           cluster.scheduler_address, "--json"]).stdout.strip().splitlines()[-1])
    assert (again["computed"], again["skipped"], again["cluster_start_s"]) == (0, 200, None)


def test_a_worker_killed_mid_run_loses_no_record(cluster, synth200, joblib_store, tmp_path):
    client = distributed.Client(cluster)
    before = client.run(os.getpid)
    victim = sorted(before.values())[0]
    seen, killed = [], []

    def progress(n):
        seen.append(n)
        if len(seen) == 2:               # both workers are busy with the chunks in flight
            os.kill(victim, signal.SIGKILL)
            killed.append(sum(seen))
    store = tmp_path / "store"
    out = run_extract(synth200, store, FeatureSettings(), scheduler=cluster.scheduler_address, progress=progress)
    client.wait_for_workers(2, timeout=60)
    after = client.run(os.getpid)
    client.close()
    assert killed and killed[0] < 200 and victim not in after.values()   # it died mid-run and was replaced
    assert sum(seen) == 200 and out["computed"] == 200 and out["errors"] == 0   # every record once
    same_store(store, joblib_store)


def _poison(chunk):
    """Dies like a reader segfaulting on record 'bad'; returns the chunk's record ids otherwise."""
    if any(job.ref.record_id == "bad" for job in chunk):
        os.kill(os.getpid(), signal.SIGKILL)
    return [job.ref.record_id for job in chunk]


def test_a_record_that_kills_its_workers_becomes_an_error_row_and_its_chunk_mates_survive(cluster):
    import sys

    import cloudpickle

    me = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(me)      # the workers cannot import the tests folder
    try:
        client = distributed.Client(cluster)
        jobs = {r: Job(RecordRef(r, f"/data/{r}.hea"), "h", "s", ("expert", "rhythm")) for r in "a bad c d e".split()}
        chunks = [[jobs["a"], jobs["bad"], jobs["c"]], [jobs["d"], jobs["e"]]]
        out = list(run_chunks(client, _poison, chunks))
        client.close()
    finally:
        cloudpickle.unregister_pickle_by_value(me)
    flat = [r for batch in out for r in batch]
    assert sorted(r for r in flat if isinstance(r, str)) == ["a", "c", "d", "e"]
    failed = [r for r in flat if not isinstance(r, str)]
    assert [(r.record_id, r.source_hash, [s for s, _ in r.errors]) for r in failed] == [("bad", "h", ["expert", "rhythm"])]
    assert failed[0].errors[0][1].startswith("/data/bad.hea: worker failed on this record: KilledWorker")


def test_local_n_starts_and_closes_its_own_cluster(synth200, joblib_store, tmp_path):
    out = run_extract(synth200, tmp_path / "store", FeatureSettings(families=("expert",)), scheduler="local:1",
                      limit=8)
    assert (out["computed"], out["errors"], out["scheduler"]) == (8, 0, "local:1") and out["cluster_start_s"] > 0
    got = FeatureStore(tmp_path / "store").read("s200", families=["expert"]).X
    want = FeatureStore(joblib_store).read("s200", families=["expert"]).X
    pd.testing.assert_frame_equal(got, want.loc[got.index])


@pytest.mark.parametrize("spec, message", [
    ("local:0", "--scheduler local:0: expected local:N with N >= 1 workers"),
    ("localhost:8786", "--scheduler localhost:8786: expected tcp://HOST:PORT (a running `dask scheduler`) "
                       "or local:N (a LocalCluster of N workers on this machine)"),
])
def test_bad_scheduler_specs_are_one_line_errors(spec, message, synth200, tmp_path):
    with pytest.raises(ClusterError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_scheduler(spec)
    res = runner.invoke(app, ["extract", str(synth200), "--store", str(tmp_path / "s"), "--scheduler", spec])
    assert res.exit_code == 1 and res.output.strip() == f"error: {message}"
    assert not (tmp_path / "s").exists()


def test_no_scheduler_listening_is_a_one_line_error(synth200, tmp_path):
    import socket
    with socket.socket() as s:           # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = runner.invoke(app, ["extract", str(synth200), "--store", str(tmp_path / "s"), "--limit", "2",
                              "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert res.exit_code == 1, res.output
    assert res.output == f"error: --scheduler tcp://127.0.0.1:{port}: no Dask scheduler answered (Connection refused)\n"
    assert not (tmp_path / "s" / "manifest.json").exists()


def test_the_readme_two_machine_commands_on_one_host(synth200, joblib_store, tmp_path):
    """The README's recipe, with both 'machines' on 127.0.0.1: `dask scheduler`, `dask worker`
    (the dask CLI, separate processes), then `ecgfeat extract --scheduler tcp://...`."""
    import subprocess
    import sys
    import time

    bin_dir = os.path.dirname(sys.executable)
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([os.path.join(bin_dir, "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen([os.path.join(bin_dir, "dask"), "worker", address, "--nworkers", "2",
                                       "--nthreads", "1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        store = tmp_path / "store"
        res = subprocess.run([sys.executable, "-m", "ecgfeat", "extract", str(synth200), "--store", str(store),
                              "--limit", "24", "--scheduler", address, "--json"], capture_output=True, text=True,
                             env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert (out["computed"], out["errors"]) == (24, 0)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)
    got, want = FeatureStore(store).read("s200"), FeatureStore(joblib_store).read("s200")
    pd.testing.assert_frame_equal(got.X, want.X.loc[got.X.index])
    pd.testing.assert_frame_equal(got.info, want.info.loc[got.info.index])


def test_without_the_dask_extra_the_error_says_how_to_install_it(synth200, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)     # `import distributed` raises ImportError
    res = runner.invoke(app, ["extract", str(synth200), "--store", str(tmp_path / "s"), "--scheduler", "local:2"])
    assert res.exit_code == 1
    assert res.output == "error: --scheduler needs Dask, which is not installed: pip install 'ecgfeat[dask]'\n"
    assert not (tmp_path / "s").exists()

"""Faults: SIGKILL of `extract` and `train` at random moments, and two `extract` runs on one store.

- extract: a real writer process (forked from this one, so that 27 trials do not pay 27 Python
  start-ups; `tests/test_extract.py` kills the real CLI at start-up and between commits), 4 records
  per commit, is SIGKILLed at seeded random moments: right at its start, after a random number of
  its commits plus a random part of a batch (progress-based, so a loaded machine does not shift
  the kills past the end), after its last batch (in the compaction), and at exact points (between
  a manifest's temp file and its rename; before and after the compaction's commit). After each
  kill the store opens, lists only complete part files and every record it holds equals the clean
  run's; a rerun then finishes and the store equals the clean run's (values, labels, errors,
  status, summary, one part per table, no files the manifest does not list). Two stores are also
  killed four times in a row before they are finished.
- train: the real CLI is SIGKILLed at random moments and while it writes the model folder: the
  models folder then holds no folder of that name or a complete one that loads and holds the
  clean run's predictions, never a half-written one; the next run cleans what the killed one left.
- two `extract` processes on one store at once (same dataset, or two datasets) both succeed and
  the store equals single runs'.

The terminal summary prints the tally (conftest.py, `trial_log`).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ecgfeat.extraction import run_extract
from ecgfeat.features import FeatureSettings
from ecgfeat.store import FeatureStore
from ecgfeat.store import _files as F
from ecgfeat.synth import synthesize

N = 40
DS = "d40"
SETTINGS = FeatureSettings()     # expert, rhythm, tsfresh-fast: records + 3 families + errors per commit
WRITE_EVERY = 4                  # records per commit in the killed runs: 10 commits, then the compaction
BATCHES = N // WRITE_EVERY
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
VOLATILE = ("updated", "path", "bytes", "bytes_on_disk")   # summary keys that differ between equal stores


def _tally(log: dict, kind: str) -> dict:
    return log.setdefault(kind, {"run": 0, "ok": 0, "phases": Counter()})


# ----------------------------------------------------------------------------- extract: helpers

@pytest.fixture(scope="module")
def d40(tmp_path_factory) -> Path:
    return synthesize(tmp_path_factory.mktemp("faults") / DS, n=N, seed=5, jobs=1)


def _extract_child(path: str, root: str, hook: str | None = None) -> None:
    """The writer: run_extract with 4 records per commit (runs in a forked process)."""
    from ecgfeat import extraction
    from ecgfeat.store import store as store_mod

    extraction.WRITE_EVERY = extraction.CHUNK = WRITE_EVERY
    if hook == "manifest-tmp":   # die between writing the manifest's temp file and renaming it (3rd commit)
        commits, replace = [], os.replace

        def replace_or_die(src, dst):
            if Path(dst).name == F.MANIFEST:
                commits.append(src)
                if len(commits) == 3:
                    assert Path(src).is_file()
                    os.kill(os.getpid(), signal.SIGKILL)
            return replace(src, dst)
        os.replace = replace_or_die          # this process dies here: no one else sees the patch
    elif hook:   # die by SIGKILL at an exact point of the compaction
        compacting = []
        compact = store_mod.FeatureStore.compact

        def flagged(self, dataset):
            compacting.append(True)
            return compact(self, dataset)

        def die_then(fn):
            def wrapper(*a, **k):
                if compacting:
                    os.kill(os.getpid(), signal.SIGKILL)
                return fn(*a, **k)
            return wrapper
        store_mod.FeatureStore.compact = flagged
        name = {"compact-before-commit": "commit_manifest", "compact-after-commit": "clean_dataset"}[hook]
        setattr(F, name, die_then(getattr(F, name)))
    extraction.run_extract(path, root, SETTINGS, jobs=1)


def _fork_extract(path: Path, root: Path, hook: str | None = None):
    proc = mp.get_context("fork").Process(target=_extract_child, args=(str(path), str(root), hook), daemon=True)
    proc.start()
    return proc


def _state(root: Path, ds: str = DS) -> dict:
    s = FeatureStore(root)
    d = s.read(ds)
    return {"X": d.X, "y": d.y, "info": d.info, "errors": d.errors, "folds": d.folds, "status": s.status(ds),
            "summary": {k: v for k, v in s.summary(ds).items() if k not in VOLATILE}}


@pytest.fixture(scope="module")
def reference(d40, tmp_path_factory):
    """The clean run (same writer, same batches), and how long it took."""
    root = tmp_path_factory.mktemp("reference") / "store"
    t0 = time.monotonic()
    proc = _fork_extract(d40, root)
    proc.join(120)
    seconds = time.monotonic() - t0
    assert proc.exitcode == 0
    ref = _state(root)
    assert len(ref["X"]) == N and ref["summary"]["parts"] == {t: 1 for t in ref["summary"]["parts"]}
    assert ref["summary"]["errors"] >= 1          # an error row takes part in the trials too
    return ref, seconds


def _manifest(root: Path) -> dict:
    try:
        return json.loads((root / F.MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _next_seq(root: Path) -> int:
    return _manifest(root).get("datasets", {}).get(DS, {}).get("next_seq", 0)


def _kill(proc, delay: float | None = None, until=None, jitter: float = 0.0) -> bool:
    """SIGKILL `proc` after `delay` s, or `jitter` s after `until()` holds; True when it was killed,
    False when it had finished first."""
    t0 = time.monotonic()
    if until is not None:
        while proc.is_alive() and not until() and time.monotonic() - t0 < 60:
            time.sleep(0.001)
        time.sleep(jitter)
    else:
        proc.join(delay)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(60)
    assert proc.exitcode in (0, -signal.SIGKILL), f"the writer failed by itself (exit code {proc.exitcode})"
    return proc.exitcode == -signal.SIGKILL


def _held(root: Path, ref: dict) -> int:
    """After a kill: the store opens, its manifest lists only complete part files, and every record
    it holds equals the clean run's (features, info, labels, errors). Returns how many it holds."""
    store = FeatureStore(root)
    if DS not in store.datasets():
        return 0
    for table, names in _manifest(root)["datasets"][DS]["tables"].items():
        for name in names:
            assert F.PART_RE.match(name) and (root / DS / table / name).is_file(), (table, name)
    d = store.read(DS)
    idx = d.X.index
    assert idx.is_unique and d.info.index.equals(idx) and len(idx) > 0
    assert set(d.X.columns) == set(ref["X"].columns)
    pd.testing.assert_frame_equal(d.X, ref["X"].loc[idx, d.X.columns])
    pd.testing.assert_frame_equal(d.y, ref["y"].loc[idx])
    pd.testing.assert_frame_equal(d.info, ref["info"].loc[idx, d.info.columns], check_dtype=False)
    errs = ref["errors"][ref["errors"]["record_id"].isin(idx)].reset_index(drop=True)
    pd.testing.assert_frame_equal(d.errors, errs, check_dtype=False)
    return len(idx)


def _assert_equals_reference(root: Path, ref: dict) -> None:
    got = _state(root)
    for key in ("X", "y", "info", "errors", "status"):
        pd.testing.assert_frame_equal(got[key], ref[key], obj=key)
    pd.testing.assert_series_equal(got["folds"], ref["folds"])
    assert got["summary"] == ref["summary"]
    # nothing the manifest does not list is left behind (orphan parts, temp files of killed writes)
    listed = {root / ds / t / n for ds, entry in _manifest(root)["datasets"].items()
              for t, names in entry["tables"].items() for n in names}
    on_disk = {p for p in root.rglob("*") if p.is_file()}
    assert on_disk - listed == {root / F.MANIFEST, root / F.LOCK}, sorted(map(str, on_disk - listed))


def _phase(killed: bool, before: int, after: int) -> str:
    if not killed:
        return "finished before the kill"
    if after == N:
        return "killed after the last batch (compaction)"
    return "killed mid-run" if after > before else "killed before a commit"


def _finish(d40: Path, root: Path, held: int, ref: dict) -> None:
    out = run_extract(d40, root, SETTINGS, jobs=1)
    assert (out["computed"], out["skipped"], out["records"]) == (N - held, held, N)
    _assert_equals_reference(root, ref)


# ----------------------------------------------------------------------------- extract: trials

def test_sigkill_extract_at_random_moments_then_rerun_equals_a_clean_run(d40, reference, tmp_path, trial_log):
    ref, clean_s = reference
    batch_s = clean_s / BATCHES          # about one batch of the clean run
    rng = random.Random(0)
    tally = _tally(trial_log, "extract")
    t_start = time.monotonic()
    killed = 0

    def trial(root: Path, before: int, **kill) -> int:
        nonlocal killed
        tally["run"] += 1
        hit = _kill(_fork_extract(d40, root, kill.pop("hook", None)), **kill)
        killed += hit
        held = _held(root, ref)
        assert held >= before            # a kill never loses what earlier runs committed
        tally["phases"][_phase(hit, before, held)] += 1
        return held

    # 19 trials on fresh stores, each finished by a rerun
    modes = ["start"] * 3 + ["random"] * 9 + ["late"] * 4 + ["compact-before-commit", "compact-after-commit",
                                                            "manifest-tmp"]
    rng.shuffle(modes)
    for i, mode in enumerate(modes):
        root = tmp_path / f"single{i}"
        if mode == "start":       # forking, opening the dataset, planning
            held = trial(root, 0, delay=rng.uniform(0, 0.05))
        elif mode == "random":    # after a random number of commits, at a random moment of the next batch
            k = rng.randrange(1, BATCHES)
            held = trial(root, 0, until=lambda r=root, k=k: _next_seq(r) > k, jitter=rng.uniform(0, 1) * batch_s)
        elif mode == "late":      # every batch committed: the compaction runs
            held = trial(root, 0, until=lambda r=root: _next_seq(r) > BATCHES, jitter=rng.uniform(0, 0.1))
        else:                     # exactly before / after the compaction's commit, or inside a commit
            held = trial(root, 0, hook=mode)
            assert held == (WRITE_EVERY if mode == "manifest-tmp" else N), (mode, held)
        _finish(d40, root, held, ref)
        tally["ok"] += 1

    # 2 stores killed 4 times in a row (each run recovers from the previous crash), then finished
    for j in range(2):
        root = tmp_path / f"repeated{j}"
        held = 0
        for _ in range(4):
            seq, k = _next_seq(root), rng.randrange(0, max(1, (N - held) // WRITE_EVERY - 1))
            held = trial(root, held, until=lambda r=root, s=seq + k: _next_seq(r) > s, jitter=rng.uniform(0, 1) * batch_s)
            tally["ok"] += 1
        _finish(d40, root, held, ref)

    seconds = time.monotonic() - t_start
    print(f"{tally['run']} extract kill trials ({killed} killed) in {seconds:.1f} s "
          f"(clean run {clean_s:.2f} s): {dict(tally['phases'])}")
    assert tally["run"] >= 20 and killed >= 20, dict(tally["phases"])
    assert tally["phases"]["killed mid-run"] >= 5, dict(tally["phases"])
    assert tally["phases"]["killed after the last batch (compaction)"] >= 2, dict(tally["phases"])


# ----------------------------------------------------------------------------- train

TRAIN_ARGS = {"xgb": ["--model", "xgb", "--param", "n_estimators=30"], "lr": ["--model", "lr"]}


@pytest.fixture(scope="module")
def trainable(tmp_path_factory):
    """A 100-record store, and one clean `ecgfeat train` run per model: (root, {model: (folder, seconds)})."""
    root = tmp_path_factory.mktemp("train")
    data = synthesize(root / "d100", n=100, seed=7, jobs=1)
    run_extract(data, root / "store", FeatureSettings(families=("expert", "rhythm")), jobs=1)
    clean = {}
    for model in TRAIN_ARGS:
        t0 = time.monotonic()
        proc = _train(root, root / "clean" / model, model)
        assert proc.wait(120) == 0, proc.stderr.read()
        clean[model] = (root / "clean" / model / "m", time.monotonic() - t0)
    return root, clean


def _train(root: Path, models: Path, model: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ecgfeat", "train", *TRAIN_ARGS[model], "--data", str(root / "d100"),
           "--store", str(root / "store"), "--out", str(models), "--name", "m", "--n-boot", "50",
           "--jobs", "1", "--json"]
    return subprocess.Popen(cmd, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _model_folder_state(models: Path, clean: Path) -> tuple[str, list[str]]:
    """('absent' | 'complete', leftover dot folders); fails on anything half-written."""
    from ecgfeat.predict import load_model
    from ecgfeat.report.gather import find_models

    names = sorted(p.name for p in models.iterdir()) if models.exists() else []
    visible = [n for n in names if not n.startswith(".")]
    leftovers = [n for n in names if n.startswith(".")]
    assert visible in ([], ["m"]), names
    assert all(re.fullmatch(r"\.m\.(tmp|old)-\d+", n) for n in leftovers), names
    if not visible:
        return "absent", leftovers
    folder = models / "m"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert files == sorted(str(p.relative_to(clean)) for p in clean.rglob("*"))
    config, est = load_model(folder)                # sha256 and structure of every model file
    assert config["classes"] == json.loads((clean / "config.json").read_text())["classes"]
    for doc in ("metrics.json", "thresholds.json"):
        json.loads((folder / doc).read_text())
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "predictions.parquet"),
                                  pd.read_parquet(clean / "predictions.parquet"))
    runs, skipped = find_models(models)             # compare sees the model, never the leftovers
    assert [r.folder.name for r in runs] == ["m"] and not skipped
    return "complete", leftovers


def _writing(models: Path) -> bool:
    try:
        return any(n.startswith(".m.tmp-") for n in os.listdir(models))
    except FileNotFoundError:
        return False


def test_sigkill_train_leaves_the_model_folder_complete_or_absent(trainable, tmp_path, trial_log):
    root, clean = trainable
    rng = random.Random(0)
    tally = _tally(trial_log, "train")
    t_start = time.monotonic()
    plan = [("xgb", "write"), ("xgb", "random"), ("lr", "write"), ("xgb", "write"), ("lr", "random"),
            ("xgb", "write")]
    killed_writing = 0
    for i, (model, mode) in enumerate(plan):
        tally["run"] += 1
        models = tmp_path / model
        if i % 2:   # half the runs replace an existing model of that name, half write a new one
            shutil.rmtree(models / "m", ignore_errors=True)
            shutil.copytree(clean[model][0], models / "m")
        else:
            shutil.rmtree(models / "m", ignore_errors=True)
        proc = _train(root, models, model)
        t0 = time.monotonic()
        if mode == "write":   # the model folder is being written: kill within the next 4 ms
            while proc.poll() is None and not _writing(models) and time.monotonic() - t0 < 60:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.004))
        else:
            time.sleep(rng.uniform(0.3, 1.0) * clean[model][1])
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait(60)
        assert rc in (0, -signal.SIGKILL), proc.stderr.read()
        state, leftovers = _model_folder_state(models, clean[model][0])
        if rc == 0:
            phase = "finished before the kill"
        elif {f".m.tmp-{proc.pid}", f".m.old-{proc.pid}"} & set(leftovers):
            phase = f"killed while writing the model folder (then {state})"
            killed_writing += 1
        else:
            phase = f"killed, nothing half-written (model {state})"
        tally["phases"][phase] += 1
        tally["ok"] += 1
    # a later run finishes and cleans up what the killed ones left (or restores a moved-aside model)
    for model in TRAIN_ARGS:
        models = tmp_path / model
        proc = _train(root, models, model)
        assert proc.wait(120) == 0, proc.stderr.read()
        assert _model_folder_state(models, clean[model][0]) == ("complete", [])
    print(f"{tally['run']} train kill trials in {time.monotonic() - t_start:.1f} s: {dict(tally['phases'])}")
    assert killed_writing >= 1, dict(tally["phases"])


def test_a_model_moved_aside_by_a_killed_run_is_restored(tmp_path):
    """Killed between moving the previous model aside and renaming the new one in: the next
    write restores the previous model before it starts (and removes the dead run's temp folder)."""
    from ecgfeat.training import _write_atomic

    models = tmp_path / "models"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()          # a pid that no longer runs
    (models / f".m.old-{dead}").mkdir(parents=True)
    (models / f".m.old-{dead}" / "config.json").write_text("{}")
    (models / f".m.tmp-{dead}").mkdir()
    seen = []
    _write_atomic(models / "m", lambda folder: (seen.append(sorted(os.listdir(models))),
                                                (folder / "config.json").write_text('{"new": 1}')))
    assert seen[0] == [f".m.tmp-{os.getpid()}", "m"]      # restored before the build; dead temp gone
    assert sorted(os.listdir(models)) == ["m"]
    assert json.loads((models / "m" / "config.json").read_text()) == {"new": 1}


# ----------------------------------------------------------------------------- two extracts at once

def _extract_cli(path: Path, store: Path, out: Path, name: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ecgfeat", "extract", str(path), "--store", str(store), "--jobs", "1", "--json"]
    return subprocess.Popen(cmd, env=ENV, stdout=open(out / f"{name}.out", "w"), stderr=open(out / f"{name}.err", "w"))


def _result(out: Path, name: str, proc) -> dict:
    rc = proc.wait(120)
    err = (out / f"{name}.err").read_text()
    assert rc == 0, f"extract {name} exited {rc}: {err[-2000:]}"
    lines = (out / f"{name}.out").read_text().strip().splitlines()
    return {**json.loads(lines[-1]), "stderr": err}


def _wait_until_waiting(out: Path, procs: dict) -> None:
    """Until every process says on stderr that it waits for the store's lock."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        texts = {n: (out / f"{n}.err").read_text().lower() for n in procs}
        if all("waiting" in t and "lock" in t for t in texts.values()):
            return
        for n, p in procs.items():
            if p.poll() is not None:
                pytest.fail(f"extract {n} exited {p.returncode} instead of waiting for the store's lock: "
                            f"{texts[n][-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"no 'waiting ... lock' message within 60 s: {texts}")


def test_two_extracts_of_one_dataset_at_once_equal_a_single_run(d40, reference, tmp_path, trial_log):
    """The second extract waits for the lock, plans again and finds everything done (or the two
    share the work): each record is computed once and the store equals a single run's. Run twice:
    once with a third writer holding the lock until both wait (a certain overlap), once as a plain race."""
    ref, _ = reference
    tally = _tally(trial_log, "concurrency")
    for trial in ("held", "race"):
        tally["run"] += 1
        root, out = tmp_path / trial, tmp_path / f"{trial}-out"
        out.mkdir()
        if trial == "held":
            holder = FeatureStore(root)
            with holder.lock():
                procs = {n: _extract_cli(d40, root, out, n) for n in ("a", "b")}
                _wait_until_waiting(out, procs)
        else:
            procs = {n: _extract_cli(d40, root, out, n) for n in ("a", "b")}
        res = {n: _result(out, n, p) for n, p in procs.items()}
        for r in res.values():
            assert r["records"] == N and r["computed"] + r["skipped"] == N, r
        assert sum(r["computed"] for r in res.values()) == N, res      # no record computed twice
        if trial == "held":
            assert sorted(r["computed"] for r in res.values()) == [0, N], res
        _assert_equals_reference(root, ref)
        tally["ok"] += 1
        tally["phases"]["same dataset, " + {"held": "lock held until both waited", "race": "plain race"}[trial]] += 1


def test_two_extracts_of_two_datasets_at_once_into_one_store(d40, reference, tmp_path, trial_log):
    ref, _ = reference
    tally = _tally(trial_log, "concurrency")
    tally["run"] += 1
    other = synthesize(tmp_path / "d20", n=20, seed=9, jobs=1)
    run_extract(other, tmp_path / "ref20", SETTINGS, jobs=1)
    ref20 = _state(tmp_path / "ref20", "d20")
    root, out = tmp_path / "store", tmp_path / "out"
    out.mkdir()
    with FeatureStore(root).lock():
        procs = {"a": _extract_cli(d40, root, out, "a"), "b": _extract_cli(other, root, out, "b")}
        _wait_until_waiting(out, procs)
    res = {n: _result(out, n, p) for n, p in procs.items()}
    assert (res["a"]["dataset"], res["a"]["computed"]) == (DS, N)
    assert (res["b"]["dataset"], res["b"]["computed"]) == ("d20", 20)
    assert FeatureStore(root).datasets() == sorted([DS, "d20"])
    _assert_equals_reference(root, ref)
    got = _state(root, "d20")
    for key in ("X", "y", "info", "errors", "status"):
        pd.testing.assert_frame_equal(got[key], ref20[key], obj=key)
    assert got["summary"] == ref20["summary"]
    tally["ok"] += 1
    tally["phases"]["two datasets"] += 1

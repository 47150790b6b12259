"""The thread policy: --jobs -1 takes the cores free now, an explicit N is taken as given."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ecgfeat.resources as R


def test_free_cores_leave_out_other_runnable_work(monkeypatch):
    monkeypatch.setattr(R, "usable_cores", lambda: 4)
    for other, free in ((0, 4), (1, 3), (2.6, 1), (3, 1), (9, 1)):
        monkeypatch.setattr(R, "busy_elsewhere", lambda other=other: other)
        assert R.free_cores() == free and R.resolve_jobs(-1) == free and R.resolve_jobs(None) == free
    assert R.resolve_jobs(3) == 3 and R.resolve_jobs(16) == 16        # the user's number, whatever the load


def test_busy_elsewhere_averages_the_runnable_count_and_falls_back_to_the_load_average(monkeypatch):
    counts = iter([1, 2, 3])
    monkeypatch.setattr(R, "_runnable_now", lambda: next(counts))
    assert R.busy_elsewhere(samples=3, interval_s=0) == 2.0
    monkeypatch.setattr(R, "_runnable_now", lambda: None)               # no /proc (macOS)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 0.5))
    assert R.busy_elsewhere() == 1.5


def test_a_competing_process_takes_a_core_from_the_default():
    if R.usable_cores() < 2:
        pytest.skip("one usable core: the policy can only ever give 1")
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time
        time.sleep(0.3)
        assert R.busy_elsewhere() >= 1.0          # the competitor is runnable in every sample
        assert R.free_cores() <= R.usable_cores() - 1
    finally:
        spin.kill()


def test_the_cli_lets_idle_openmp_threads_sleep_unless_the_user_chose():
    code = "import os, ecgfeat.cli; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "ACTIVE"

"""How many CPU threads a run may keep busy: one policy for extract, train, evaluate and explain.

On a shared machine the cores a process may use (`os.sched_getaffinity`: a container's cpuset, `taskset`;
and a cgroup v2 CPU quota, `/sys/fs/cgroup/cpu.max`) are not all free: other processes hold some of them.
OpenMP runtimes (xgboost, lightgbm, sklearn's HistGradientBoosting, torch) spin-wait on a core they do not
get, so two threads on one free core run *slower* than one (measured on this project: `train --model xgb
--jobs 2` at load 4-6 took 252 s against 25.8 s with `--jobs 1`). So `--jobs -1` (the default) means the
cores free now, not the cores present:

    free = usable cores - other runnable work,   at least 1

"Other runnable work" is the kernel's count of runnable tasks (`/proc/loadavg`, field 4, this process
left out), averaged over three samples 10 ms apart. Not the load average: it lags by a minute both ways (a
competitor that just started is not in it yet; the previous step of a pipeline that just ended still is).
Where /proc is missing (macOS) the 1-minute load average stands in. An explicit `--jobs N` (N > 0) is the
user's call and is taken as given.

`OMP_WAIT_POLICY=PASSIVE` (set by the CLI before any OpenMP library loads, unless the user set it) makes
idle OpenMP threads sleep instead of spinning, which bounds the damage when a competitor appears
mid-run.

>>> from ecgfeat.resources import resolve_jobs
>>> resolve_jobs(3)
3
>>> 1 <= resolve_jobs(-1) <= usable_cores()
True
"""

from __future__ import annotations

import math
import os
import time

__all__ = ["usable_cores", "busy_elsewhere", "free_cores", "resolve_jobs", "quiet_openmp", "JOBS_HELP"]

JOBS_HELP = ("Parallel jobs: -1 = the cores free now (usable cores minus the machine's other running work, "
             "at least 1), N > 0 = exactly N.")


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity set, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _runnable_now() -> int | None:
    """Runnable tasks on the machine at this instant, this process excluded (Linux); None elsewhere."""
    try:
        with open("/proc/loadavg") as fh:
            running = int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - 1)


def busy_elsewhere(samples: int = 3, interval_s: float = 0.01) -> float:
    """Cores' worth of other work: runnable tasks now (mean of `samples`), else the 1-minute load average."""
    counts = []
    for k in range(samples):
        now = _runnable_now()
        if now is None:
            break
        counts.append(now)
        if k + 1 < samples:
            time.sleep(interval_s)
    if counts:
        return sum(counts) / len(counts)
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def free_cores() -> int:
    """Usable cores minus the other work running on them, at least 1."""
    cores = usable_cores()
    return max(1, min(cores, round(cores - busy_elsewhere())))


def resolve_jobs(jobs: int | None) -> int:
    """`--jobs` as a number of workers: N > 0 is taken as given; 0, None or negative = `free_cores()`."""
    if jobs is not None and int(jobs) > 0:
        return int(jobs)
    return free_cores()


def quiet_openmp() -> None:
    """Make idle OpenMP threads sleep rather than spin (unless the user chose); call before OpenMP loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

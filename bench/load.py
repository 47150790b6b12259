"""Training on a busy machine: `train --model xgb` and one cnn epoch, alone and beside a CPU-bound competitor.

    OMP_NUM_THREADS=1 .venv/bin/python bench/load.py [--n 600] [--competitors 1] [--skip-cnn]

A competitor is `python -c "while True: pass"`: one core kept busy for the whole measurement. Each
command runs as a user would run it (`ecgfeat ... --jobs -1`, the default: the cores free now,
ecgfeat/resources.py), and once more with `--jobs <all cores>` beside the competitor, the old default,
to show what oversubscribing OpenMP threads costs. Prints wall seconds and the ratio to the idle run
(target: <= 2x beside one competitor). Run it on an otherwise idle machine; it prints the load it saw.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ECG = [sys.executable, "-m", "ecgfeat"]


def run(args: list[str], ws: Path) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(ECG + ["-w", str(ws)] + args, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: ecgfeat {' '.join(args)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0


class Competitors:
    def __init__(self, n: int):
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()
        time.sleep(1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="synthetic records")
    ap.add_argument("--competitors", type=int, default=1)
    ap.add_argument("--skip-cnn", action="store_true")
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    from ecgfeat.resources import busy_elsewhere, free_cores, usable_cores

    ws = a.workdir or Path(tempfile.mkdtemp(prefix="ecgfeat-load-"))
    data = ws / "data" / "synthetic"
    cores = usable_cores()
    print(f"usable cores {cores}; other runnable work at start {busy_elsewhere():.1f}; "
          f"load average {os.getloadavg()[0]:.2f}; workspace {ws}")
    if not (data / "synthetic.json").exists():
        run(["data", "synth", str(data), "--n", str(a.n), "--seed", "0", "--jobs", str(cores)], ws)
    run(["extract", str(data), "--jobs", str(cores)], ws)
    xgb = ["train", "--model", "xgb", "--data", str(data), "--protocol", "paper", "--n-boot", "200", "--force"]
    cnn = ["train", "--model", "cnn", "--data", str(data), "--protocol", "paper", "--epochs", "1", "--n-boot", "200",
           "--force"]
    jobs = [("xgb", xgb)] + ([] if a.skip_cnn else [("cnn 1 epoch", cnn)])
    if not a.skip_cnn:
        run(cnn, ws)             # builds the signal cache once: the timed runs measure training
    rows = []
    for label, args in jobs:
        idle = run(args + ["--jobs", "-1"], ws)
        with Competitors(a.competitors):
            policy = free_cores()
            busy = run(args + ["--jobs", "-1"], ws)
            forced = run(args + ["--jobs", str(cores)], ws)
        rows.append((label, idle, policy, busy, forced))
    print(f"\n{'command':<14}{'idle s':>9}{'beside ' + str(a.competitors) + ' competitor(s)':>30}"
          f"{'ratio':>8}{'--jobs ' + str(cores) + ' beside':>20}{'ratio':>8}")
    for label, idle, policy, busy, forced in rows:
        print(f"{label:<14}{idle:>9.1f}{busy:>21.1f} (jobs {policy}){busy / idle:>8.2f}x"
              f"{forced:>20.1f}{forced / idle:>8.2f}x")
    print("\ntarget: beside one competitor <= 2x the idle time with the default --jobs -1")


if __name__ == "__main__":
    main()

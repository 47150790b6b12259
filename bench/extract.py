"""Extraction speed, serial fraction, start-up, memory and store size, and the seed's extractor, in one run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/extract.py --seed-src /path/to/ecg-diagnosis \\
        [--data ../shared/data/ptbxl-500] [--synth /tmp/syn10k] [--rss-sizes 1000,10000] [--seed-n 100] [--pairs 3] [--scale-n 3000]

Prints, from one run (each figure says how it was taken):
- cold `ecgfeat extract` of --data (default features) with --jobs 1 and --jobs 2, --pairs times in
  turn: records/s as extract reports it (in-run) and over the whole command (start-up included), and
  the speed-up of each adjacent pair and their median (target >= 1.85x; this VM's speed drifts by a
  third over minutes, so one pair alone moved between 1.64x and 1.93x)
  beside the machine's own ceiling (a numpy kernel's throughput in 2 processes over 1);
- the serial fraction of the --jobs 2 run: CPU seconds of this process tree's processes, sampled from
  /proc: the parent (planning, receiving, writing, compaction, its imports) against the workers,
  per record (target: parent <= 5% of a worker);
- the cold whole command on the first --startup-n records, --jobs 1 and --jobs 2 (start-up dominates);
- the warm whole command (nothing to do; target <= 0.5 s) and store bytes per record;
- peak RSS of the process tree (every process, summed) extracting the first N records of the
  synthetic dataset --synth for each N of --rss-sizes (target: the largest within 10% of the
  smallest), with the parent's CPU per record between the sizes (its marginal cost);
- with --scale-n N: the same speed-up and seed ratio on the first N records of --synth (one pair
  and the seed's extractor on --seed-n of them, around it): the fixed cost of a command (the
  workers' scipy.signal import, ~0.6 s, before any record; the compaction) weighs 12-15% of a
  500-record run and little of a 3,000-record one;
- the seed's own extractor, one process, on --seed-n records of --data (half timed just before the
  `--jobs 1` run, half just after the `--jobs 2` run: the same minutes): `extract_features` of the
  seed's expert_features.py (its repository's checkout at --seed-src; per lead: percentiles and
  moments, a db10 wavelet decomposition and the entropy and statistics of every coefficient
  band, read with wfdb.rdsamp as the seed's baselines.py does), then the whole `extract --jobs 2`
  command's records/s over that rate (target >= 4x). The seed imports biosppy without using it
  in that function; when biosppy is not installed an empty stand-in module is put in its place.
`--scheduler local:N` adds a cold run on Dask and its overhead against joblib --jobs 2; `--naive N` adds the naive route (neurokit2 `ecg_process` + tsfresh EfficientFCParameters on each lead,
--jobs 2 joblib workers) on N records and its ratio to extract; `--like N` the like-for-like ratios
(the same 45 FAST_SET calculators: tsfresh against ecgfeat's tsfresh_fast; neurokit2 ecg_peaks +
ecg_delineate(dwt) against ecgfeat's analyse, on the same 12 leads); `--only-like` prints those alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK = os.sysconf("SC_CLK_TCK")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _procs() -> dict[int, tuple[int, float, int]]:
    """{pid: (ppid, CPU seconds, RSS kB)} of every process, from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            rss = next((int(line.split()[1]) for line in open(f"/proc/{d}/status") if line.startswith("VmRSS:")), 0)
            out[int(d)] = (int(f[1]), (int(f[11]) + int(f[12])) / CLK, rss)
        except (OSError, IndexError, ValueError, StopIteration):
            pass
    return out


def _is_server(pid: int) -> bool:
    """Whether `pid` is multiprocessing's fork server (ecgfeat/pool.py: it imports, then forks workers)."""
    try:
        return b"multiprocessing.forkserver" in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False


def _tree(root: int, procs: dict) -> list[int]:
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def run_cli(args: list[str]) -> dict:
    """Run `ecgfeat ARGS --json`: its output, wall seconds, peak tree RSS (MB), CPU s per process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ecgfeat", *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=ENV, text=True, cwd=ROOT)
    peak, cpu, servers = [0], {}, set()

    def sample():
        while proc.poll() is None:
            procs = _procs()
            pids = _tree(proc.pid, procs)
            peak[0] = max(peak[0], sum(procs[p][2] for p in pids if p in procs))
            for p in pids:
                if p in procs:
                    if p not in cpu and procs[p][0] == proc.pid and _is_server(p):   # workers are its children
                        servers.add(p)
                    cpu[p] = max(cpu.get(p, 0.0), procs[p][1])
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    t.join()
    if proc.returncode:
        raise SystemExit(f"ecgfeat {' '.join(args)} failed ({proc.returncode})")
    parent = cpu.pop(proc.pid, 0.0)
    server = sum(cpu.pop(p, 0.0) for p in servers)
    return {"out": json.loads(out.strip().splitlines()[-1]), "wall": wall, "rss_mb": peak[0] / 1024,
            "parent_cpu": parent, "server_cpu": server, "children_cpu": sorted(cpu.values(), reverse=True)}


def split_cpu(run: dict, workers: int) -> tuple[float, float]:
    """(parent side, workers) CPU s: the `workers` busiest children are workers; the others
    (the resource tracker and the like) count with the parent; the fork server (its imports,
    once per run: start-up, like the parent's own imports) is not in either (run["server_cpu"])."""
    kids = run["children_cpu"]
    return run["parent_cpu"] + sum(kids[workers:]), sum(kids[:workers])


def pair_text(a: dict, b: dict) -> str:
    """One `--jobs 1` run `a` and one `--jobs 2` run `b` of run_cli: their rates and speed-ups."""
    return (f"--jobs 1 {a['out']['records_per_s']:.1f} records/s in-run (whole command {a['wall']:.2f} s), "
            f"--jobs 2 {b['out']['records_per_s']:.1f} ({b['wall']:.2f} s): "
            f"{b['out']['records_per_s'] / a['out']['records_per_s']:.2f}x in-run, {a['wall'] / b['wall']:.2f}x whole")


class SeedTimer:
    """The seed's extract_features in this process, one thread, on the first `n` records, timed in
    two halves: one just before the `--jobs 1` / `--jobs 2` runs and one just after, so that the
    ratio compares the two under the same minutes of this VM (whose speed drifts by up to a third
    over a few minutes; timed once, minutes later, the ratio moved between 3.0x and 4.6x)."""

    def __init__(self, data: str, seed_src: str, n: int):
        import types
        import warnings

        from ecgfeat.datasets import open_dataset

        try:
            import biosppy  # noqa: F401
        except ImportError:   # imported, not used, by the function timed here
            stub = types.ModuleType("biosppy")
            stub.ecg, stub.tools = types.ModuleType("biosppy.ecg"), types.ModuleType("biosppy.tools")
            sys.modules.update({"biosppy": stub, "biosppy.ecg": stub.ecg, "biosppy.tools": stub.tools})
        sys.path.insert(0, seed_src)
        import scipy.stats  # noqa: F401  (the seed calls scipy.stats.entropy after `import scipy`)
        import wfdb
        from expert_features import extract_features

        self._rd, self._fn, self._warnings = wfdb.rdsamp, extract_features, warnings
        paths = [os.path.splitext(r.path)[0] for r in open_dataset(data).refs()[:n]]
        self.halves = [paths[: len(paths) // 2], paths[len(paths) // 2:]]
        self.seconds = [0.0, 0.0]
        self._call(paths[0])    # warm: the first call loads pywt's tables

    def _call(self, path: str) -> None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1), self._warnings.catch_warnings():
            self._warnings.simplefilter("ignore")
            self._fn(self._rd(path)[0])

    def run(self, half: int) -> None:
        t0 = time.perf_counter()
        for p in self.halves[half]:
            self._call(p)
        self.seconds[half] = time.perf_counter() - t0

    def rates(self) -> tuple[float, float, float, int]:
        """(records/s over both halves, before, after, records)."""
        (a, b), (ta, tb) = self.halves, self.seconds
        return (len(a) + len(b)) / (ta + tb), len(a) / ta, len(b) / tb, len(a) + len(b)


def naive_one(path: str, record_id: str) -> float:
    """neurokit2 ecg_process + tsfresh EfficientFCParameters on each of the 12 leads of one record."""
    import warnings

    import neurokit2 as nk
    import pandas as pd
    from threadpoolctl import threadpool_limits
    from tsfresh import extract_features
    from tsfresh.feature_extraction import EfficientFCParameters

    from ecgfeat.datasets import open_dataset

    ds = open_dataset(path)
    ref = next(r for r in ds.refs() if r.record_id == record_id)
    rec = ds.read(ref)
    t0 = time.perf_counter()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lead in range(12):
            try:
                nk.ecg_process(rec.signal[lead], sampling_rate=rec.fs)
            except Exception:
                pass
            df = pd.DataFrame({"id": 0, "value": rec.signal[lead]})
            extract_features(df, column_id="id", column_value="value", default_fc_parameters=EfficientFCParameters(),
                             n_jobs=0, disable_progressbar=True)
    return time.perf_counter() - t0


def like_for_like(path: str, n: int) -> dict:
    """Seconds per record of each side of ratio 2 (single thread, the same records and inputs)."""
    import warnings

    import neurokit2 as nk
    import numpy as np
    import pandas as pd
    from scipy.signal import resample_poly
    from threadpoolctl import threadpool_limits
    from tsfresh import extract_features

    from ecgfeat.datasets import open_dataset
    from ecgfeat.features.extract import analyse
    from ecgfeat.features.settings import TSFRESH_FS
    from ecgfeat.features.tsfresh_fast import FAST_SET, feature_names, tsfresh_fast
    from ecgfeat.signal.filters import FS, diagnostic

    ds = open_dataset(path)
    t = {"tsfresh_fast": 0.0, "tsfresh": 0.0, "analyse": 0.0, "neurokit2": 0.0}
    n_done = nk_failed = 0
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ref in ds.refs()[:n]:
            rec = ds.read(ref).resampled(FS)
            x = resample_poly(diagnostic(rec.signal, FS), int(TSFRESH_FS), int(FS), axis=-1)
            t0 = time.perf_counter()
            ours = tsfresh_fast(x)
            t["tsfresh_fast"] += time.perf_counter() - t0
            df = pd.DataFrame({"id": np.repeat(np.arange(12), x.shape[1]), "value": x.ravel()})
            t0 = time.perf_counter()
            theirs = extract_features(df, column_id="id", column_value="value", default_fc_parameters=FAST_SET,
                                      n_jobs=0, disable_progressbar=True)
            t["tsfresh"] += time.perf_counter() - t0
            assert theirs.shape[1] == len(ours) == len(feature_names(FAST_SET))   # the same features
            t0 = time.perf_counter()
            try:
                analyse(rec)
            except ValueError:
                pass
            t["analyse"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            for lead in range(12):
                try:
                    clean = nk.ecg_clean(rec.signal[lead], sampling_rate=int(FS))
                    _, peaks = nk.ecg_peaks(clean, sampling_rate=int(FS))
                    nk.ecg_delineate(clean, peaks["ECG_R_Peaks"], sampling_rate=int(FS), method="dwt")
                except Exception:
                    nk_failed += 1
            t["neurokit2"] += time.perf_counter() - t0
            n_done += 1
    return {"records": n_done, "per_record_s": {k: v / max(n_done, 1) for k, v in t.items()},
            "n_features": len(feature_names(FAST_SET)), "fs": FS, "tsfresh_fs": TSFRESH_FS, "nk_failed_leads": nk_failed}


def print_like(like: dict) -> None:
    s = like["per_record_s"]
    print(f"ratio 2, like for like ({like['records']} records, 1 thread, the same inputs on both sides):")
    print(f"  tsfresh family, the same {like['n_features']} FAST_SET calculators on the same 12 leads at {like['tsfresh_fs']:g} Hz: "
          f"tsfresh.extract_features {1000 * s['tsfresh']:.1f} ms, ecgfeat tsfresh_fast {1000 * s['tsfresh_fast']:.2f} ms "
          f"per record = {s['tsfresh'] / s['tsfresh_fast']:.0f}x")
    print(f"  delineation of the same 12 leads at {like['fs']:g} Hz: neurokit2 ecg_peaks + ecg_delineate(dwt) "
          f"{1000 * s['neurokit2']:.0f} ms, ecgfeat analyse {1000 * s['analyse']:.0f} ms per record = "
          f"{s['neurokit2'] / s['analyse']:.1f}x ({like['nk_failed_leads']} neurokit2 lead(s) failed and were skipped)")


def bytes_of(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _kernel(seconds: float) -> int:
    """Rounds of a per-record-like numpy kernel (a median and a sort over 12 x 5,000 float64) in
    `seconds` of wall time."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(12, 5000))
    t, n = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        np.median(x, axis=0)
        np.sort(x, axis=1)
        n += 1
    return n


def machine_ceiling(seconds: float = 6.0) -> float:
    """Throughput of the numpy kernel in 2 processes over 1: the speed-up this machine allows
    work like extraction's, before any overhead of ecgfeat's (2.0 on two free physical cores;
    less where the two vCPUs share a core, its caches or memory bandwidth with other guests)."""
    from multiprocessing import get_context

    one = _kernel(seconds)
    with get_context("spawn").Pool(2) as pool:
        two = sum(pool.map(_kernel, [seconds, seconds]))
    return two / one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptbxl-500"))
    ap.add_argument("--synth", help="a synthetic dataset folder (ecgfeat data synth OUT --n N) for the RSS runs")
    ap.add_argument("--rss-sizes", default="1000,10000", help="records of --synth for the RSS runs")
    ap.add_argument("--seed-src", help="a checkout of the seed's repository (its expert_features.py)")
    ap.add_argument("--seed-n", type=int, default=100, help="records for the seed's extractor")
    ap.add_argument("--scale-n", type=int, default=0,
                    help="records of --synth (needed) for one more --jobs 1 / --jobs 2 pair and seed ratio (0: skip)")
    ap.add_argument("--pairs", type=int, default=3, help="interleaved --jobs 1 / --jobs 2 runs for the speed-up")
    ap.add_argument("--startup-n", type=int, default=40,
                    help="records of the start-up runs (whole command, --jobs 1 and 2, 3 interleaved pairs; 0: skip)")
    ap.add_argument("--scheduler", help="also a cold run on Dask (local:N or tcp://host:port; the dask extra)")
    ap.add_argument("--naive", type=int, default=0, help="records for the naive route (0: skip it)")
    ap.add_argument("--like", type=int, default=0, help="records for the like-for-like ratios (0: skip them)")
    ap.add_argument("--only-like", action="store_true", help="print the like-for-like ratios only")
    args = ap.parse_args()
    if args.scale_n and not args.synth:
        ap.error("--scale-n needs --synth (a synthetic dataset folder)")
    if not Path(args.data).exists():
        raise SystemExit(f"{args.data}: not found (the shared real data lives in ../shared/data)")
    if args.only_like:
        print_like(like_for_like(args.data, args.like or 20))
        return
    print(f"load before: {open('/proc/loadavg').read().split()[:3]} (1/5/15-min), {os.cpu_count()} cores")
    seed = SeedTimer(args.data, args.seed_src, args.seed_n) if args.seed_src else None
    with tempfile.TemporaryDirectory() as tmp:
        if seed:
            seed.run(0)
        pairs = []   # interleaved (--jobs 1, --jobs 2) pairs: each ratio from two adjacent runs
        for k in range(args.pairs):
            pairs.append([run_cli(["extract", args.data, "--store", str(Path(tmp) / f"j{jobs}-{k}"),
                                   "--jobs", str(jobs)]) for jobs in (1, 2)])
        if seed:
            seed.run(1)
        j1, j2 = pairs[0]
        s2 = str(Path(tmp) / "j2-0")
        warm = [run_cli(["extract", args.data, "--store", s2, "--jobs", "2"]) for _ in range(3)]
        store_bytes = bytes_of(Path(s2))
        startup = {1: [], 2: []}
        for k in range(3 if args.startup_n else 0):   # a short run: the fixed cost of a cold command
            for jobs in (1, 2):
                startup[jobs].append(run_cli(["extract", args.data, "--store", str(Path(tmp) / f"u{k}{jobs}"),
                                              "--jobs", str(jobs), "--limit", str(args.startup_n)])["wall"])
        dask = run_cli(["extract", args.data, "--store", str(Path(tmp) / "dask"), "--scheduler", args.scheduler]) \
            if args.scheduler else None
        rss = []
        if args.synth:
            for n in (int(x) for x in args.rss_sizes.split(",")):
                rss.append((n, run_cli(["extract", args.synth, "--store", str(Path(tmp) / f"s{n}"), "--jobs", "2",
                                        "--limit", str(n)])))
                rss[-1][1]["bytes"] = bytes_of(Path(tmp) / f"s{n}")
        scale = None
        if args.scale_n:   # (it needs --synth: checked above)
            sseed = SeedTimer(args.synth, args.seed_src, args.seed_n) if args.seed_src else None
            if sseed:
                sseed.run(0)
            scale = [run_cli(["extract", args.synth, "--store", str(Path(tmp) / f"scale{jobs}"), "--jobs", str(jobs),
                              "--limit", str(args.scale_n)]) for jobs in (1, 2)]
            if sseed:
                sseed.run(1)
    ceiling = machine_ceiling()
    n = j1["out"]["computed"]
    assert n == j2["out"]["computed"] and warm[0]["out"]["computed"] == 0
    r1, r2 = j1["out"]["records_per_s"], j2["out"]["records_per_s"]
    w1, w2 = n / j1["wall"], n / j2["wall"]
    print(f"dataset {args.data}: {n} records, default features ({', '.join(j1['out']['families'])})")
    for k, (a, b) in enumerate(pairs):
        print(f"pair {k + 1}: {pair_text(a, b)}")
    in_run = sorted(b["out"]["records_per_s"] / a["out"]["records_per_s"] for a, b in pairs)
    whole = sorted(a["wall"] / b["wall"] for a, b in pairs)
    print(f"--jobs 1: {r1:.1f} records/s in-run, whole command {j1['wall']:.2f} s = {w1:.1f} records/s (pair 1)")
    print(f"--jobs 2: {r2:.1f} records/s in-run, whole command {j2['wall']:.2f} s = {w2:.1f} records/s (pair 1)")
    print(f"speed-up --jobs 2 / --jobs 1, median of {len(pairs)} pairs: {in_run[len(in_run) // 2]:.2f}x in-run "
          f"(range {in_run[0]:.2f}-{in_run[-1]:.2f}), {whole[len(whole) // 2]:.2f}x whole command (target >= 1.85x); "
          f"this machine's own ceiling, a numpy kernel in 2 processes over 1: {ceiling:.2f}x")
    par, wrk = split_cpu(j2, 2)
    print(f"CPU of the --jobs 2 run: parent {par:.2f} s = {1000 * par / n:.2f} ms/record, workers {wrk:.2f} s = "
          f"{1000 * wrk / n:.1f} ms/record; parent / workers = {100 * par / wrk:.1f}% (target <= 5%; the parent's "
          f"figure includes its start-up; the marginal figure of the RSS runs does not); the workers' fork "
          f"server (its imports, once) {j2['server_cpu']:.2f} s")
    if startup[1]:
        m1, m2 = (sum(v) / len(v) for v in (startup[1], startup[2]))
        print(f"cold whole command on the first {args.startup_n} records (start-up dominates), 3 interleaved "
              f"pairs: --jobs 1 {', '.join(f'{w:.2f}' for w in startup[1])} s (mean {m1:.2f}), --jobs 2 "
              f"{', '.join(f'{w:.2f}' for w in startup[2])} s (mean {m2:.2f})")
    walls = ", ".join(f"{w['wall']:.3f}" for w in warm)
    print(f"warm whole command (nothing to do), 3 runs: {walls} s (target <= 0.5 s)")
    print(f"store: {store_bytes / n / 1024:.1f} KB per record ({store_bytes / 1e6:.2f} MB for {n} records)")
    if dask:
        d = dask["out"]
        net = d["computed"] / (d["seconds"] - d["cluster_start_s"])
        print(f"dask --scheduler {args.scheduler}: {d['records_per_s']:.1f} records/s ({net:.1f} after the cluster's "
              f"{d['cluster_start_s']:.1f} s start; whole command {dask['wall']:.2f} s, peak RSS {dask['rss_mb']:.0f} MB); "
              f"overhead against joblib --jobs 2 = {100 * (r2 / d['records_per_s'] - 1):+.1f}% (target <= 20%)")
    if rss:
        (na, a), (nb, b) = rss[0], rss[-1]
        line = ", ".join(f"{m:,} records {r['rss_mb']:.0f} MB ({r['out']['records_per_s']:.1f} rec/s, "
                         f"{r['bytes'] / m / 1024:.1f} KB/record stored)" for m, r in rss)
        print(f"peak RSS of the process tree, synthetic {args.synth}, --jobs 2: {line}; "
              f"{nb:,} / {na:,} = {b['rss_mb'] / a['rss_mb']:.3f} (target <= 1.10)")
        if nb > na:
            (pa_, wa), (pb, wb) = split_cpu(a, 2), split_cpu(b, 2)
            print(f"parent CPU per record between {na:,} and {nb:,} records (its marginal cost): "
                  f"{1000 * (pb - pa_) / (nb - na):.2f} ms against the workers' {1000 * (wb - wa) / (nb - na):.1f} ms "
                  f"= {100 * (pb - pa_) / (wb - wa):.1f}%")
    if scale:
        a, b = scale
        m = a["out"]["computed"]
        print(f"at scale, the first {m:,} records of {args.synth}: {pair_text(a, b)} (target >= 1.85x)")
        if sseed:
            rate, before, after, k = sseed.rates()
            print(f"seed's extractor on {k} of these records: {rate:.1f} records/s ({before:.1f} before the pair, "
                  f"{after:.1f} after); whole `extract --jobs 2` command / seed = {m / b['wall'] / rate:.2f}x "
                  f"(target >= 4x)")
    if seed:
        rate, before, after, m = seed.rates()
        print(f"seed's extractor (expert_features.extract_features, one process, one thread, wfdb.rdsamp): "
              f"{rate:.1f} records/s on {m} records, half just before the --jobs 1 run ({before:.1f}) and half "
              f"just after the --jobs 2 run ({after:.1f})")
        wm = sorted(n / b["wall"] for _, b in pairs)[len(pairs) // 2]
        rm = sorted(b["out"]["records_per_s"] for _, b in pairs)[len(pairs) // 2]
        print(f"whole `extract --jobs 2` command (median of the {len(pairs)} runs) / seed per process: {wm:.1f} / "
              f"{rate:.1f} = {wm / rate:.2f}x (target >= 4x); in-run {rm / rate:.2f}x")
    else:
        print("seed's extractor: skipped (--seed-src: a checkout of the seed's repository)")
    if args.naive:
        from joblib import Parallel, delayed

        from ecgfeat.datasets import open_dataset
        ids = [r.record_id for r in open_dataset(args.data).refs()[: args.naive]]
        t0 = time.perf_counter()
        per = Parallel(n_jobs=2)(delayed(naive_one)(args.data, rid) for rid in ids)
        naive_rate = len(ids) / (time.perf_counter() - t0)
        print(f"naive (neurokit2 ecg_process + tsfresh EfficientFCParameters per lead, 2 jobs): {len(ids)} records "
              f"= {naive_rate:.3f} records/s ({sum(per) / len(per):.1f} s per record per core); extract --jobs 2 "
              f"in-run = {r2 / naive_rate:.0f}x (777 features per lead at the native rate against 45 at 100 Hz: "
              f"mostly less work, see the like-for-like ratios)")
    if args.like:
        print_like(like_for_like(args.data, args.like))
    print(f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()

"""Extraction speed and memory on real records, and the naive route for comparison.

    OMP_NUM_THREADS=1 .venv/bin/python bench/extract.py [--data ../shared/data/ptbxl-500] [--jobs 2] [--naive 10]
    OMP_NUM_THREADS=1 .venv/bin/python bench/extract.py --scheduler local:2 [--naive 0]

Prints: cold and warm `ecgfeat extract` (default features) with --jobs 2 (records/s as reported by
extract itself, and the wall time of the whole command), peak RSS of the whole process tree for
100 and for all records, and the naive route (neurokit2 `ecg_process` + tsfresh
EfficientFCParameters on each lead, one thread per worker, the same number of joblib workers) on
--naive records. Two labelled ratios follow, because they answer different questions:

1. "against the route a user would otherwise run": ecgfeat extract (45 curated tsfresh features per
   lead on the 100 Hz diagnostic band, its own delineation at 500 Hz) over the naive route above
   (777 EfficientFCParameters features per lead at the native 500 Hz plus a full ecg_process). Most
   of that ratio is doing less work, not doing the same work faster.
2. "like for like", on --like records (default 20), each side timed on the same input:
   - tsfresh family: the same 45 FAST_SET calculators on the same 12 leads at the same 100 Hz,
     ecgfeat's vectorised `tsfresh_fast` against `tsfresh.extract_features(default_fc_parameters=FAST_SET)`;
   - delineation: `ecgfeat.features.extract.analyse` (beat detection on all 12 leads, median beats,
     delineation) against neurokit2 `ecg_peaks` + `ecg_delineate` (dwt) on the same 12 leads at the
     same 500 Hz.
`--only-like` skips the extract runs and the naive route and prints ratio 2 only. With --scheduler
(local:N or tcp://host:port; needs the dask extra) a cold run on Dask is added and compared with
the joblib cold run: records/s of each and the Dask overhead (target <= 20%).
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


def _tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS over a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run_cli(args: list[str]) -> tuple[dict, float, int]:
    """(extract --json output, wall seconds, peak RSS of the process tree in MB)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ecgfeat", *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    t.join()
    if proc.returncode:
        raise SystemExit(f"ecgfeat {' '.join(args)} failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - t0, peak[0] // 1024


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptbxl-500"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--naive", type=int, default=10, help="records for the naive route (0: skip it)")
    ap.add_argument("--scheduler", help="also run the cold extract on Dask (local:N or tcp://host:port)")
    ap.add_argument("--like", type=int, default=20, help="records for the like-for-like ratio (0: skip it)")
    ap.add_argument("--only-like", action="store_true", help="print the like-for-like ratio only")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"{args.data}: not found (the shared real data lives in ../shared/data)")
    if args.only_like:
        print_like(like_for_like(args.data, args.like or 20))
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        cold, cold_wall, cold_rss = run_cli(["extract", args.data, "--store", store, "--jobs", str(args.jobs)])
        warm, warm_wall, _ = run_cli(["extract", args.data, "--store", store, "--jobs", str(args.jobs)])
        small, _, small_rss = run_cli(["extract", args.data, "--store", str(Path(tmp) / "s100"), "--jobs", str(args.jobs), "--limit", "100"])
        if args.scheduler:
            dask, dask_wall, dask_rss = run_cli(["extract", args.data, "--store", str(Path(tmp) / "dask"),
                                                 "--scheduler", args.scheduler])
    n = cold["records"]
    print(f"dataset {args.data}: {n} records, default features ({', '.join(cold['families'])}), --jobs {args.jobs}")
    print(f"cold: {cold['computed']} records in {cold['seconds']:.2f} s = {cold['records_per_s']:.1f} records/s "
          f"(whole command incl. start-up: {cold_wall:.2f} s = {n / cold_wall:.1f} records/s; target >= 30)")
    print(f"warm: {warm['computed']} computed, {warm['skipped']} skipped in {warm['seconds']:.3f} s = "
          f"{100 * warm['seconds'] / cold['seconds']:.2f}% of cold (target <= 2%); whole command {warm_wall:.2f} s")
    print(f"peak RSS of the process tree: {small_rss} MB for {small['records']} records, {cold_rss} MB for {n} records")
    if args.scheduler:
        net = dask["computed"] / (dask["seconds"] - dask["cluster_start_s"])
        overhead = 100 * (cold["records_per_s"] / dask["records_per_s"] - 1)
        print(f"dask --scheduler {args.scheduler}: {dask['computed']} records in {dask['seconds']:.2f} s = "
              f"{dask['records_per_s']:.1f} records/s ({net:.1f} records/s after the cluster's "
              f"{dask['cluster_start_s']:.1f} s start; whole command {dask_wall:.2f} s, peak RSS {dask_rss} MB)")
        print(f"joblib --jobs {args.jobs}: {cold['records_per_s']:.1f} records/s; "
              f"dask overhead = {overhead:+.1f}% of the joblib time (target <= 20%)")
    if not args.naive:
        if args.like:
            print_like(like_for_like(args.data, args.like))
        return

    from joblib import Parallel, delayed

    from ecgfeat.datasets import open_dataset
    ids = [r.record_id for r in open_dataset(args.data).refs()[: args.naive]]
    t0 = time.perf_counter()
    per = Parallel(n_jobs=args.jobs)(delayed(naive_one)(args.data, rid) for rid in ids)
    naive_wall = time.perf_counter() - t0
    naive_rate = len(ids) / naive_wall
    print(f"naive (neurokit2 ecg_process + tsfresh EfficientFCParameters per lead, {args.jobs} jobs): {len(ids)} records "
          f"in {naive_wall:.1f} s = {naive_rate:.3f} records/s ({sum(per) / len(per):.1f} s per record per core)")
    print(f"ratio 1, against the route a user would otherwise run (neurokit2 ecg_process + tsfresh "
          f"EfficientFCParameters, 777 features per lead at the native rate): ecgfeat extract (default features: "
          f"45 tsfresh features per lead at 100 Hz, its own delineation) = {cold['records_per_s'] / naive_rate:.0f}x "
          f"records/s (target >= 100x); mostly less work, see ratio 2")
    if args.like:
        print_like(like_for_like(args.data, args.like))


if __name__ == "__main__":
    main()

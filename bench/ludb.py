"""Delineation benchmark against cardiologists' annotations (LUDB format), ecgfeat beside neurokit2.

    .venv/bin/python bench/ludb.py                       # ../shared/data/ludb-dev, all methods
    .venv/bin/python bench/ludb.py PATH --limit 30       # any LUDB-format folder, the first 30 records
    .venv/bin/python bench/ludb.py --methods ecgfeat --reuse /tmp/ludb.json   # neurokit2 rows reused

Prints, per method: per fiducial bias +- SD against the CSE 2-SD tolerances; per interval (PR, QRS,
QT, P) n, bias, MAE and the share within +-20 / 15 / 30 / 20 ms; per-lead QRS duration against that
lead's annotation; the interval MAE by diagnosis; P-wave presence in AF/flutter against sinus
records with an annotated P. The reference is built as `ecgfeat.evaluation.delineation` says.
neurokit2 (`dwt`, `prominence`) runs on lead II, beat by beat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from ecgfeat.evaluation.delineation import (FIDUCIALS, INTERVALS, TARGET_MAE_MS, evaluate_folder,  # noqa: E402
                                            summarise)

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb-dev"
GROUPS = ("normal sinus", "AF/flutter", "bundle branch block", "AV block", "LVH", "ischaemia", "pacing")


def fmt(x, nd=1):
    return "—" if x is None or not np.isfinite(x) else f"{x:+.{nd}f}" if nd >= 0 else f"{x:.0f}"


def report(result: dict, methods: list[str]) -> None:
    sums = {m: summarise(result, m) for m in methods}
    print(f"\n{len(result['records'])} annotated records in {result['folder']}")
    print("\nFiducials (ms, method - reference; CSE: SD within the 2-SD tolerance)")
    print(f"{'fiducial':9} {'CSE 2SD':>7} " + " ".join(f"{m:>24}" for m in methods))
    for f in FIDUCIALS:
        cells = []
        for m in methods:
            s = sums[m]["fiducials"][f]
            ok = "ok" if s["meets_cse"] else "  "
            cells.append(f"{fmt(s['bias'])} ± {s['sd']:5.1f} (n={s['n']:3d}) {ok}")
        print(f"{f:9} {sums[methods[0]]['fiducials'][f]['cse_2sd']:7.1f} " + " ".join(f"{c:>24}" for c in cells))
    print("\nIntervals (ms): n, bias, MAE, share within tolerance")
    for k in INTERVALS:
        s0 = sums[methods[0]]["intervals"][k]
        target = f" target MAE <= {TARGET_MAE_MS[k]:.0f}" if k in TARGET_MAE_MS else ""
        print(f"{k.upper():4} (reference mean {s0['ref_mean']:.0f} ms, within ±{s0['tolerance_ms']:.0f}){target}")
        for m in methods:
            s = sums[m]["intervals"][k]
            print(f"     {m:14} n={s['n']:3d}  bias {fmt(s['bias']):>6}  MAE {s['mae']:5.1f}  within {100 * s['within']:5.1f}%")
    for m in methods:
        lq = sums[m]["lead_qrs"]
        if lq["n"]:
            print(f"\nPer-lead QRS duration, {m}: n={lq['n']} lead-records, bias {fmt(lq['bias'])}, MAE {lq['mae']:.1f} ms"
                  " (target MAE <= 12)")
    print("\nBy diagnosis: n, MAE of PR / QRS / QT (ms)")
    for g in GROUPS:
        recs = [r for r in result["records"] if g in r["groups"]]
        if not recs:
            continue
        cells = []
        for m in methods:
            s = summarise(result, m, recs)["intervals"]
            cells.append(f"{m}: {s['pr']['mae']:5.1f} / {s['qrs']['mae']:5.1f} / {s['qt']['mae']:5.1f}")
        print(f"  {g:20} n={len(recs):3d}  " + "   ".join(cells))
    print("\nP wave reported present")
    for m in methods:
        p = sums[m]["p_presence"]
        print(f"  {m:14} AF/flutter {100 * p['af_flutter']['reported_present']:5.1f}% of {p['af_flutter']['n']}"
              f" (target <= 10%);  sinus with annotated P {100 * p['sinus_with_p']['reported_present']:5.1f}%"
              f" of {p['sinus_with_p']['n']} (target >= 98%)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(DEFAULT))
    ap.add_argument("--methods", default="ecgfeat,nk-dwt,nk-prominence")
    ap.add_argument("--limit", type=int, default=None, help="only the first N annotated records")
    ap.add_argument("--json", default=None, help="write the per-record rows here")
    ap.add_argument("--reuse", default=None, help="a previous --json: methods not run now are taken from it")
    args = ap.parse_args()
    if not Path(args.folder).is_dir():
        sys.exit(f"bench/ludb.py: {args.folder}: no such folder (a LUDB-format folder: WFDB records with "
                 "per-lead annotation files N.i ... N.v6, and optionally ludb.csv)")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    t0 = time.perf_counter()
    result = evaluate_folder(args.folder, methods, limit=args.limit)
    secs = time.perf_counter() - t0
    shown = list(methods)
    if args.reuse and Path(args.reuse).is_file():
        old = {r["record"]: r for r in json.loads(Path(args.reuse).read_text())["records"]}
        extra = sorted({k for r in old.values() for k in r if k not in ("record", "groups", "reference")} - set(methods))
        for r in result["records"]:
            for k in extra:
                if r["record"] in old and k in old[r["record"]]:
                    r[k] = old[r["record"]][k]
        shown += [k for k in ("nk-dwt", "nk-prominence") if k in extra] + [k for k in extra if not k.startswith("nk-")]
    print(f"{len(result['records'])} records, {', '.join(methods)} in {secs:.1f} s")
    report(result, shown)
    errs = [(r["record"], m, r[m]["error"]) for r in result["records"] for m in shown if "error" in r.get(m, {})]
    if errs:
        print(f"\n{len(errs)} method failures: " + "; ".join(f"{a} {m}: {e}" for a, m, e in errs[:8]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, default=float))


if __name__ == "__main__":
    main()

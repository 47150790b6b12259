"""Figures for the README: how well an independent delineator (neurokit2) reads the synthetic set.

    .venv/bin/python bench/synth_check.py [--n 200] [--seed 0]

Writes the synthetic dataset to a temporary folder, runs neurokit2 on lead II of every record, and
prints R-peak recall and PR agreement with params.csv (the same computation the tests assert on).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from ecgfeat.synth import synthesize
from ecgfeat.synth.validate import neurokit_agreement


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthesize(tmp, n=args.n, seed=args.seed, jobs=args.jobs)
        t_synth = time.perf_counter() - t0
        out = neurokit_agreement(tmp, lead="II", tolerance_ms=20)
    print(f"synthesised {args.n} records (seed {args.seed}) in {t_synth:.1f} s "
          f"({args.n / t_synth:.0f} records/s, {args.jobs} jobs)")
    print(f"neurokit2 R peaks, lead II: {out['beats_found']}/{out['beats']} beats = {out['r_peak_recall']:.1%} (target >= 98%)")
    print(f"neurokit2 PR (prominence) within 20 ms of params.csv: {out['pr_within_tol']}/{out['records_with_p']} "
          f"records with P = {out['pr_fraction']:.1%} (target >= 90%); median error {out['pr_error_median_ms']:+.1f} ms, "
          f"median |error| {out['pr_abs_error_median_ms']:.1f} ms")


if __name__ == "__main__":
    main()

"""Feature accuracy against the synthetic generator's ground truth (the figures the tests assert).

    OMP_NUM_THREADS=1 .venv/bin/python bench/accuracy.py [--n 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile

import pandas as pd

from ecgfeat.datasets import open_dataset
from ecgfeat.features import FeatureSettings, extract_features
from ecgfeat.synth import read_params, synthesize
from ecgfeat.vocab import LEADS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(tmp, n=args.n, seed=args.seed, jobs=2)
        params = read_params(tmp)
        rows = []
        for _, rec in open_dataset(tmp).iter_records():
            f, _ = extract_features(rec, FeatureSettings(families=("expert", "rhythm")))
            rows.append({"record": rec.record_id, **f["expert"], **f["rhythm"]})
    f = pd.DataFrame(rows).set_index("record")
    p = params.loc[f.index]
    hr = (f["all__expert__hr_bpm"] - p["hr_bpm"]).abs()
    print(f"{len(f)} synthetic records (seed {args.seed})")
    print(f"heart rate within 2 bpm: {(hr <= 2).mean():.1%} (target >= 99%)")
    for name in ("pr_ms", "qrs_ms", "qt_ms"):
        e = (f[f"all__expert__{name}"] - p[name])[p[name].notna()]
        if name == "qrs_ms":   # calibrated on annotated real ECGs (bench/ludb.py): the width must track the truth
            rho = f[f"all__expert__{name}"].corr(p[name], method="spearman")
            print(f"QRS: median error {e.median():+.1f} ms (target 0-20: the 40 Hz band widens the lobes' support), "
                  f"IQR of the error {e.quantile(0.75) - e.quantile(0.25):.1f} ms (target <= 10), Spearman {rho:.3f} "
                  f"(target >= 0.9), measured on {e.notna().mean():.1%}")
            continue
        print(f"{name[:-3].upper():>3}: median error {e.median():+.1f} ms, median |error| {e.abs().median():.1f} ms "
              f"(target <= 10), 90th pct |error| {e.abs().quantile(0.9):.1f} ms, measured on {e.notna().mean():.1%}")
    st = pd.concat([(f[f"{l}__expert__st60_mv"] - p[f"st_{l}_mv"]).abs() for l in LEADS], axis=1)
    print(f"ST at J+60 within 0.05 mV: {(st <= 0.05).to_numpy().mean():.1%} of record-leads, "
          f"{(st.max(axis=1) <= 0.05).mean():.1%} of records in every lead (target >= 90%)")
    axis = ((f["all__expert__axis_deg"] - p["axis_deg"] + 180) % 360 - 180).abs()
    print(f"QRS axis: median |error| {axis.median():.1f} deg")
    ect = p[(p["n_pac"] + p["n_pvc"]) > 0]
    exact = (f.loc[ect.index, "all__rhythm__premature_count"] == ect["n_pac"] + ect["n_pvc"]).mean()
    pvc = p[p["n_pvc"] > 0]
    wide = (f.loc[pvc.index, "all__rhythm__aberrant_premature_count"] == pvc["n_pvc"]).mean()
    print(f"premature beat count exact: {exact:.1%} of {len(ect)} PAC/PVC records (target >= 90%); "
          f"aberrant (QRS correlation < 0.8) count exact: {wide:.1%} of {len(pvc)} PVC records")
    af = p["labels"].map(lambda labels: "AF" in labels)
    print(f"P-wave presence: AF {f.loc[af, 'all__rhythm__p_presence'].mean():.2f} vs others "
          f"{f.loc[~af, 'all__rhythm__p_presence'].mean():.2f}; f-wave RMS: AF {f.loc[af, 'all__rhythm__fwave_rms_uv'].median():.0f} uV "
          f"vs others {f.loc[~af, 'all__rhythm__fwave_rms_uv'].median():.0f} uV")


if __name__ == "__main__":
    main()

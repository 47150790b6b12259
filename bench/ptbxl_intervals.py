"""Record-level intervals on PTB-XL by diagnosis: the medians a reader compares with cart values.

    OMP_NUM_THREADS=1 .venv/bin/python bench/ptbxl_intervals.py [../shared/data/ptbxl-500]

Prints, for the records whose scp_codes hold NORM (100% likelihood), CLBBB, CRBBB and 1AVB, the
median (and IQR) of ecgfeat's HR, PR, QRS, QT and QTc (Bazett), with the count measured, beside
what the criteria say (AHA/ACC/HRS 2009): normal PR 120-200 ms; complete bundle branch block
QRS >= 120 ms; first-degree AV block PR > 200 ms.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ecgfeat.datasets import open_dataset  # noqa: E402
from ecgfeat.features import expert  # noqa: E402
from ecgfeat.features.extract import analyse  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl-500"
GROUPS = {"NORM": "NORM", "CLBBB": "CLBBB", "CRBBB": "CRBBB", "1AVB": "1AVB"}
SHOWN = ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    ds = open_dataset(folder)
    rows = []
    for ref in ds.refs():
        try:
            rec = ds.read(ref)
            a = analyse(rec)
        except Exception:
            continue
        scp = rec.meta.get("scp_codes") or {}
        groups = [g for g, code in GROUPS.items() if code in scp and (code != "NORM" or scp[code] >= 100)]
        if not groups:
            continue
        f = expert.expert_features(a.templates, a.delineation, a.rr_mean_s, a.rr_median_s)
        rows.append({"groups": groups, **{k: f[f"all__expert__{k}"] for k in SHOWN}})
    df = pd.DataFrame(rows)
    print(f"{folder}: {len(df)} records in the groups")
    for g in GROUPS:
        sub = df[df["groups"].map(lambda gs, g=g: g in gs)]
        cells = []
        for k in SHOWN:
            v = sub[k].dropna()
            cells.append(f"{k[:-3] if k.endswith('_ms') else k} {np.median(v):.0f} [{v.quantile(.25):.0f}-{v.quantile(.75):.0f}] (n={v.size})"
                         if v.size else f"{k} —")
        print(f"  {g:6} n={len(sub):3d}  " + ";  ".join(cells))


if __name__ == "__main__":
    main()

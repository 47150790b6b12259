"""Per-record cost of `extract_features` (default families), one process, one thread: the figure that
decides extraction speed before any parallelism.

    OMP_NUM_THREADS=1 .venv/bin/python bench/per_record.py [--data ../shared/data/ptbxl-500] [--n 150]
    OMP_NUM_THREADS=1 .venv/bin/python bench/per_record.py --root /path/to/other/checkout   # compare

Prints ms per record for the whole call and for its stages (beat analysis, quality, tsfresh).
Interleave runs of two checkouts (--root) on a busy machine and quote their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl-500"))
ap.add_argument("--n", type=int, default=150)
ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="the checkout to time")
args = ap.parse_args()
sys.path.insert(0, args.root)

from threadpoolctl import threadpool_limits  # noqa: E402

from ecgfeat.datasets import open_dataset  # noqa: E402
from ecgfeat.features import extract as fx  # noqa: E402
from ecgfeat.features.settings import FeatureSettings  # noqa: E402


def timed(fn, recs) -> float:
    t = time.perf_counter()
    for r in recs:
        try:
            fn(r)
        except Exception:  # a record without beats costs what it costs
            pass
    return (time.perf_counter() - t) / len(recs) * 1000


ds = open_dataset(args.data)
recs = [ds.read(r) for r in ds.refs()[: args.n]]
settings = FeatureSettings()
with threadpool_limits(1):
    fx.extract_features(recs[0], settings)
    total = timed(lambda r: fx.extract_features(r, settings), recs)
    beats = timed(fx.analyse, recs)
    line = f"{args.root}: extract_features {total:.1f} ms/record ({1000 / total:.1f} records/s), analyse {beats:.1f} ms"
    try:
        from ecgfeat.signal.quality import assess_quality
        line += f", quality {timed(lambda r: assess_quality(r.signal, r.fs), recs):.1f} ms"
    except ImportError:
        pass
print(line + f" ({len(recs)} records of {args.data})")

"""Per-record cost of `extract_features` (default families), one process, one thread, stage by stage:
the figure that decides extraction speed before any parallelism.

    OMP_NUM_THREADS=1 .venv/bin/python bench/per_record.py [--data ../shared/data/ptbxl-500] [--n 150]
    OMP_NUM_THREADS=1 .venv/bin/python bench/per_record.py --root /path/to/other/checkout   # compare

Prints ms per record (CPU time of this process: steadier than wall time on a shared machine) for
the whole call and for each stage: every function below is wrapped where `features/extract.py`
finds it (its own namespace in older checkouts, the defining module in newer ones), so one stage
nested in another counts in both (build_templates and delineate inside analyse). Interleave runs
of two checkouts (--root) on a busy machine and quote their ratio.
"""

from __future__ import annotations

import argparse
import collections
import importlib
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

STAGES = {"detect_beats": "signal.beats", "pacing_spikes": "signal.pacing", "build_templates": "signal.template",
          "delineate": "signal.delineate", "spline_baseline": "signal.baseline", "assess_quality": "signal.quality",
          "beat_credibility": "signal.quality", "expert_features": "features.expert",
          "morphology_features": "features.morphology", "rhythm_features": "features.rhythm"}
SPENT: collections.Counter = collections.Counter()


def _timed_stage(fn, label):
    def run(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            SPENT[label] += time.process_time() - t
    return run


def instrument() -> None:
    for name, module in STAGES.items():
        try:
            mod = importlib.import_module(f"ecgfeat.{module}")
            orig = getattr(mod, name)
        except (ImportError, AttributeError):
            continue
        wrapped = _timed_stage(orig, name)
        setattr(mod, name, wrapped)
        if getattr(fx, name, None) is orig:        # bound into features/extract.py at import (older code)
            setattr(fx, name, wrapped)
    for name in ("analyse", "tsfresh_input", "tsfresh_family"):
        if hasattr(fx, name):
            setattr(fx, name, _timed_stage(getattr(fx, name), name))


def timed(fn, recs) -> float:
    t = time.process_time()
    for r in recs:
        try:
            fn(r)
        except Exception:  # a record without beats costs what it costs
            pass
    return (time.process_time() - t) / len(recs) * 1000


ds = open_dataset(args.data)
ds.read(ds.refs()[0])   # the reader's imports
t_read = time.process_time()
recs = [ds.read(r) for r in ds.refs()[: args.n]]
t_read = (time.process_time() - t_read) / len(recs) * 1000
settings = FeatureSettings()
instrument()
with threadpool_limits(1):
    fx.extract_features(recs[0], settings)
    SPENT.clear()
    total = timed(lambda r: fx.extract_features(r, settings), recs)
stages = ", ".join(f"{k} {1000 * v / len(recs):.2f}" for k, v in SPENT.most_common())
print(f"{args.root}: extract_features {total:.1f} ms/record CPU ({1000 / total:.1f} records/s) over "
      f"{len(recs)} records of {args.data}; stages (ms/record): {stages}; reading a record (before "
      f"extract_features, not in its figure) {t_read:.2f} ms")

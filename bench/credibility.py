"""Beat credibility on real records beside noise and sines: the two statistics that gate it.

    .venv/bin/python bench/credibility.py                    # the four datasets of ../shared/data
    .venv/bin/python bench/credibility.py PATH [PATH ...]    # any dataset folders ecgfeat reads

For every record: the median over the beats of their second-best QRS correlation with another beat
(`beat_match_corr`, credible >= MIN_MATCH_CORR) and of their correlation with the ceil((n - 1) / 3)-th
most similar other beat (one QRS shape shared by a third of the beats, credible >= MIN_SHARED_CORR),
as signal/quality.py computes them on the beat analysis of features/extract.py. Prints per dataset
the minimum and 1st percentile, the lowest records, and the same for Gaussian noise, sines of random
frequencies per lead, and the 12 sines of the tests (tests/conftest.py: 1..6.5 Hz, a 2 s period).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from ecgfeat.datasets import open_dataset  # noqa: E402
from ecgfeat.features.extract import analyse  # noqa: E402
from ecgfeat.record import Record  # noqa: E402
from ecgfeat.signal.quality import MIN_MATCH_CORR, MIN_SHARED_CORR, beat_credibility  # noqa: E402

from conftest import Ecg  # noqa: E402  (the tests' hand-made sines)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT = [SHARED / d for d in ("ptbxl-500", "ludb-dev", "challenge-wfdb", "cpsc2018-original")]


def statistics(record: Record) -> tuple[float, float] | None:
    try:
        cred = beat_credibility(analyse(record).templates)
    except ValueError:      # too few beats: refused before credibility is asked
        return None
    return cred.match_corr, cred.shared_corr


def made(seed: int = 0, n: int = 5) -> dict[str, Record]:
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500.0
    out = {}
    for i in range(n):
        out[f"noise {i}"] = rng.normal(0, 0.1, (12, t.size))
        f, a, ph = rng.uniform(0.5, 20, 12), rng.uniform(0.1, 1.5, 12), rng.uniform(0, 2 * np.pi, 12)
        out[f"random sines {i}"] = a[:, None] * np.sin(2 * np.pi * f[:, None] * t + ph[:, None])
    out["test sines"] = Ecg.sines(12, 500.0, 10)
    return {name: Record(record_id=name, signal=x.astype(np.float32), fs=500.0) for name, x in out.items()}


def show(name: str, rows: list[tuple[str, float, float]]) -> None:
    m = np.array([r[1] for r in rows])
    s = np.array([r[2] for r in rows])
    print(f"{name}: {len(rows)} records; second-best min {m.min():.3f} (1st pct {np.percentile(m, 1):.3f}); "
          f"shared by a third min {s.min():.3f} (1st pct {np.percentile(s, 1):.3f})")
    for rid, a, b in sorted(rows, key=lambda r: r[2])[:3]:
        print(f"    lowest: {rid:>12}  second-best {a:.3f}  shared {b:.3f}")


def main(paths: list[str]) -> None:
    print(f"credible when second-best >= {MIN_MATCH_CORR:g} and shared by a third >= {MIN_SHARED_CORR:g}")
    for p in paths or DEFAULT:
        if not Path(p).exists():
            print(f"{p}: absent, skipped")
            continue
        ds = open_dataset(p)
        rows = []
        for ref in ds.refs():
            st = statistics(ds.read(ref))
            if st is not None:
                rows.append((ref.record_id, *st))
        show(Path(p).name, rows)
    for name, rec in made().items():
        st = statistics(rec)
        print(f"{name:>16}: " + ("too few beats" if st is None else f"second-best {st[0]:.3f}  shared {st[1]:.3f}"))


if __name__ == "__main__":
    main(sys.argv[1:])

"""The embedded synthetic 12-lead dataset: `synthesize(out, n, seed)` writes a WFDB folder.

Layout of OUT: `S00001.hea/.dat` ... (16-bit, 1 uV per unit), `labels.csv` (record, labels joined
by ";"), `params.csv` (the generating parameters of each record: rates, intervals, axis, ST shift
per lead, noise levels, premature beat times, wave positions of every beat), `synthetic.json`.
Deterministic given the seed: record i is drawn from `np.random.default_rng([seed, i])`, so the
result does not depend on --jobs or on which records were asked for.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from ..vocab import CPSC9, LEADS
from .assemble import make_record
from .generator import COMPATIBLE

GENERATOR_VERSION = "1"
TWO_LABEL_FRACTION = 0.10


def parse_weights(spec: str | None) -> dict[str, float]:
    """`"Normal=2,AF=1"` -> weights per class (unnamed classes weigh 1; 0 removes a class)."""
    weights = {c: 1.0 for c in CPSC9}
    if spec:
        for part in spec.split(","):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in weights:
                raise ValueError(f"unknown class {name!r} in --balance; classes are {', '.join(CPSC9)}")
            try:
                weights[name] = float(value)
            except ValueError:
                raise ValueError(f"--balance {part!r}: expected CLASS=WEIGHT, e.g. AF=2") from None
    if sum(weights.values()) <= 0:
        raise ValueError("--balance: all class weights are zero")
    return weights


def assign_labels(n: int, seed: int, weights: dict[str, float] | None = None) -> list[list[str]]:
    """First label of each record by class weight (exact counts, largest remainder), ~10% with a second."""
    weights = weights or {c: 1.0 for c in CPSC9}
    w = np.array([weights.get(c, 0.0) for c in CPSC9], dtype=float)
    quota = n * w / w.sum()
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    rng = np.random.default_rng([seed, 10**9])
    first = rng.permutation(np.repeat(np.arange(len(CPSC9)), counts))
    # Normal never takes a second label, so the others take slightly more often to hit ~10% overall
    p_second = min(1.0, TWO_LABEL_FRACTION * n / max(1, n - counts[0]))
    out = []
    for k in first:
        labels = [CPSC9[k]]
        options = [c for c in COMPATIBLE[CPSC9[k]] if weights.get(c, 0) > 0]
        if options and rng.random() < p_second:
            labels.append(options[rng.integers(len(options))])
        out.append(sorted(labels, key=CPSC9.index))
    return out


def record_name(i: int) -> str:
    return f"S{i + 1:05d}"


def _write_one(out: str, i: int, labels: list[str], seed: int, fs: float, seconds: float) -> dict:
    import wfdb

    rng = np.random.default_rng([seed, i])
    signal, params, _ = make_record(labels, fs, seconds, rng)
    age = int(rng.integers(18, 90))
    sex = "Male" if rng.random() < 0.55 else "Female"
    name = record_name(i)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * 12, sig_name=list(LEADS), p_signal=signal.T,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                comments=[f"Age: {age}", f"Sex: {sex}", "ecgfeat synthetic"], write_dir=out)
    return {"record": name, "labels": ";".join(labels), "age": age, "sex": sex, **params}


def synthesize(out: str | Path, n: int = 1800, seed: int = 0, fs: float = 500.0, seconds: float = 10.0,
               weights: dict[str, float] | None = None, jobs: int = 1, progress=None) -> Path:
    """Write the synthetic dataset into `out` (created); returns its path."""
    from joblib import Parallel, delayed

    if n < 1:
        raise ValueError("--n must be at least 1")
    if seconds < 2:
        raise ValueError("--seconds must be at least 2")
    if fs < 100:
        raise ValueError("--fs must be at least 100 Hz")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = assign_labels(n, seed, weights)
    rows: list[dict] = []
    chunk = 50
    with Parallel(n_jobs=jobs) as parallel:
        for start in range(0, n, chunk):
            idx = range(start, min(n, start + chunk))
            rows += parallel(delayed(_write_one)(str(out), i, labels[i], seed, fs, seconds) for i in idx)
            if progress:
                progress(len(idx))
    _write_csv(out / "labels.csv", [{"record": r["record"], "labels": r["labels"]} for r in rows])
    _write_csv(out / "params.csv", rows)
    meta = {"generator": "ecgfeat.synth", "version": GENERATOR_VERSION, "n": n, "seed": seed, "fs": fs,
            "seconds": seconds, "weights": weights or {c: 1.0 for c in CPSC9}}
    tmp = out / "synthetic.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, out / "synthetic.json")
    return out


def _write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    os.replace(tmp, path)


def read_params(path: str | Path):
    """params.csv as a DataFrame indexed by record; `*_s` list columns parsed into float arrays."""
    import pandas as pd

    df = pd.read_csv(Path(path) / "params.csv" if Path(path).is_dir() else path,
                     keep_default_na=False, na_values=["nan"]).set_index("record")
    for col in [c for c in df.columns if c.endswith("_s")]:
        df[col] = df[col].map(lambda s: np.array([float(x) for x in str(s).split(";") if x != ""], dtype=float))
    df["labels"] = df["labels"].map(lambda s: s.split(";"))
    return df

"""The signal cache: every record decoded once, resampled, and kept as memory-mapped arrays.

Layout of `<workspace>/signal_cache/<dataset>/<fs>hz/`:
- `part-NNNNN.npy`: float16 (12, total samples) arrays, records laid end to end along time
  (ragged: a 10 s PTB-XL record takes 10 s, a 60 s CPSC record 60 s; no padding on disk);
- `index.parquet`: one row per record -- record_id, source_hash, signature, part, offset, length
  (samples), error (unreadable: the reason, not retried until its files change), and the
  record's info (labels__<scheme>, strat_fold, patient_id, ...) exactly as the feature store keeps it,
  so the CNN's labels, folds and groups are built from the same columns as the classical models'.

Like the feature store, a build decodes only what the cache lacks (records keyed by stat signature,
then content hash), appends one new part per build and commits by replacing the index atomically
(parts are written first, under temporary names): a killed build leaves the previous cache intact.
Signals are stored in mV as float16 (about 0.0005 mV resolution at 1 mV, far below ECG noise),
each lead with its median removed, NaN samples as 0, at most the last `MAX_SECONDS` of a record.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..datasets import open_dataset
from ..datasets.base import Dataset, RecordRef, content_hash
from ..record import RecordError

MAX_SECONDS = 600.0          # longer records keep their last 10 min (ECGs of a Holter's length are not this tool's)
WRITE_EVERY = 512            # records per part file written while building
INDEX = "index.parquet"


def cache_dir(root: str | Path, dataset: str, fs: float) -> Path:
    return Path(root) / dataset / f"{fs:g}hz"


def prepare(signal: np.ndarray, fs: float) -> np.ndarray:
    """(12, n) mV -> float16 (12, n) with each lead's median removed, NaN/Inf as 0, last MAX_SECONDS."""
    x = np.asarray(signal, dtype=np.float32)[:, -int(MAX_SECONDS * fs):]
    x = np.where(np.isfinite(x), x, np.nan)
    med = np.nanmedian(x, axis=1, keepdims=True) if x.size else np.zeros((x.shape[0], 1), np.float32)
    x = np.nan_to_num(x - np.nan_to_num(med), nan=0.0)
    return np.clip(x, -60000, 60000).astype(np.float16)


def _decode(ds: Dataset, refs: list[RecordRef], fs: float) -> list[tuple[str, np.ndarray | None, dict | str]]:
    """Worker: (record_id, float16 signal or None, info dict or error reason) per ref."""
    from threadpoolctl import threadpool_limits

    from ..extraction import record_info

    out = []
    with threadpool_limits(1):
        for ref in refs:
            try:
                rec = ds.read(ref, fs=fs)
            except RecordError as err:
                out.append((ref.record_id, None, str(err)))
            except Exception as err:  # a reader bug must not stop the batch
                out.append((ref.record_id, None, f"{ref.path}: {type(err).__name__}: {err}"))
            else:
                out.append((ref.record_id, prepare(rec.signal, fs), record_info(rec)))
    return out


@dataclass
class Signals:
    """Records as the CNN's input X: ragged (12, length) float16 signals cut into windows on demand.

    `parts` are (12, total) arrays (memory-mapped from the cache, or in memory); record i lives in
    parts[part[i]][:, offset[i]:offset[i] + length[i]]. Indexing with an integer array or boolean
    mask gives the subset (no copy of signal data).
    """

    parts: list
    part: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    ids: np.ndarray
    fs: float

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, idx) -> "Signals":
        idx = np.arange(len(self))[idx]
        return Signals(self.parts, self.part[idx], self.offset[idx], self.length[idx], self.ids[idx], self.fs)

    @classmethod
    def from_arrays(cls, signals: list[np.ndarray] | np.ndarray, fs: float, ids=None) -> "Signals":
        """In-memory Signals from (12, n) arrays in mV (each prepared like the cache's)."""
        arrs = [prepare(s, fs) for s in signals]
        lengths = np.array([a.shape[1] for a in arrs], dtype=np.int64)
        data = np.concatenate(arrs, axis=1) if arrs else np.zeros((12, 0), np.float16)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if arrs else lengths
        ids = np.asarray(ids if ids is not None else [str(i) for i in range(len(arrs))], dtype=object)
        return cls([data], np.zeros(len(arrs), np.int64), offsets, lengths, ids, float(fs))

    def window(self, i: int, start: int, n: int, rows=slice(None)) -> np.ndarray:
        """float32 (rows, n) of record i from sample `start`; zero-padded at the front when the
        record is shorter than n (as the seed pads its 30 s input)."""
        a = self.parts[self.part[i]]
        length, off = int(self.length[i]), int(self.offset[i])
        out = np.zeros((a[rows, :1].shape[0], n), np.float32)
        take = min(n, length - start)
        if take > 0:
            out[:, n - take:] = a[rows, off + start: off + start + take]
        return out


class SignalCache:
    """Build (incrementally) and open the signal cache of one dataset at one sampling rate."""

    def __init__(self, root: str | Path, dataset: str, fs: float):
        self.dataset, self.fs = dataset, float(fs)
        self.dir = cache_dir(root, dataset, fs)

    def index(self) -> pd.DataFrame:
        path = self.dir / INDEX
        if not path.exists():
            return pd.DataFrame(columns=["record_id", "source_hash", "signature", "part", "offset", "length", "error"]).set_index("record_id")
        return pd.read_parquet(path).set_index("record_id")

    def build(self, path: str | Path, jobs: int = 1, progress: Callable[[int], None] | None = None,
              on_plan: Callable[[int, int], None] | None = None) -> dict:
        """Decode into the cache every record of the dataset at `path` that it lacks or that changed;
        returns {"records", "decoded", "reused", "errors", "seconds"}."""
        from joblib import Parallel, delayed

        from ..extraction import signature
        from ..store import flock

        t0 = time.perf_counter()
        ds = open_dataset(path, name=self.dataset)
        self.dir.mkdir(parents=True, exist_ok=True)
        with flock(self.dir, timeout=3600):
            old = self.index()
            keep, todo = [], []
            for ref in ds.refs():
                files = ref.files or (ref.path,)
                sig = signature(files)
                row = old.loc[ref.record_id] if ref.record_id in old.index else None
                h = row["source_hash"] if row is not None and row["signature"] == sig else content_hash(files)
                if row is not None and row["source_hash"] == h:
                    keep.append({**row.to_dict(), "record_id": ref.record_id, "signature": sig})
                else:
                    todo.append((ref, h, sig))
            errors = [{"record_id": rid, "source_hash": "", "signature": "", "error": why} for rid, why in ds.index_errors]
            if on_plan:
                on_plan(len(todo), len(keep))
            rows = self._decode_all(ds, todo, jobs, progress, Parallel, delayed)
            index = pd.DataFrame(keep + rows + errors)
            if len(index):
                index = index.drop_duplicates("record_id", keep="last").sort_values("record_id")
            for col in ("part", "offset", "length", "error"):   # present even when no record was readable
                if col not in index.columns:
                    index[col] = None
            for col in ("part", "offset", "length"):
                index[col] = pd.to_numeric(index[col], errors="coerce").astype("Int64")
            tmp = self.dir / f".{INDEX}.tmp-{os.getpid()}"
            index.to_parquet(tmp, index=False)
            os.replace(tmp, self.dir / INDEX)               # the commit point
            self._drop_unused_parts(index)
        n_err = int(index["error"].notna().sum()) if len(index) else 0
        return {"records": int(len(index)), "decoded": len(todo), "reused": len(keep), "errors": n_err,
                "seconds": round(time.perf_counter() - t0, 2), "path": str(self.dir)}

    def _decode_all(self, ds, todo, jobs, progress, Parallel, delayed) -> list[dict]:
        if not todo:
            return []
        by_id = {ref.record_id: (h, sig) for ref, h, sig in todo}
        chunks = [todo[i:i + 8] for i in range(0, len(todo), 8)]
        workers = max(1, min(jobs, len(chunks)))
        gen = (Parallel(n_jobs=workers, return_as="generator")(delayed(_decode)(ds, [t[0] for t in c], self.fs) for c in chunks)
               if workers > 1 else (_decode(ds, [t[0] for t in c], self.fs) for c in chunks))
        rows, pending = [], []

        def flush():
            if not pending:
                return
            part = self._next_part()
            data = np.concatenate([s for _, s, _ in pending], axis=1)
            tmp = self.dir / f".part-{part:05d}.tmp-{os.getpid()}.npy"
            np.save(tmp, data)
            os.replace(tmp, self.dir / f"part-{part:05d}.npy")
            off = 0
            for rid, s, info in pending:
                h, sig = by_id[rid]
                rows.append({"record_id": rid, "source_hash": h, "signature": sig, "part": part, "offset": off,
                             "length": s.shape[1], "error": None, **info})
                off += s.shape[1]
            pending.clear()

        for batch in gen:
            for rid, sig_data, info in batch:
                if sig_data is None:
                    h, sig = by_id[rid]
                    rows.append({"record_id": rid, "source_hash": h, "signature": sig, "error": info})
                else:
                    pending.append((rid, sig_data, info))
            if len(pending) >= WRITE_EVERY:
                flush()
            if progress:
                progress(len(batch))
        flush()
        return rows

    def _next_part(self) -> int:
        nums = [int(m.group(1)) for p in self.dir.glob("part-*.npy") if (m := re.fullmatch(r"part-(\d+)\.npy", p.name))]
        return max(nums, default=-1) + 1

    def _drop_unused_parts(self, index: pd.DataFrame) -> None:
        used = set(int(p) for p in index["part"].dropna()) if len(index) else set()
        for p in self.dir.glob("part-*.npy"):
            m = re.fullmatch(r"part-(\d+)\.npy", p.name)
            if m and int(m.group(1)) not in used:
                p.unlink(missing_ok=True)
        for p in self.dir.glob(".*.tmp-*"):
            p.unlink(missing_ok=True)

    def _part(self, p: int) -> np.ndarray:
        """A part, memory-mapped; never unpickled (an object array is refused, naming the file)."""
        path = self.dir / f"part-{p:05d}.npy"
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as err:
            raise ValueError(f"{path}: not a signal-cache part ({str(err).splitlines()[0] if str(err) else type(err).__name__}); "
                             f"delete {self.dir} to rebuild the cache") from None
        if a.ndim != 2 or a.dtype != np.float16:
            raise ValueError(f"{path}: not a signal-cache part (a {a.dtype} array of shape {a.shape}, expected "
                             f"float16 (12, samples)); delete {self.dir} to rebuild the cache")
        return a

    def open(self) -> tuple[Signals, pd.DataFrame]:
        """(Signals of every readable record, sorted by record id; the full index incl. errors)."""
        index = self.index()
        if not len(index):
            raise FileNotFoundError(f"{self.dir}: the signal cache is empty; build it first")
        ok = index[index["error"].isna()].sort_index()
        used = sorted(set(int(p) for p in ok["part"]))
        parts = {p: self._part(p) for p in used}
        remap = {p: i for i, p in enumerate(used)}
        sig = Signals([parts[p] for p in used], np.array([remap[int(p)] for p in ok["part"]], np.int64),
                      ok["offset"].to_numpy(np.int64), ok["length"].to_numpy(np.int64),
                      ok.index.to_numpy(object), self.fs)
        return sig, index

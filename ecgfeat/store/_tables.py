"""Arrow tables built from RecordResults, and which stored rows are live.

Tables of a dataset (every table carries `dataset` and `record_id`):
- records: source_hash, signature, then the record-level info columns
- <family>: source_hash, feature_version, then float32 feature columns
- errors: stage, reason, source_hash, feature_version (of the family, null for record-level stages)

Liveness (what readers see; `seq` is the part's sequence number):
- records: the latest row of each record (highest seq).
- family rows: the latest row of the record in that table, if its source_hash equals the record's
  live source_hash (otherwise computed from older content) and no later error of that family
  for the record exists (a later failure supersedes the older success).
- errors: the latest row per (record, stage) whose source_hash is the record's live one, and
  - family stage: no later successful row of that family for the record;
  - record-level stage ("read", ...): written with the record's latest records row (every write
    of a record restates its record-level errors; `touch` copies them forward).
  A features row and an error of the same family written together are both live (a partial
  result, e.g. one lead failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .results import FeatureRow, RecordResult

RECORD_KEYS = ("dataset", "record_id", "source_hash", "signature")
FAMILY_KEYS = ("dataset", "record_id", "source_hash", "feature_version")
ERROR_COLUMNS = ("dataset", "record_id", "stage", "reason", "source_hash", "feature_version")
META = ["_part", "_row", "_seq"]


# --------------------------------------------------------------------------- building tables

def _scalar(v):
    if v is None:
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple, set, frozenset)):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    return v


def _column(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def records_table(dataset: str, results: list[RecordResult]) -> pa.Table:
    keys: dict[str, None] = {}
    for r in results:
        for k in r.info:
            if k in RECORD_KEYS:
                raise ValueError(f"record {r.record_id!r}: info key {k!r} is reserved by the store")
            keys[k] = None
    cols = {
        "dataset": pa.array([dataset] * len(results), pa.string()),
        "record_id": pa.array([str(r.record_id) for r in results], pa.string()),
        "source_hash": pa.array([str(r.source_hash or "") for r in results], pa.string()),
        "signature": pa.array([str(r.signature or "") for r in results], pa.string()),
    }
    for k in keys:
        cols[str(k)] = _column([_scalar(r.info.get(k)) for r in results])
    return pa.table(cols)


def _matrix(rows: list, ids: list[str], family: str) -> tuple[list[str], np.ndarray]:
    """(columns, float32 matrix records x columns) of one family's rows (dicts or FeatureRows)."""
    if rows and all(isinstance(d, FeatureRow) for d in rows):
        first = rows[0].names
        if all(d.names is first or d.names == first for d in rows):   # a worker's rows share one tuple
            for c in first:
                if c in FAMILY_KEYS:
                    raise ValueError(f"family {family!r}: feature name {c!r} is reserved by the store")
            return list(first), np.stack([np.asarray(d.values, dtype=np.float32) for d in rows])
    rows = [d.as_dict() if isinstance(d, FeatureRow) else d for d in rows]
    columns = list(dict.fromkeys(k for d in rows for k in d))
    for c in columns:
        if c in FAMILY_KEYS:
            raise ValueError(f"family {family!r}: feature name {c!r} is reserved by the store")
    uniform = all(len(d) == len(columns) for d in rows) and all(list(d) == columns for d in rows)
    try:
        if uniform:
            mat = np.array([list(d.values()) for d in rows], dtype=np.float32)
            return columns, mat.reshape(len(rows), len(columns))
        index = {c: j for j, c in enumerate(columns)}
        mat = np.full((len(rows), len(columns)), np.nan, dtype=np.float32)
        for i, d in enumerate(rows):
            for k, v in d.items():
                mat[i, index[k]] = v
        return columns, mat
    except (TypeError, ValueError):
        for i, d in enumerate(rows):
            for k, v in d.items():
                try:
                    np.float32(np.nan if v is None else v)
                except (TypeError, ValueError):
                    raise ValueError(f"record {ids[i]!r}: feature {k!r} of family {family!r} is not a "
                                     f"number ({v!r})") from None
        raise


def family_table(dataset: str, family: str, version: str, results: list[RecordResult]) -> pa.Table | None:
    rows = [r for r in results if family in r.features]
    if not rows:
        return None
    ids = [str(r.record_id) for r in rows]
    columns, mat = _matrix([r.features[family] for r in rows], ids, family)
    n = len(rows)
    arrays = [pa.array([dataset] * n, pa.string()), pa.array(ids, pa.string()),
              pa.array([str(r.source_hash or "") for r in rows], pa.string()),
              pa.array([version] * n, pa.string())]
    names = list(FAMILY_KEYS)
    mat = np.asfortranarray(mat)    # each column contiguous: pa.array takes it without a strided copy
    for j, c in enumerate(columns):
        arrays.append(pa.array(mat[:, j], pa.float32()))
        names.append(str(c))
    return pa.Table.from_arrays(arrays, names=names)


def errors_rows(dataset: str, results: list[RecordResult], versions: dict[str, str]) -> list[dict]:
    out = []
    for r in results:
        merged: dict[str, list[str]] = {}
        for stage, reason in r.errors:
            merged.setdefault(str(stage), []).append(" ".join(str(reason).split()))
        for stage, reasons in merged.items():
            out.append({"dataset": dataset, "record_id": str(r.record_id), "stage": stage,
                        "reason": "; ".join(reasons), "source_hash": str(r.source_hash or ""),
                        "feature_version": versions.get(stage)})
    return out


def errors_table(rows: list[dict]) -> pa.Table | None:
    if not rows:
        return None
    return pa.table({c: pa.array([row[c] for row in rows], pa.string()) for c in ERROR_COLUMNS})


# --------------------------------------------------------------------------- liveness

@dataclass
class Live:
    """Live rows of a dataset, as key frames; `_part` / `_row` locate each row in its table's parts."""

    records: pd.DataFrame                                   # index record_id
    families: dict[str, pd.DataFrame] = field(default_factory=dict)   # index record_id
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)       # columns ERROR_COLUMNS[1:] + META


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}
                        | {m: pd.Series([], dtype=np.int64) for m in META})


def live_rows(records: pd.DataFrame | None, families: dict[str, pd.DataFrame | None],
              errors: pd.DataFrame | None, family_names) -> Live:
    """Apply the liveness rules to key frames (rows in part order, with META columns)."""
    if records is None:
        records = _empty(RECORD_KEYS)
    recs = records.drop_duplicates("record_id", keep="last").set_index("record_id")
    hash_of = recs["source_hash"]
    seq_of = recs["_seq"]

    def current(df: pd.DataFrame) -> pd.DataFrame:
        ok = df["source_hash"].to_numpy(dtype=object) == hash_of.reindex(df["record_id"]).to_numpy(dtype=object)
        return df[ok]

    latest = {f: current(df.drop_duplicates("record_id", keep="last"))
              for f, df in families.items() if df is not None and len(df)}
    if errors is None or not len(errors):
        errs = _empty(ERROR_COLUMNS[1:])   # the key columns the store reads when the table exists
    else:
        errs = current(errors.drop_duplicates(["record_id", "stage"], keep="last"))
    stages = set(family_names) | set(latest)
    is_fam = errs["stage"].isin(stages).to_numpy()

    fam_err_seq = pd.Series(errs["_seq"].to_numpy()[is_fam],
                            index=pd.MultiIndex.from_arrays([errs["record_id"].to_numpy()[is_fam],
                                                             errs["stage"].to_numpy()[is_fam]]), dtype=np.int64)
    out_f = {}
    feat_seq_parts = []
    for f, df in latest.items():
        feat_seq_parts.append(pd.Series(df["_seq"].to_numpy(), index=pd.MultiIndex.from_arrays(
            [df["record_id"].to_numpy(), np.full(len(df), f, dtype=object)]), dtype=np.int64))
        if len(fam_err_seq):
            idx = pd.MultiIndex.from_arrays([df["record_id"].to_numpy(), np.full(len(df), f, dtype=object)])
            err_seq = fam_err_seq.reindex(idx).fillna(-1).to_numpy()
            df = df[df["_seq"].to_numpy() >= err_seq]
        out_f[f] = df.set_index("record_id")
    feat_seq = pd.concat(feat_seq_parts) if feat_seq_parts else pd.Series([], dtype=np.int64)

    if len(errs):
        idx = pd.MultiIndex.from_arrays([errs["record_id"].to_numpy(), errs["stage"].to_numpy()])
        fseq = feat_seq.reindex(idx).fillna(-1).to_numpy() if len(feat_seq) else np.full(len(errs), -1)
        eseq = errs["_seq"].to_numpy()
        rseq = seq_of.reindex(errs["record_id"]).fillna(-1).to_numpy()
        keep = np.where(is_fam, eseq >= fseq, eseq == rseq)
        errs = errs[keep]
    return Live(records=recs, families=out_f, errors=errs.reset_index(drop=True))


def rows_by_part(df: pd.DataFrame) -> dict[int, np.ndarray]:
    """{part index: sorted row numbers} of the rows of a live key frame."""
    out = {}
    for part, rows in df.groupby("_part", sort=True)["_row"]:
        out[int(part)] = np.sort(rows.to_numpy())
    return out

"""FeatureStore: the Parquet feature store of `ecgfeat extract` (layout in _files.py, row rules in _tables.py)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _files as F
from . import _read
from ._tables import (ERROR_COLUMNS, Live, errors_rows, errors_table, family_table,
                      live_rows, records_table, rows_by_part)
from .results import RecordResult, StoreError

RESERVED_FAMILIES = F.RESERVED_TABLES + ("source_hash", "signature", "error_families")
KEY_COLUMNS = {"records": ["record_id", "source_hash", "signature"],
               "errors": list(ERROR_COLUMNS[1:])}
FAMILY_KEY_COLUMNS = ["record_id", "source_hash", "feature_version"]


@dataclass
class StoreData:
    """What training reads: features, targets, folds and groups of one dataset, indexed by record_id."""

    X: pd.DataFrame                 # float32 features of the requested families / leads
    y: pd.DataFrame                 # 0/1 (int8) per class of the scheme, in the scheme's order
    folds: pd.Series                # strat_fold where the dataset has one, else NaN
    groups: pd.Series               # patient_id where known, else the record_id
    feature_names: list[str]
    info: pd.DataFrame              # the live `records` table
    labeled: pd.Series = None       # True where the record carries labels of the scheme
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)  # live error rows
    classes: list[str] = field(default_factory=list)


class FeatureStore:
    """A folder of Parquet tables per dataset, committed through <root>/manifest.json.

    Writers (`write`, `touch`, `compact`) hold an exclusive flock on <root>/.lock (taken per call,
    or for a whole run with `with store.lock():`); readers take no lock.
    """

    def __init__(self, root: str | Path, fsync: bool = True):
        self.root = Path(root)
        self.fsync = fsync
        self._depth = 0
        self._cleaned: set[str] = set()

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"

    # ------------------------------------------------------------------ lock + manifest

    @contextmanager
    def lock(self, timeout: float = 0.0):
        """Hold the writer lock; StoreLockedError at once (timeout 0) or after `timeout` s."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with F.flock(self.root, timeout):
            self._depth, self._cleaned = 1, set()
            try:
                yield self
            finally:
                self._depth = 0

    def _manifest(self) -> dict:
        return F.load_manifest(self.root) or F.empty_manifest()

    def _writable_manifest(self) -> dict:
        m = F.load_manifest(self.root)
        if not self._cleaned:   # under the writer lock: a manifest temp file is a killed commit's
            for tmp in self.root.glob(f".{F.MANIFEST}.tmp-*"):
                tmp.unlink(missing_ok=True)
        if m is None:  # commit an empty manifest first: parts then never exist without one
            m = F.empty_manifest()
            F.commit_manifest(self.root, m, self.fsync)
        return m

    def _retry(self, fn):
        """Run fn(manifest); reload and retry when a part vanished under us (a concurrent compact)."""
        last = None
        for attempt in range(4):
            try:
                return fn(self._manifest())
            except FileNotFoundError as e:
                last = e
                if self._depth:
                    break
                time.sleep(0.05 * (attempt + 1))
        raise StoreError(f"{last.filename}: part file listed in {self.root / F.MANIFEST} is missing; "
                         "the store was changed by hand - delete the dataset folder and extract again")

    def _entry(self, m: dict, dataset: str) -> dict:
        entry = m["datasets"].get(dataset)
        if entry is None:
            known = ", ".join(sorted(m["datasets"])) or "none"
            raise StoreError(f"{self.root}: no dataset {dataset!r} in the feature store (datasets: {known})")
        F.check_inside(self.root, dataset, entry["tables"])
        return entry

    @staticmethod
    def _parts(entry: dict, table: str) -> list[str]:
        return sorted(entry["tables"].get(table, ()), key=F.part_seq)

    def _family_names(self, entry: dict) -> list[str]:
        names = list(entry.get("families", {}))
        return names + [t for t in entry["tables"] if t not in F.RESERVED_TABLES and t not in names]

    # ------------------------------------------------------------------ reading keys and rows

    def _keys(self, dataset: str, entry: dict, table: str, columns: list[str]) -> pd.DataFrame | None:
        frames = []
        for i, name in enumerate(self._parts(entry, table)):
            df = F.read_part(self.root / dataset / table / name, columns).to_pandas()
            df["_part"], df["_row"], df["_seq"] = i, np.arange(len(df)), F.part_seq(name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else None

    def _live(self, dataset: str, entry: dict) -> Live:
        fams = self._family_names(entry)
        return live_rows(self._keys(dataset, entry, "records", KEY_COLUMNS["records"]),
                         {f: self._keys(dataset, entry, f, FAMILY_KEY_COLUMNS) for f in fams},
                         self._keys(dataset, entry, "errors", KEY_COLUMNS["errors"]), fams)

    def _schemas(self, dataset: str, entry: dict, table: str) -> list[pa.Schema]:
        return [F.part_schema(self.root / dataset / table / n) for n in self._parts(entry, table)]

    def _columns(self, dataset: str, entry: dict, table: str) -> list[str]:
        return F.unify(self._schemas(dataset, entry, table)).names

    def _gather(self, dataset: str, entry: dict, table: str, live: pd.DataFrame,
                columns: list[str] | None = None):
        """(schema, generator of aligned tables) holding the `live` rows of `table`, part by part."""
        parts = self._parts(entry, table)
        schemas = self._schemas(dataset, entry, table)
        if columns is not None:
            want = set(columns)
            schemas = [pa.schema([f for f in s if f.name in want]) for s in schemas]
        schema = F.unify(schemas)
        if columns is not None:
            have = set(schema.names)
            schema = pa.schema([schema.field(c) for c in columns if c in have])
        picks = rows_by_part(live)

        def tables():
            for i, rows in picks.items():
                cols = schemas[i].names if columns is not None else None
                t = F.read_part(self.root / dataset / table / parts[i], cols)
                if len(rows) != t.num_rows or rows[-1] != len(rows) - 1:  # rows are sorted and unique
                    t = t.take(pa.array(rows))
                yield F.align(t, schema)
        return schema, tables()

    def _frame(self, dataset, entry, table, live, columns=None, nullable=False) -> pd.DataFrame:
        schema, tables = self._gather(dataset, entry, table, live, columns)
        t = pa.concat_tables(list(tables)) if len(live) else schema.empty_table()
        mapper = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get if nullable else None
        return t.to_pandas(types_mapper=mapper).set_index("record_id")

    # ------------------------------------------------------------------ public: inspection

    def datasets(self) -> list[str]:
        return sorted(self._manifest()["datasets"])

    def families(self, dataset: str) -> dict[str, str]:
        """{family: feature-set version last written} of a dataset."""
        return dict(self._entry(self._manifest(), dataset).get("families", {}))

    def source_path(self, dataset: str) -> str | None:
        """The folder the dataset was extracted from (from the manifest alone)."""
        return self._entry(self._manifest(), dataset).get("source_path")

    def read(self, dataset: str, families=None, leads=None, scheme: str = "cpsc9",
             record_level: bool = True) -> StoreData:
        """X (float32, families joined on record_id; lead columns in `leads` plus `all__` ones when
        record_level), y (0/1 per class of `scheme`), folds, groups, feature names and the records
        table, indexed by record_id (sorted). Records lacking a family's row get NaN there."""
        return _read.read(self, dataset, families, leads, scheme, record_level)

    def summary(self, dataset: str, max_errors: int = 10) -> dict:
        """What `ecgfeat store ls|info` shows: records, readable, families {family: n features},
        versions {family: version}, records_by_family, features, by_lead {lead: n features},
        errors, errors_by_stage, first_errors [{record, stage, reason}], parts {table: n}, bytes."""
        return _read.summary(self, dataset, max_errors)

    def status(self, dataset: str) -> pd.DataFrame:
        """Per stored record: source_hash, signature, the version of each family's live row (its
        features or its error; null when absent) and error_families (tuple of stages with a live
        error). Reads only key columns. An unknown dataset gives an empty frame."""
        def run(m):
            entry = m["datasets"].get(dataset)
            if entry is None:
                return pd.DataFrame(columns=["source_hash", "signature", "error_families"],
                                    index=pd.Index([], name="record_id", dtype=object))
            F.check_inside(self.root, dataset, entry["tables"])
            live = self._live(dataset, entry)
            out = live.records[["source_hash", "signature"]].copy()
            errs = live.errors
            for f in self._family_names(entry):
                v = pd.Series(None, index=out.index, dtype=object)
                if f in live.families:
                    v.update(live.families[f]["feature_version"])
                fe = errs[errs["stage"] == f].set_index("record_id")["feature_version"]
                v = v.where(v.notna(), fe.reindex(out.index))
                out[f] = v.astype(object).where(v.notna(), None)
            stages = errs.groupby("record_id")["stage"].agg(lambda s: tuple(sorted(s)))
            out["error_families"] = [stages.get(r, ()) for r in out.index]
            return out.sort_index()
        return self._retry(run)

    # ------------------------------------------------------------------ public: writing

    def write(self, dataset: str, results: list[RecordResult], family_versions: dict[str, str],
              source_path=None, format: str | None = None) -> dict:
        """Append one part per touched table (records, each family present, errors) and commit.

        A record written again supersedes its older rows. Returns {"seq", "records", "rows": {table: n}}.
        """
        F.check_name(dataset, "dataset")
        for f in family_versions:
            F.check_name(f, "family")
            if f in RESERVED_FAMILIES:
                raise ValueError(f"invalid family name {f!r}: reserved by the store")
        by_id: dict[str, RecordResult] = {}
        for r in results:
            missing = [f for f in r.features if f not in family_versions]
            if missing:
                raise ValueError(f"record {r.record_id!r}: family {missing[0]!r} has no version in family_versions")
            by_id.pop(str(r.record_id), None)
            by_id[str(r.record_id)] = r
        results = list(by_id.values())
        with self.lock():
            m = self._writable_manifest()
            entry = m["datasets"].setdefault(dataset, F.empty_dataset_entry())
            F.check_inside(self.root, dataset, entry["tables"])
            self._clean_once(dataset, entry)
            tables: dict[str, pa.Table] = {}
            if results:
                tables["records"] = records_table(dataset, results)
                for fam in dict.fromkeys(f for r in results for f in r.features):
                    tables[fam] = family_table(dataset, fam, str(family_versions[fam]), results)
                errs = errors_table(errors_rows(dataset, results, {**entry["families"], **family_versions}))
                if errs is not None:
                    tables["errors"] = errs
            entry["families"].update({f: str(v) for f, v in family_versions.items()})
            if source_path is not None:
                entry["source_path"] = str(source_path)
            if format is not None:
                entry["format"] = format
            return self._commit(m, dataset, entry, tables)

    def touch(self, dataset: str, signatures: dict[str, str]) -> int:
        """Record new stat signatures of unchanged sources (same content hash) without recomputing.
        Returns the number of records updated (unknown record ids are ignored)."""
        with self.lock():
            m = self._writable_manifest()
            entry = self._entry(m, dataset)
            self._clean_once(dataset, entry)
            live = self._live(dataset, entry)
            ids = [str(r) for r in signatures if str(r) in live.records.index]
            if not ids:
                return 0
            _, parts = self._gather(dataset, entry, "records", live.records.loc[ids].reset_index())
            recs = pa.concat_tables(list(parts))
            sig = pa.array([str(signatures[r]) for r in recs.column("record_id").to_pylist()], pa.string())
            tables = {"records": recs.set_column(recs.schema.get_field_index("signature"), "signature", sig)}
            errs = live.errors[live.errors["record_id"].isin(ids)
                               & ~live.errors["stage"].isin(self._family_names(entry))]
            if len(errs):  # restate the record-level errors so that they stay live at the new seq
                tables["errors"] = errors_table([{"dataset": dataset, **{c: e[c] for c in ERROR_COLUMNS[1:]}}
                                                 for e in errs.to_dict("records")])
            self._commit(m, dataset, entry, tables)
            return len(ids)

    def _next_seq(self, dataset: str, entry: dict) -> int:
        seq = int(entry.get("next_seq", 1))
        folder = self.root / dataset
        if folder.is_dir():
            for table in folder.iterdir():
                if table.is_dir():
                    for f in table.iterdir():
                        mt = F.PART_RE.match(f.name) or F.TMP_RE.match(f.name)
                        if mt:
                            seq = max(seq, int(mt.group(1)) + 1)
        return seq

    def _clean_once(self, dataset: str, entry: dict) -> None:
        if dataset not in self._cleaned:
            F.clean_dataset(self.root / dataset, entry["tables"])
            self._cleaned.add(dataset)

    def _commit(self, m: dict, dataset: str, entry: dict, tables: dict) -> dict:
        entry.pop("warm", None)   # the dataset changes: no earlier run's fingerprint vouches for it (warm.py)
        seq = self._next_seq(dataset, entry)
        for name, table in tables.items():
            part = F.write_part(table, self.root / dataset / name, seq, self.fsync)
            entry["tables"].setdefault(name, []).append(part)
        entry["next_seq"] = seq + 1
        entry["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        F.commit_manifest(self.root, m, self.fsync)
        return {"seq": seq, "records": tables["records"].num_rows if "records" in tables else 0,
                "rows": {n: t.num_rows for n, t in tables.items()}}

    def remember_warm(self, dataset: str, key: str, value: dict | None) -> None:
        """Keep `value` (warm.entry: a dataset folder's fingerprint and the run's outcome) under `key`
        in the dataset's manifest entry, until the next commit to the dataset drops it."""
        if value is None:
            return
        with self.lock():
            m = self._writable_manifest()
            entry = self._entry(m, dataset)
            entry.setdefault("warm", {})[key] = value
            F.commit_manifest(self.root, m, self.fsync)

    def compact(self, dataset: str) -> dict:
        """Rewrite each table of `dataset` as one part of its live rows; delete old parts and orphans.
        Nothing is rewritten when every table already is a single part of live rows."""
        with self.lock():
            m = self._writable_manifest()
            entry = self._entry(m, dataset)
            live = self._live(dataset, entry)
            frames = {"records": live.records.reset_index(), "errors": live.errors,
                      **{f: df.reset_index() for f, df in live.families.items()}}
            before = {t: len(p) for t, p in entry["tables"].items()}
            rows = {}
            for t in entry["tables"]:
                parts = self._parts(entry, t)
                rows[t] = sum(F.part_rows(self.root / dataset / t / p) for p in parts)
            clean = all(n <= 1 for n in before.values()) and all(
                rows[t] == len(frames.get(t, ())) for t in entry["tables"])
            if not clean:
                entry.pop("warm", None)
                seq = self._next_seq(dataset, entry)
                new = {}
                for t, df in frames.items():
                    if t in entry["tables"] and len(df):
                        schema, tables = self._gather(dataset, entry, t, df)
                        new[t] = [F.write_part(None, self.root / dataset / t, seq, self.fsync, schema, tables)]
                entry["tables"], entry["next_seq"] = new, seq + 1
                entry["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                F.commit_manifest(self.root, m, self.fsync)
            deleted = F.clean_dataset(self.root / dataset, entry["tables"])
            self._cleaned.add(dataset)
            return {"rewritten": not clean, "parts_before": sum(before.values()),
                    "parts_after": sum(len(p) for p in entry["tables"].values()), "files_deleted": deleted,
                    "rows": {t: len(frames.get(t, ())) for t in entry["tables"]}}

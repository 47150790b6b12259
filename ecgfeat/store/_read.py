"""Reading a dataset back for training (`read`) and describing it (`summary`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import scheme_classes
from ..vocab import RECORD_LEVEL
from ._tables import FAMILY_KEYS
from .results import StoreError


def _lead_of(name: str) -> str | None:
    return name.split("__", 1)[0] if "__" in name else None


def _natural(code: str):
    return (0, int(code), "") if code.isdigit() else (1, 0, code)


def feature_columns(store, dataset: str, entry: dict, family: str) -> list[str]:
    if not entry["tables"].get(family):
        return []
    return [c for c in store._columns(dataset, entry, family) if c not in FAMILY_KEYS]


def select(columns: list[str], leads, record_level: bool) -> list[str]:
    """Columns `{lead}__...` with lead in `leads` (all leads when None), plus `all__...` when record_level."""
    leads = None if leads is None else set(leads)
    out = []
    for c in columns:
        lead = _lead_of(c)
        if lead == RECORD_LEVEL:
            if record_level:
                out.append(c)
        elif leads is None or lead in leads:
            out.append(c)
    return out


def targets(info: pd.DataFrame, scheme: str) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """(y 0/1 int8 per class, labeled mask, classes) from the `labels__<scheme>` column."""
    fixed = scheme_classes(scheme)
    col = f"labels__{scheme}"
    if col not in info.columns and scheme == "raw" and "codes" in info.columns:
        col = "codes"
    if col in info.columns:
        raw = info[col].astype(object)
        labeled = raw.notna()
        sets = [set(x.strip() for x in str(v).split(";") if x.strip()) if ok else set()
                for v, ok in zip(raw, labeled)]
    else:
        labeled = pd.Series(False, index=info.index)
        sets = [set() for _ in range(len(info))]
    classes = list(fixed) if fixed is not None else sorted(set().union(*sets), key=_natural)
    y = pd.DataFrame({c: np.array([c in s for s in sets], dtype=np.int8) for c in classes}, index=info.index)
    return y, labeled.astype(bool).rename("labeled"), classes


def frame_targets(info: pd.DataFrame, scheme: str):
    """(y, labeled, classes, folds, groups) of a records table (the store's, or the signal cache's
    index): the dataset's own folds (strat_fold) where it has them, else NaN; groups = patient_id
    where known, else the record id (every record its own patient)."""
    index = info.index
    y, labeled, classes = targets(info, scheme)
    if "strat_fold" in info.columns:
        folds = pd.to_numeric(info["strat_fold"], errors="coerce").astype(float)
    else:
        folds = pd.Series(np.nan, index=index)
    if "patient_id" in info.columns:
        pid = info["patient_id"].astype(object)
        groups = pd.Series([str(p) if pd.notna(p) else str(r) for r, p in zip(index, pid)], index=index)
    else:
        groups = pd.Series(index.astype(str), index=index)
    return y, labeled, classes, folds.rename("fold"), groups.rename("group")


def read(store, dataset: str, families=None, leads=None, scheme: str = "cpsc9", record_level: bool = True):
    from .store import StoreData

    scheme_classes(scheme)  # ValueError naming an unknown scheme, before any I/O

    def run(m):
        entry = store._entry(m, dataset)
        known = store._family_names(entry)
        fams = list(known) if families is None else [str(f) for f in families]
        for f in fams:
            if f not in known:
                raise StoreError(f"{store.root / dataset}: no feature family {f!r} in the store "
                                 f"(families: {', '.join(known) or 'none'})")
        live = store._live(dataset, entry)
        info = store._frame(dataset, entry, "records", live.records.reset_index(), nullable=True).sort_index()
        index = info.index
        blocks = []
        for f in fams:
            cols = select(feature_columns(store, dataset, entry, f), leads, record_level)
            rows = live.families.get(f)
            if not cols:
                continue
            if rows is None or not len(rows):
                blocks.append(pd.DataFrame(np.full((len(index), len(cols)), np.nan, np.float32),
                                           index=index, columns=cols))
                continue
            block = store._frame(dataset, entry, f, rows.reset_index(), ["record_id"] + cols)
            block = block if block.index.equals(index) else block.reindex(index)
            blocks.append(block.astype(np.float32, copy=False))
        X = (blocks[0] if len(blocks) == 1 else pd.concat(blocks, axis=1)) if blocks else pd.DataFrame(index=index)
        if X.columns.duplicated().any():
            dup = X.columns[X.columns.duplicated()][0]
            raise StoreError(f"{store.root / dataset}: feature {dup!r} is stored in more than one family")
        X.index.name = "record_id"
        y, labeled, classes, folds, groups = frame_targets(info, scheme)
        errors = live.errors.drop(columns=["_part", "_row", "_seq"]).sort_values(["record_id", "stage"])
        return StoreData(X=X, y=y, folds=folds, groups=groups,
                         feature_names=list(X.columns), info=info, labeled=labeled,
                         errors=errors.reset_index(drop=True), classes=classes)
    return store._retry(run)


def summary(store, dataset: str, max_errors: int = 10) -> dict:
    def run(m):
        entry = store._entry(m, dataset)
        live = store._live(dataset, entry)
        folder = store.root / dataset
        fams, versions, rows_of, by_lead = {}, {}, {}, {}
        for f in store._family_names(entry):
            cols = feature_columns(store, dataset, entry, f)
            rows = live.families.get(f)
            fams[f], versions[f] = len(cols), entry.get("families", {}).get(f)
            rows_of[f] = 0 if rows is None else int(len(rows))
            for c in cols:
                lead = _lead_of(c) or "?"
                by_lead[lead] = by_lead.get(lead, 0) + 1
        errs = live.errors.sort_values(["record_id", "stage"])
        live_bytes, parts = 0, {}
        for t in entry["tables"]:
            names = store._parts(entry, t)
            parts[t] = len(names)
            live_bytes += sum((folder / t / n).stat().st_size for n in names)
        disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        record_level = errs[~errs["stage"].isin(list(fams))]
        return {
            "dataset": dataset, "source_path": entry.get("source_path"), "format": entry.get("format"),
            "records": int(len(live.records)),
            "readable": int(len(live.records) - record_level["record_id"].nunique()),
            "families": fams, "versions": versions, "records_by_family": rows_of, "features": sum(fams.values()),
            "by_lead": dict(sorted(by_lead.items(), key=lambda kv: _lead_order(kv[0]))),
            "errors": int(len(errs)), "errors_by_stage": {k: int(v) for k, v in errs["stage"].value_counts().items()},
            "first_errors": [{"record": r, "stage": s, "reason": why} for r, s, why in
                             errs[["record_id", "stage", "reason"]].head(max_errors).itertuples(index=False)],
            "parts": parts, "bytes": int(live_bytes), "bytes_on_disk": int(disk),
            "updated": entry.get("updated"), "path": str(folder),
        }
    return store._retry(run)


def _lead_order(lead: str):
    from ..vocab import LEADS
    if lead in LEADS:
        return (0, LEADS.index(lead), lead)
    return (1 if lead == RECORD_LEVEL else 2, 0, lead)

"""PTB-XL: `ptbxl_database.csv` + `scp_statements.csv` + WFDB records under records500/ or records100/.

The index comes from the csv alone (record id = str(ecg_id)); each ref carries its `strat_fold`
and `patient_id`, so folds are known without reading a signal. Rows whose header file is absent
(a partial download) are counted in `notes["rows_without_signal"]`, not reported as errors. A
second row with an ecg_id already seen is an index error (keyed "<id> (line <n>)").
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path


from ..labels import check_codes, parse_scp_codes, ptbxl_super_from_codes, read_scp_statements
from ..record import Record, RecordError
from .base import DatasetError, IndexedDataset, RecordRef, finish
from .wfdb_folder import load_wfdb_12, short

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
AGE_OVER_89 = 300  # PTB-XL writes 300 for every patient older than 89 (anonymisation)


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _as_id(value):
    """patient_id is a float column in the csv (15709.0): keep it an int when it is one."""
    v = _num(value)
    if v is None:
        return None
    return int(v) if v.is_integer() else v


@dataclass
class PtbXl(IndexedDataset):
    format: str = "ptbxl"
    rate: int | None = None  # 500 or 100; default 500 when records500/ exists, else 100
    only: str | None = None  # one record's .hea: a dataset of that record, under its ecg_id and labels

    def __post_init__(self):
        self.root = Path(os.path.abspath(self.root))
        super().__post_init__()
        self._db = str(self.root / DATABASE)
        scp = self.root / STATEMENTS
        for f in (self._db, str(scp)):
            if not os.path.isfile(f):
                raise DatasetError(f"{f}: missing (a PTB-XL folder needs {DATABASE} and {STATEMENTS})")
        if self.rate is None:
            self.rate = 500 if (self.root / "records500").is_dir() else 100
        if int(self.rate) not in (100, 500):
            raise DatasetError(f"{self.root}: PTB-XL rate must be 500 or 100, not {self.rate}")
        self.rate = int(self.rate)
        if not (self.root / f"records{self.rate}").is_dir():
            raise DatasetError(f"{self.root}: PTB-XL folder without records{self.rate}/")
        try:
            self._known, self._to_super = read_scp_statements(scp)
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise DatasetError(f"{scp}: unreadable ({short(err)})") from None
        self.notes["rate"] = self.rate
        self._rows: dict[str, dict] = {}
        refs = self.refs()
        if not refs and not self.index_errors:
            raise DatasetError(f"{self.root}: no record of {DATABASE} found under records{self.rate}/")

    def _index(self) -> list[RecordRef]:
        import pandas as pd   # here: opening a dataset of another format needs no pandas

        column = "filename_hr" if self.rate == 500 else "filename_lr"
        try:
            # encoding_errors: a stray non-UTF-8 byte (e.g. in the German `report` text) costs that cell only
            db = pd.read_csv(self._db, dtype={"scp_codes": str, column: str}, encoding_errors="replace")
            db = db[["ecg_id", "patient_id", "age", "sex", "scp_codes", "strat_fold", column]]
        except (OSError, ValueError, KeyError) as err:
            raise DatasetError(f"{self._db}: unreadable PTB-XL database ({short(err)})") from None
        refs, missing, line_of = [], 0, {}
        for line, row in enumerate(db.itertuples(index=False), 2):  # csv line numbers: the header is line 1
            rid = str(_as_id(row.ecg_id))
            if rid in line_of:  # one id, one record: a second row would be a second record under the same id
                # keyed apart from `rid`: the first row's record is read and stored under that id
                self.index_errors.append((f"{rid} (line {line})",
                                          f"{self._db} line {line}: duplicate ecg_id {rid} (also on line {line_of[rid]})"))
                continue
            line_of[rid] = line
            rel = str(getattr(row, column) or "")
            if not rel or rel == "nan" or os.path.isabs(rel) or ".." in Path(rel).parts:
                self.index_errors.append((rid, f"{self._db} row ecg_id={rid}: bad {column} {rel!r}"))
                continue
            hea = str(self.root / (rel + ".hea"))
            if not os.path.isfile(hea):
                missing += 1
                continue
            fold, patient = _as_id(row.strat_fold), _as_id(row.patient_id)
            age = _num(row.age)
            sex = _num(row.sex)
            self._rows[rid] = {
                "strat_fold": fold, "patient_id": patient, "scp_codes": row.scp_codes,
                "age": 90.0 if age is not None and age >= AGE_OVER_89 else age,
                "sex": {0: "M", 1: "F"}.get(int(sex)) if sex is not None else None,
            }
            refs.append(RecordRef(rid, hea, (hea, str(self.root / (rel + ".dat"))),
                                  extra=(("strat_fold", fold), ("patient_id", patient))))
        if missing and not self.only:
            self.notes["rows_without_signal"] = missing
        if self.only:
            want = os.path.abspath(self.only)
            refs = [r for r in refs if os.path.abspath(r.path) == want]
            self.index_errors = []
            if not refs:
                raise DatasetError(f"{self.only}: not a record of {self._db} (no row names this file)")
        return refs

    def read(self, ref: RecordRef, fs: float | None = None) -> Record:
        row = self._rows[ref.record_id]
        where = f"{self._db} row ecg_id={ref.record_id}"
        try:
            scp = parse_scp_codes(row["scp_codes"] if isinstance(row["scp_codes"], str) else "")
        except (ValueError, SyntaxError) as err:
            raise RecordError(f"{where}: malformed scp_codes ({short(err)})") from None
        codes = tuple(scp)
        check_codes(codes, "scp", where, known=self._known)
        signal, rate, h = load_wfdb_12(ref.path, root=self.root)
        meta = {"strat_fold": row["strat_fold"], "patient_id": row["patient_id"], "scp_codes": scp,
                "ptbxl_super": ptbxl_super_from_codes(codes, self._to_super)}
        source = os.path.join(os.path.dirname(ref.path), h.file_name[0])
        rec = Record(record_id=ref.record_id, signal=signal, fs=rate, age=row["age"], sex=row["sex"],
                     codes=codes, code_system="scp", source=source, dataset=self.name, meta=meta)
        return finish(rec, fs, source)

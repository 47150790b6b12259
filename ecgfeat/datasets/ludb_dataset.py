"""LUDB as a dataset: a WFDB folder (``data/N.hea`` + ``.dat``, 12 leads, 500 Hz, 10 s, per-lead wave
annotations read by datasets.ludb) with ``ludb.csv`` at its root (Kalyakulina et al., IEEE Access 8,
186181, 2020; PhysioNet ``ludb`` 1.0.1).

``ludb.csv``: ``ID, Sex, Age, Rhythms, Electric axis of the heart, Conduction abnormalities,
Extrasystolies, Hypertrophies, Cardiac pacing, Ischemia, Non-specific repolarization abnormalities,
Other states``; cells are free text, several statements in one cell on separate lines (a quoted,
multi-line csv cell), Sex and Age with a trailing newline. A record's raw codes are its statements
in column order (``("Sinus rhythm", "Electric axis of the heart: normal", "I degree av block")``),
mapped to ``cpsc9`` by labels.cpsc9_from_ludb (vocab.LUDB_TO_CPSC9). Age and sex come from the csv
(the headers write them as ``#<age>: 51``). A header without a csv row is a record without codes.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from ..labels import check_codes
from ..record import Record
from .base import RecordRef
from .wfdb_folder import WfdbFolder, parse_age, parse_sex, short

LUDB_CSV = "ludb.csv"
NOT_STATEMENTS = ("ID", "Sex", "Age")


def is_ludb_csv(path: str | os.PathLike) -> bool:
    """True when `path` is a csv whose header has LUDB's ID and Rhythms columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            header = next(csv.reader(fh), [])
    except OSError:
        return False
    cols = {c.strip().lower() for c in header}
    return "id" in cols and "rhythms" in cols


def is_ludb_folder(root: str | os.PathLike) -> bool:
    return is_ludb_csv(Path(root) / LUDB_CSV)


def read_ludb_csv(path: str | os.PathLike) -> dict[str, dict]:
    """ludb.csv -> {record id: {"sex", "age", "statements": (...)}} (statements in column order)."""
    out: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        fields = [f for f in (reader.fieldnames or []) if f is not None]
        key = {f.strip().lower(): f for f in fields}
        columns = [f for f in fields if f.strip() not in NOT_STATEMENTS]
        for row in reader:
            rid = (row.get(key.get("id", "ID")) or "").strip()
            if not rid:
                continue
            statements = []
            for col in columns:
                for line in (row.get(col) or "").splitlines():
                    text = " ".join(line.split()).rstrip(".")
                    if text and text not in statements:
                        statements.append(text)
            out[rid] = {"sex": (row.get(key.get("sex", "Sex")) or "").strip(),
                        "age": (row.get(key.get("age", "Age")) or "").strip(),
                        "statements": tuple(statements)}
    return out


@dataclass
class LudbFolder(WfdbFolder):
    format: str = "ludb"

    def __post_init__(self):
        super().__post_init__()
        self.format = "ludb"
        self._ludb_csv = str(self.root / LUDB_CSV)
        self._ludb: dict[str, dict] = {}
        try:
            self._ludb = read_ludb_csv(self._ludb_csv)
        except (OSError, csv.Error) as err:
            self.notes["ludb_csv_error"] = f"{self._ludb_csv}: {short(err)}"
        if not self.only:
            ids = {r.record_id for r in self.refs()}
            missing = sum(1 for k in self._ludb if k not in ids)
            if missing:
                self.notes["labels_without_signal"] = missing

    def read(self, ref: RecordRef, fs: float | None = None) -> Record:
        rec = super().read(ref)
        row = self._ludb.get(ref.record_id)
        codes = row["statements"] if row else ()
        check_codes(codes, "ludb", f"{self._ludb_csv} row {ref.record_id}")
        rec.codes, rec.code_system = codes, "ludb"
        if row:
            rec.age = parse_age(row["age"]) if parse_age(row["age"]) is not None else rec.age
            rec.sex = parse_sex(row["sex"]) or rec.sex
        return rec.resampled(fs) if fs else rec

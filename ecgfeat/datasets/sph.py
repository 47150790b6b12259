"""SPH: the Shandong Provincial Hospital 12-lead ECG database (Liu et al., Sci Data 9, 272, 2022).

As released on figshare (25,770 records, 24,666 patients): one HDF5 file per record,
``records/<ECG_ID>.h5``, holding a dataset ``ecg`` of shape (12, N), float16, in mV, 500 Hz, leads
in the standard order; and ``metadata.csv`` (``ECG_ID, AHA_Code, Patient_ID, Age, Sex, N, Date``)
at the root, beside the codebook ``code.csv``. ``AHA_Code`` holds AHA/ACC/HRS standardized
statements: primary codes joined by ";", each with its modifiers after "+" (``50+346``); they are
the record's raw codes as written, mapped to ``cpsc9`` by labels.cpsc9_from_aha (vocab.AHA_TO_CPSC9).

A folder is SPH when its root holds a ``metadata.csv`` with the ``ECG_ID`` and ``AHA_Code`` columns
(`is_sph_folder`). The .h5 files are found anywhere below the root; a metadata row without its file
(a partial download) is counted in ``notes["rows_without_signal"]``, an .h5 file without a row is
a record without codes, a second .h5 with the same id is an index error. Patient ids go to
``meta["patient_id"]`` (and the ref's extra), so folds can be grouped by patient.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..labels import check_codes
from ..record import Record, RecordError
from ..vocab import LEADS
from .base import IndexedDataset, RecordRef, check_inside, finish
from .wfdb_folder import duplicate_key, parse_age, parse_sex, short, walk

FS = 500.0
METADATA = "metadata.csv"
REQUIRED = ("ECG_ID", "AHA_Code")
H5_EXTS = (".h5", ".hdf5")


def is_sph_metadata(path: str | os.PathLike) -> bool:
    """True when `path` is a csv whose header names SPH's ECG_ID and AHA_Code columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            header = next(csv.reader(fh), [])
    except OSError:
        return False
    cols = {c.strip() for c in header}
    return all(c in cols for c in REQUIRED)


def is_sph_folder(root: str | os.PathLike) -> bool:
    return is_sph_metadata(Path(root) / METADATA)


def find_metadata(path: Path) -> Path | None:
    """The metadata.csv of an SPH record file: in its folder or one above (records/<id>.h5)."""
    for folder in (path.parent, path.parent.parent):
        if is_sph_folder(folder):
            return folder / METADATA
    return None


def _int_or_none(value) -> int | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return int(v) if math.isfinite(v) and v.is_integer() and v > 0 else None


def split_aha(text: str) -> tuple[str, ...]:
    """``"22;50+346"`` -> ("22", "50+346"): statements, blanks dropped, repeats kept once."""
    parts = [p.strip().replace(" ", "") for p in str(text or "").split(";")]
    return tuple(dict.fromkeys(p for p in parts if p))


def read_metadata(path: str | os.PathLike) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """metadata.csv -> ({ECG_ID: row}, index errors for repeated ids)."""
    rows: dict[str, dict] = {}
    errors: list[tuple[str, str]] = []
    line_of: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        for line, row in enumerate(reader, 2):
            row = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
            rid = row.get("ECG_ID", "")
            if not rid:
                continue
            if rid in line_of:
                errors.append((f"{rid} (line {line})",
                               f"{path} line {line}: duplicate ECG_ID {rid} (also on line {line_of[rid]})"))
                continue
            line_of[rid] = line
            rows[rid] = row
    return rows, errors


def load_sph_h5(path: str, n_expected: int | None = None) -> np.ndarray:
    """(12, n) float32 mV from an SPH .h5 file (`ecg` dataset), or RecordError naming it."""
    try:
        import h5py
    except ImportError:
        raise RecordError(f"{path}: reading SPH .h5 files needs h5py (pip install h5py)") from None
    if os.path.getsize(path) == 0:
        raise RecordError(f"{path}: empty file (0 bytes)")
    try:
        with h5py.File(path, "r") as f:
            ecg = f.get("ecg")
            if not isinstance(ecg, h5py.Dataset):
                raise RecordError(f"{path}: no 'ecg' dataset in the HDF5 file")
            data = np.asarray(ecg[()])
    except RecordError:
        raise
    except Exception as err:
        raise RecordError(f"{path}: unreadable or truncated HDF5 file ({short(err)})") from None
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.number):
        raise RecordError(f"{path}: 'ecg' is not a 2-D numeric matrix (shape {data.shape})")
    if data.shape[0] != len(LEADS) and data.shape[1] == len(LEADS):
        data = data.T
    if data.shape[0] != len(LEADS):
        raise RecordError(f"{path}: {data.shape[0]} leads in 'ecg', need the 12 standard leads")
    if n_expected:
        if data.shape[1] < n_expected:
            raise RecordError(f"{path}: truncated ({data.shape[1]} samples per lead, {METADATA} says {n_expected})")
        data = data[:, :n_expected]
    with np.errstate(over="ignore", invalid="ignore"):
        return data.astype(np.float32)


@dataclass
class Sph(IndexedDataset):
    format: str = "sph"
    only: str | None = None  # a single .h5: the dataset of that one record (predict)

    def __post_init__(self):
        self.root = Path(os.path.abspath(self.root))
        super().__post_init__()
        self._metadata = str(self.root / METADATA)
        self._rows: dict[str, dict] = {}
        self._row_errors: list[tuple[str, str]] = []
        if os.path.isfile(self._metadata):
            try:
                self._rows, self._row_errors = read_metadata(self._metadata)
            except (OSError, csv.Error) as err:
                self.notes["metadata_error"] = f"{self._metadata}: {short(err)}"
        refs = self.refs()
        if not self.only:
            ids = {r.record_id for r in refs}
            missing = sum(1 for k in self._rows if k not in ids)
            if missing:
                self.notes["rows_without_signal"] = missing

    def _index(self) -> list[RecordRef]:
        def ref(rid: str, path: str) -> RecordRef:
            pid = self._rows.get(rid, {}).get("Patient_ID") or None
            return RecordRef(rid, path, (path,), extra=(("patient_id", pid),))

        if self.only:
            path = os.path.abspath(self.only)
            return [ref(Path(path).stem, path)]
        self.index_errors.extend(self._row_errors)
        refs, seen = [], {}
        for dirpath, filenames in walk(self.root):
            for fn in filenames:
                stem, ext = os.path.splitext(fn)
                if ext.lower() not in H5_EXTS:
                    continue
                path = os.path.join(dirpath, fn)
                if stem in seen:
                    self.index_errors.append((duplicate_key(self.root, dirpath, stem),
                                              f"{path}: duplicate record id {stem} (also {seen[stem]})"))
                    continue
                seen[stem] = path
                refs.append(ref(stem, path))
        return refs

    def read(self, ref: RecordRef, fs: float | None = None) -> Record:
        row = self._rows.get(ref.record_id, {})
        where = f"{self._metadata} row {ref.record_id}"
        codes = split_aha(row.get("AHA_Code", ""))
        check_codes(codes, "aha", where)
        if not self.only:
            check_inside(self.root, ref.path)
        data = load_sph_h5(ref.path, _int_or_none(row.get("N")))
        meta = {"patient_id": row.get("Patient_ID") or None, "aha_code": row.get("AHA_Code", "")}
        if row.get("Date"):
            meta["date"] = row["Date"]
        rec = Record(record_id=ref.record_id, signal=data, fs=FS, age=parse_age(row.get("Age")),
                     sex=parse_sex(row.get("Sex")), codes=codes, code_system="aha", source=ref.path,
                     dataset=self.name, meta=meta)
        return finish(rec, fs, ref.path)

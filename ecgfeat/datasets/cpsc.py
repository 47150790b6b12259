"""CPSC 2018 in its original release format.

`*.mat` (MATLAB v5) holding a struct `ECG` with `sex`, `age`, `data` (12 x N, mV, 500 Hz, standard
lead order) and `REFERENCE.csv` (`Recording,First_label,Second_label,Third_label`, codes 1-9).
Labels listed without a signal file are normal (a partial download) and only counted in
`notes["labels_without_signal"]`; a .mat without a REFERENCE row is a record with no codes.
"""

from __future__ import annotations

import csv
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
REFERENCE = "REFERENCE.csv"


def _norm_code(text: str) -> str:
    text = text.strip()
    try:  # "4" and "4.0" (a spreadsheet round trip) are the same code
        value = float(text)
        return str(int(value)) if value.is_integer() else text
    except ValueError:
        return text


def read_reference(path: str | Path) -> dict[str, tuple[str, ...]]:
    """REFERENCE.csv -> {recording: codes as strings}, blanks dropped, order kept."""
    out: dict[str, tuple[str, ...]] = {}
    # a stray non-UTF-8 byte (a spreadsheet's Latin-1 save) costs its own cell, not every label
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if not row or not row[0].strip():
                continue
            if i == 0 and row[0].strip().lower() == "recording":
                continue
            out[row[0].strip()] = tuple(_norm_code(c) for c in row[1:] if c.strip())
    return out


def find_reference(root: Path) -> str | None:
    """REFERENCE.csv at the root, else the first one in the tree (the original zips nest it)."""
    top = root / REFERENCE
    if top.is_file():
        return str(top)
    for dirpath, filenames in walk(root):
        if REFERENCE in filenames:
            return os.path.join(dirpath, REFERENCE)
    return None


def _scalar(value):
    arr = np.asarray(value).ravel()
    return arr[0] if arr.size else None


def load_cpsc_mat(path: str) -> tuple[np.ndarray, float | None, str | None]:
    """(data (12, n) float32 mV, age, sex) of a CPSC 2018 .mat, or RecordError naming it."""
    import scipy.io

    try:
        if os.path.getsize(path) == 0:
            raise RecordError(f"{path}: empty file (0 bytes)")
        mat = scipy.io.loadmat(path, variable_names=["ECG"], squeeze_me=True, struct_as_record=False)
    except RecordError:
        raise
    except Exception as err:
        raise RecordError(f"{path}: unreadable or truncated .mat file ({short(err)})") from None
    ecg = mat.get("ECG")
    if ecg is None or not hasattr(ecg, "data"):
        raise RecordError(f"{path}: no ECG struct with a data field (not a CPSC 2018 .mat file)")
    data = np.asarray(ecg.data)
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.number):
        raise RecordError(f"{path}: ECG.data is not a 2-D numeric matrix (shape {data.shape})")
    if data.shape[0] != len(LEADS) and data.shape[1] == len(LEADS):
        data = data.T
    if data.shape[0] != len(LEADS):
        raise RecordError(f"{path}: {data.shape[0]} leads in ECG.data, need the 12 standard leads")
    age = parse_age(_scalar(getattr(ecg, "age", None)))
    sex = parse_sex(_scalar(getattr(ecg, "sex", None)))
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: Inf, refused by check_signal
        return data.astype(np.float32), age, sex


@dataclass
class CpscOriginal(IndexedDataset):
    format: str = "cpsc2018"
    only: str | None = None  # a single .mat: the dataset of that one record (predict)

    def __post_init__(self):
        self.root = Path(os.path.abspath(self.root))
        super().__post_init__()
        self._reference = find_reference(self.root)
        self._labels: dict[str, tuple[str, ...]] = {}
        if self._reference:
            try:
                self._labels = read_reference(self._reference)
            except (OSError, csv.Error, UnicodeDecodeError) as err:
                self.notes["reference_error"] = f"{self._reference}: {short(err)}"
        refs = self.refs()
        if self._reference:
            ids = {r.record_id for r in refs}
            self.notes["labels_without_signal"] = sum(1 for k in self._labels if k not in ids)

    def _index(self) -> list[RecordRef]:
        if self.only:
            path = os.path.abspath(self.only)
            return [RecordRef(Path(path).stem, path, (path,))]
        refs, seen = [], {}
        for dirpath, filenames in walk(self.root):
            names = set(filenames)
            for fn in filenames:
                stem, ext = os.path.splitext(fn)
                if ext.lower() != ".mat" or stem + ".hea" in names:
                    continue  # a .mat with a header beside is a Challenge/WFDB record
                path = os.path.join(dirpath, fn)
                if stem in seen:
                    self.index_errors.append((duplicate_key(self.root, dirpath, stem),
                                              f"{path}: duplicate record id {stem} (also {seen[stem]})"))
                    continue
                seen[stem] = path
                refs.append(RecordRef(stem, path, (path,)))
        return refs

    def read(self, ref: RecordRef, fs: float | None = None) -> Record:
        codes = self._labels.get(ref.record_id, ())
        check_codes(codes, "cpsc", f"{self._reference} row {ref.record_id}")
        if not self.only:
            check_inside(self.root, ref.path)
        data, age, sex = load_cpsc_mat(ref.path)
        rec = Record(record_id=ref.record_id, signal=data, fs=FS, age=age, sex=sex, codes=codes,
                     code_system="cpsc" if self._reference else "none", source=ref.path,
                     dataset=self.name)
        return finish(rec, fs, ref.path)

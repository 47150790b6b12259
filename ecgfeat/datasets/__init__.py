"""Dataset readers and format detection by content.

`open_dataset(path)` picks the reader:
- `ptbxl_database.csv` at the root -> PtbXl (format "ptbxl")
- `metadata.csv` with SPH's ECG_ID and AHA_Code columns at the root -> Sph (format "sph"; HDF5 files)
- `ludb.csv` (LUDB's ID, Rhythms ... columns) at the root -> LudbFolder (format "ludb"; a WFDB folder)
- WFDB `.hea` headers anywhere below -> WfdbFolder (format "challenge" with `#Dx:` codes, else "wfdb")
- `.mat` files with no `.hea` beside, and a REFERENCE.csv (or an `ECG` struct) -> CpscOriginal ("cpsc2018")
A single record file (a `.hea`, its `.dat`/`.mat`, a WFDB base path without extension, a CPSC `.mat`, or
an SPH `.h5`) gives a dataset of that record, under the id and labels its dataset gives it when it sits in
a PTB-XL, LUDB or SPH folder (`records500/00000/00008_hr.hea` is record `8` of PTB-XL).
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import Dataset, DatasetError, RecordRef, content_hash
from .cpsc import REFERENCE, CpscOriginal
from .ludb_dataset import LudbFolder, is_ludb_folder
from .ptbxl import DATABASE, PtbXl
from .sph import H5_EXTS, Sph, find_metadata, is_sph_folder
from .wfdb_folder import WfdbFolder, walk

FORMATS: tuple[str, ...] = ("ptbxl", "sph", "ludb", "cpsc2018", "challenge", "wfdb")

__all__ = ["FORMATS", "Dataset", "DatasetError", "RecordRef", "content_hash", "open_dataset",
           "WfdbFolder", "CpscOriginal", "PtbXl", "Sph", "LudbFolder"]


def _is_cpsc_mat(path: str) -> bool:
    import scipy.io

    try:
        return any(name == "ECG" for name, _, _ in scipy.io.whosmat(path))
    except Exception:
        return False


def _open_file(p: Path, name: str) -> Dataset:
    ext = p.suffix.lower()
    hea = p.with_suffix(".hea")
    if ext == ".hea" or (ext in (".dat", ".mat") and hea.is_file()):
        only = str(hea if ext != ".hea" else p)
        for folder in (p.parent, p.parent.parent):  # LUDB: <root>/data/N.hea beside <root>/ludb.csv
            if is_ludb_folder(folder):
                return LudbFolder(folder, name=name, only=only)
        # PTB-XL: <root>/records500/00000/00008_hr.hea below <root>/ptbxl_database.csv - the record keeps
        # its ecg_id (`8`, as train, explain and the store name it) and its labels
        for folder in (p.parent.parent.parent, p.parent.parent):
            if (folder / DATABASE).is_file() and p.parent.parent.name in ("records500", "records100"):
                return PtbXl(folder, name=name, rate=int(p.parent.parent.name[len("records"):]), only=only)
        return WfdbFolder(p.parent, name=name, only=only)
    if ext in H5_EXTS:
        meta = find_metadata(p)
        return Sph(meta.parent if meta else p.parent, name=name, only=str(p))
    if ext == ".mat":
        return CpscOriginal(p.parent, name=name, only=str(p))
    raise DatasetError(f"{p}: not an ECG record file (expected a WFDB .hea/.dat/.mat, a CPSC 2018 .mat "
                       "or an SPH .h5)")


def open_dataset(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """The dataset at `path` (a folder or one record file), its format detected by content."""
    p = Path(path)
    name = name or ""
    if not p.exists() and Path(f"{p}.hea").is_file():  # a WFDB record named as wfdb names it: no extension
        p = Path(f"{p}.hea")
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    if p.is_file():
        return _open_file(p, name)
    if (p / DATABASE).is_file():
        return PtbXl(p, name=name)
    if is_sph_folder(p):
        return Sph(p, name=name)
    if is_ludb_folder(p):
        return LudbFolder(p, name=name)
    first_mat, has_reference = None, False
    for dirpath, filenames in walk(p):
        lower = {f.lower() for f in filenames}
        if any(f.endswith(".hea") for f in lower):
            return WfdbFolder(p, name=name)
        has_reference = has_reference or REFERENCE in filenames
        if first_mat is None:
            mats = [f for f in filenames if f.lower().endswith(".mat")]
            first_mat = os.path.join(dirpath, mats[0]) if mats else None
    if first_mat is not None and (has_reference or _is_cpsc_mat(first_mat)):
        return CpscOriginal(p, name=name)
    raise DatasetError(
        f"{p}: no ECG records found (looked for {DATABASE}, WFDB .hea headers, "
        f"and CPSC 2018 .mat files with {REFERENCE})")

"""Label schemes: map the codes a source writes onto target classes.

Schemes
- ``cpsc9``: the paper's nine classes (vocab.CPSC9), from CPSC codes 1-9, SNOMED CT codes
  (Challenge 2020/2021), PTB-XL SCP statements, or class names (labels.csv of a WFDB folder).
- ``ptbxl-super``: PTB-XL diagnostic superclasses (NORM, MI, STTC, CD, HYP) from SCP statements
  via ``scp_statements.csv`` (``diagnostic == 1``, column ``diagnostic_class``).
- ``raw``: the source codes as they are.

Choices for near-equivalents (documented in the README):
- Normal from SNOMED is "sinus rhythm" (426783006) *and* none of the other eight classes: the
  Challenge sets code sinus rhythm beside e.g. I-AVB or RBBB, which CPSC's "Normal" excludes.
- Normal from PTB-XL is NORM and SR together, and none of the other eight classes.
- PTB-XL STD_/STE_ are the non-specific ST depression/elevation statements; ischaemic ST
  statements (ISC_, INJ..) are not mapped, nor incomplete bundle branch blocks (ILBBB, IRBBB),
  bigeminy/trigeminy (BIGU, TRIGU), atrial flutter (AFLT) or SVARR.
- All PTB-XL statements count whatever their likelihood (as the PTB-XL benchmark does).
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

from .record import Record, RecordError
from .vocab import CPSC9, CPSC_CODE_TO_CLASS, PTBXL_SUPER, SCP_TO_CPSC9, SNOMED_TO_CPSC9

SCHEMES = ("cpsc9", "ptbxl-super", "raw")


def scheme_classes(scheme: str) -> tuple[str, ...] | None:
    """Fixed class list of a scheme (None for ``raw``, whose classes are the codes seen)."""
    if scheme == "cpsc9":
        return CPSC9
    if scheme == "ptbxl-super":
        return PTBXL_SUPER
    if scheme == "raw":
        return None
    raise ValueError(f"unknown label scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")


def _ordered(found: set[str], order: tuple[str, ...]) -> list[str]:
    return [c for c in order if c in found]


def cpsc9_from_codes(codes, system: str) -> list[str]:
    codes = [str(c).strip() for c in codes]
    found: set[str] = set()
    if system == "cpsc":
        found = {CPSC_CODE_TO_CLASS[c] for c in codes if c in CPSC_CODE_TO_CLASS}
    elif system == "cpsc9":
        found = {c for c in codes if c in CPSC9}
    elif system == "snomed":
        found = {SNOMED_TO_CPSC9[c] for c in codes if c in SNOMED_TO_CPSC9}
        if len(found) > 1:
            found.discard("Normal")  # sinus rhythm beside an abnormality is not CPSC's Normal
    elif system == "scp":
        found = {SCP_TO_CPSC9[c] for c in codes if c in SCP_TO_CPSC9}
        if "NORM" in codes and "SR" in codes and not found:
            found.add("Normal")
    return _ordered(found, CPSC9)


def labels_for(record: Record, scheme: str) -> list[str]:
    """The record's classes under `scheme` (empty list: no label of that scheme)."""
    if scheme == "cpsc9":
        return cpsc9_from_codes(record.codes, record.code_system)
    if scheme == "ptbxl-super":
        return list(record.meta.get("ptbxl_super", ()))
    if scheme == "raw":
        return list(record.codes)
    raise ValueError(f"unknown label scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")


def applicable_schemes(code_system: str) -> tuple[str, ...]:
    if code_system == "none":
        return ()
    if code_system == "scp":
        return ("cpsc9", "ptbxl-super", "raw")
    return ("cpsc9", "raw")


def check_codes(codes, system: str, where: str, known: set[str] | None = None) -> None:
    """Raise RecordError on a malformed or unknown label code (named, with the file)."""
    for c in codes:
        c = str(c).strip()
        if system == "cpsc" and c not in CPSC_CODE_TO_CLASS:
            raise RecordError(f"{where}: unknown CPSC label code {c!r} (expected 1-9)")
        if system == "snomed" and not c.isdigit():
            raise RecordError(f"{where}: malformed SNOMED code {c!r} in #Dx")
        if system == "cpsc9" and c not in CPSC9:
            raise RecordError(f"{where}: unknown class {c!r} (expected one of {', '.join(CPSC9)})")
        if system == "scp" and known is not None and c not in known:
            raise RecordError(f"{where}: unknown SCP statement {c!r} (not in scp_statements.csv)")


def read_scp_statements(path: str | Path) -> tuple[set[str], dict[str, str]]:
    """(all statement codes, diagnostic statement -> superclass) from PTB-XL's scp_statements.csv."""
    known: set[str] = set()
    to_super: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        key = reader.fieldnames[0]
        for row in reader:
            code = row[key].strip()
            known.add(code)
            diag = (row.get("diagnostic") or "").strip()
            cls = (row.get("diagnostic_class") or "").strip()
            if diag and float(diag) == 1.0 and cls in PTBXL_SUPER:
                to_super[code] = cls
    return known, to_super


def parse_scp_codes(text: str) -> dict[str, float]:
    """PTB-XL's `scp_codes` column: a Python dict literal, parsed without eval."""
    value = ast.literal_eval(text) if text else {}
    if not isinstance(value, dict):
        raise ValueError(f"scp_codes is not a dict: {text!r}")
    return {str(k): float(v) for k, v in value.items()}


def ptbxl_super_from_codes(codes, to_super: dict[str, str]) -> list[str]:
    return _ordered({to_super[c] for c in codes if c in to_super}, PTBXL_SUPER)

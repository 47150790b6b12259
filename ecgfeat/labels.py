"""Label schemes: map the codes a source writes onto target classes.

Schemes
- ``cpsc9``: the paper's nine classes (vocab.CPSC9), from CPSC codes 1-9, SNOMED CT codes
  (Challenge 2020/2021), PTB-XL SCP statements, AHA/ACC/HRS statement codes (SPH), LUDB's free-text
  statements, or class names (labels.csv of a WFDB folder).
- ``ptbxl-super``: PTB-XL diagnostic superclasses (NORM, MI, STTC, CD, HYP) from SCP statements
  via ``scp_statements.csv`` (``diagnostic == 1``, column ``diagnostic_class``).
- ``raw``: the source codes as they are.

Choices for near-equivalents (documented in docs/datasets.md):
- Normal from SNOMED is "sinus rhythm" (426783006) *and* none of the other eight classes: the
  Challenge sets code sinus rhythm beside e.g. I-AVB or RBBB, which CPSC's "Normal" excludes.
- Normal from PTB-XL is NORM and SR together, and none of the other eight classes.
- PTB-XL STD_/STE_ are the non-specific ST depression/elevation statements; ischaemic ST
  statements (ISC_, INJ..) are not mapped, nor incomplete bundle branch blocks (ILBBB, IRBBB),
  bigeminy/trigeminy (BIGU, TRIGU), atrial flutter (AFLT) or SVARR.
- All PTB-XL statements count whatever their likelihood (as the PTB-XL benchmark does).
- SPH (AHA codes, vocab.AHA_TO_CPSC9): Normal is "Normal ECG" (1) and none of the other eight; STD /
  STE only from ST deviation (145, 146) with the Depression (362) / Elevation (363) modifier.
- LUDB (vocab.LUDB_TO_CPSC9): Normal is "Sinus rhythm" with nothing else but a normal, vertical or
  horizontal electric axis; no STD / STE (its Ischemia column names walls, not ST shifts).
"""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

from .record import Record, RecordError
from .vocab import (AHA_ST_DEVIATION, AHA_ST_DIRECTION, AHA_TO_CPSC9, CPSC9, CPSC_CODE_TO_CLASS, LUDB_TO_CPSC9,
                    PTBXL_SUPER, SCP_TO_CPSC9, SNOMED_TO_CPSC9)

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
    elif system == "aha":
        found = cpsc9_from_aha(codes)
    elif system == "ludb":
        found = cpsc9_from_ludb(codes)
    return _ordered(found, CPSC9)


def aha_statements(codes) -> list[tuple[str, tuple[str, ...]]]:
    """SPH's AHA_Code statements ("50+346", ...) as (primary, modifiers)."""
    out = []
    for stmt in codes:
        primary, *mods = [p.strip() for p in str(stmt).split("+")]
        out.append((primary, tuple(mods)))
    return out


def cpsc9_from_aha(codes) -> set[str]:
    found: set[str] = set()
    for primary, mods in aha_statements(codes):
        if primary in AHA_TO_CPSC9:
            found.add(AHA_TO_CPSC9[primary])
        if primary in AHA_ST_DEVIATION:
            found.update(AHA_ST_DIRECTION[m] for m in mods if m in AHA_ST_DIRECTION)
    if len(found) > 1:
        found.discard("Normal")  # "Normal ECG" beside an abnormality is not CPSC's Normal
    return found


LUDB_NORMAL_RHYTHM = "sinus rhythm"
# electric axis statements that are normal variants (not a deviation)
LUDB_NORMAL_AXES = {f"electric axis of the heart: {a}" for a in ("normal", "vertical", "horizontal")}


def ludb_is_normal(codes) -> bool:
    """Sinus rhythm and nothing else (but a normal, vertical or horizontal electric axis)."""
    rest = {str(c).strip().lower() for c in codes} - LUDB_NORMAL_AXES
    return rest == {LUDB_NORMAL_RHYTHM}


def cpsc9_from_ludb(codes) -> set[str]:
    found: set[str] = set()
    for c in codes:
        text = str(c).strip().lower()
        for prefix, cls in LUDB_TO_CPSC9:
            if text.startswith(prefix):
                found.add(cls)
    if not found and ludb_is_normal(codes):
        found.add("Normal")
    return found


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


_AHA_STATEMENT = re.compile(r"^\d+(?:\+\d+)*$")


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
        if system == "aha" and not _AHA_STATEMENT.match(c):
            raise RecordError(f"{where}: malformed AHA statement {c!r} (expected codes like 50 or 50+346)")
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

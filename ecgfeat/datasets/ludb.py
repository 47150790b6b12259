"""LUDB wave annotations: cardiologists' per-lead onsets, peaks and offsets of P, QRS and T.

LUDB (Kalyakulina et al., IEEE Access 8, 2020) ships one WFDB annotation file per lead beside each
record (`N.i`, `N.ii`, ... `N.v6`). Each wave is three annotations: `(` onset, the peak symbol
(`p`, `N` for the QRS, `t`), `)` offset. Some leads are annotated over part of the record only, and a
lead may lack a wave that another lead shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..vocab import LEADS

WAVE_SYMBOLS = {"p": "P", "N": "QRS", "t": "T"}
# LUDB's annotation extensions, in the standard lead order
ANNOTATION_EXT = {lead: lead.lower() for lead in LEADS}


@dataclass(frozen=True)
class Wave:
    kind: str          # "P", "QRS" or "T"
    on: int | None     # sample index of the onset (None when not annotated)
    peak: int
    off: int | None


def has_annotations(base: str | os.PathLike) -> bool:
    """True when the record `base` (path without extension) has at least one LUDB lead annotation."""
    return any(Path(f"{base}.{ext}").is_file() for ext in ANNOTATION_EXT.values())


def parse_waves(samples, symbols) -> list[Wave]:
    """Group a lead's annotation stream into waves: `(` onset, peak symbol, `)` offset."""
    waves: list[Wave] = []
    samples = [int(s) for s in samples]
    for i, sym in enumerate(symbols):
        kind = WAVE_SYMBOLS.get(sym)
        if kind is None:
            continue
        on = samples[i - 1] if i > 0 and symbols[i - 1] == "(" else None
        off = samples[i + 1] if i + 1 < len(symbols) and symbols[i + 1] == ")" else None
        waves.append(Wave(kind, on, samples[i], off))
    return waves


def read_annotations(base: str | os.PathLike) -> dict[str, list[Wave]]:
    """{lead: [Wave, ...]} for every lead of record `base` that has an annotation file.

    Examples
    --------
    >>> ann = read_annotations("ludb/data/1")            # doctest: +SKIP
    >>> [w.kind for w in ann["II"][:3]]                   # doctest: +SKIP
    ['QRS', 'T', 'P']
    """
    import wfdb

    out: dict[str, list[Wave]] = {}
    for lead, ext in ANNOTATION_EXT.items():
        if not Path(f"{base}.{ext}").is_file():
            continue
        ann = wfdb.rdann(str(base), ext)
        out[lead] = parse_waves(np.asarray(ann.sample), list(ann.symbol))
    return out

"""The feature dictionary: every column ecgfeat can store, with its unit, definition, method, the
clinical criterion it serves and its measured accuracy where a reference exists.

One entry per feature (a per-lead feature is one entry for its 12 columns, `{lead}__expert__qrs_ms`)
and one per tsfresh calculator (its columns carry the parameters,
`{lead}__tsfresh__autocorrelation__lag_{lag}`). The column names come from the code
(features/expert.py, rhythm.py, tsfresh_fast.py, signal/quality.py); the text lives beside it
(dictionary_expert.py, dictionary_rhythm_quality.py, dictionary_tsfresh.py) and the measured
accuracy in one table here (ACCURACY). `tests/test_dictionary.py` fails when an extracted column has
no entry or an entry matches no extracted column, and when docs/features.md is not the generated text.

>>> lookup("V1__expert__qrs_ms").name
'{lead}__expert__qrs_ms'
>>> lookup('II__tsfresh__agg_autocorrelation__f_agg_"mean"__maxlag_40').table
'tsfresh-fast'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..vocab import LEADS, RECORD_LEVEL
from .dictionary_expert import EXPERT_PER_LEAD, EXPERT_RECORD
from .dictionary_rhythm_quality import QUALITY_PER_LEAD, QUALITY_RECORD, RHYTHM_RECORD
from .dictionary_tsfresh import (CALCULATORS, ECG_READING, EFFICIENT_PARAMETERS, GENERIC, NO_COLUMNS,
                                 TSFRESH_DOCS)
from .settings import FAMILIES, VERSIONS
from .tsfresh_fast import FAST_SET
from .tsfresh_fast import feature_names as fast_feature_names

TABLES = ("expert", "rhythm", "quality", "tsfresh-fast", "tsfresh-efficient")
FAMILY_CHOICES = tuple(FAMILIES) + ("tsfresh-fast", "tsfresh-efficient")

# ---- measured accuracy: every figure in one place (update it here, then regenerate docs/features.md) ----
SOURCES = {
    "LUDB": ("ludb-dev: 100 LUDB records annotated wave by wave by cardiologists (Kalyakulina et al. 2020); "
             "`.venv/bin/python bench/ludb.py`, feature version 5, 2026-12-03, docs/delineation.md"),
    "synthetic": ("200 synthetic records (seed 0) against the generator's parameters; "
                  "`OMP_NUM_THREADS=1 .venv/bin/python bench/accuracy.py`, feature version 5, 2026-12-03; "
                  "floors in tests/test_features.py"),
    "tsfresh": ("tests/test_tsfresh_fast.py: equal to tsfresh 0.21.2's own calculator on ECG-like, constant, "
                "short, tied and random signals"),
    "neurokit2": "tests/test_features.py::test_sample_entropy_equals_neurokit2 (neurokit2's entropy_sample)",
    "real data": "docs/quality.md: tests/test_quality.py on PTB-XL (500), the Challenge sample (50), LUDB (100), CPSC 2018 (4)",
}
ACCURACY: dict[str, tuple[tuple[str, str], ...]] = {
    "all__expert__pr_ms": (("LUDB", "bias +1.8 ms, MAE 7.3 ms (n = 87; target MAE <= 10)"),
                           ("synthetic", "median error -8.7 ms, median |error| 8.7 ms (target <= 10)")),
    "all__expert__qrs_ms": (("LUDB", "bias -3.9 ms, MAE 8.8 ms (n = 100; target MAE <= 10)"),
                            ("synthetic", "median error +14.6 ms (the 40 Hz band widens the lobes' support; target 0-20), "
                                          "IQR of the error 5.5 ms, Spearman 0.949")),
    "all__expert__qt_ms": (("LUDB", "bias -3.2 ms, MAE 19.5 ms (n = 100; target MAE <= 20)"),
                           ("synthetic", "median error +8.1 ms, median |error| 8.2 ms (target <= 10)")),
    "all__expert__p_ms": (("LUDB", "bias -1.1 ms, MAE 9.3 ms (n = 87)"),),
    "{lead}__expert__qrs_ms": (("LUDB", "bias +1.3 ms, MAE 11.7 ms (n = 1,189 lead-records; target MAE <= 12)"),),
    "all__expert__p_present": (("LUDB", "P reported in 1 of 10 AF/flutter records (target <= 10%) and in 98.9% of "
                                        "88 sinus records with an annotated P (target >= 98%)"),),
    "all__expert__hr_bpm": (("synthetic", "within 2 bpm on 99.5% of records (target >= 99%)"),),
    "{lead}__expert__st60_mv": (("synthetic", "within 0.05 mV on 99.6% of record-leads, in every lead of 99.0% of "
                                              "records (target >= 90%)"),),
    "all__expert__axis_deg": (("synthetic", "median |error| 0.8 deg"),),
    "all__rhythm__premature_count": (("synthetic", "exact on 100% of 50 PAC/PVC records (target >= 90%)"),),
    "all__rhythm__aberrant_premature_count": (("synthetic", "equals the number of PVCs on 93.1% of 29 PVC records"),),
    "all__rhythm__rr_sampen": (("neurokit2", "equal to neurokit2's sample entropy (rel 1e-12) on a 40-beat RR series"),),
    "all__rhythm__p_presence": (("synthetic", "mean 0.02 on AF records, 0.96 on the others"),),
    "all__rhythm__fwave_rms_uv": (("synthetic", "median 35 µV on AF records, 6 µV on the others"),),
    "{lead}__quality__index": (("real data", "no real record refused; under 0.5 on 1 of 7,834 non-flat real leads "
                                             "(a Challenge V1 flat but for a 0.1 s burst)"),),
    "all__quality__la_ra_reversal": (("real data", "1 on 72% (PTB-XL), 61% (LUDB), 30% (Challenge) of records swapped "
                                                   "by hand; 0 on every unswapped record"),),
}
ACCURACY_BY_TABLE = {"tsfresh-fast": (("tsfresh", "every column equal to tsfresh's (rtol 1e-6, atol 1e-9)"),)}


class UnknownFeature(LookupError):
    """A column name that no dictionary entry describes."""


@dataclass(frozen=True)
class Entry:
    """One feature (a per-lead feature stands for its 12 columns) or one tsfresh calculator.

    Attributes
    ----------
    name : str
        Column-name pattern: `{lead}__expert__qrs_ms`, `all__rhythm__rr_cv`,
        `{lead}__tsfresh__autocorrelation__lag_{lag}` (placeholders in braces).
    family, table : str
        Feature family (expert, rhythm, quality, tsfresh) and store table (tsfresh-fast / tsfresh-efficient).
    level : str
        "lead" (one column per lead) or "record" (lead `all`).
    unit, definition, method, criterion : str
        Unit, what is measured, how (module / algorithm), the clinical criterion it serves.
    parameters : str
        tsfresh: the values of the pattern's parameters.
    accuracy : tuple of (reference, figure)
        Measured accuracy against a reference (SOURCES names each reference).
    columns : tuple of str or None
        The concrete columns; None for the efficient set, whose columns are matched by pattern.
    """

    name: str
    family: str
    table: str
    level: str
    unit: str
    definition: str
    method: str
    criterion: str
    parameters: str = ""
    accuracy: tuple[tuple[str, str], ...] = ()
    columns: tuple[str, ...] | None = field(default=None, repr=False)

    def matches(self, column: str) -> bool:
        """Whether `column` is one of this entry's columns."""
        if self.columns is not None:
            return column in self.columns
        return _regex(self.name).fullmatch(column) is not None

    def as_dict(self) -> dict:
        """JSON-ready form; accuracy as [{"reference", "figure", "source"}]."""
        return {"name": self.name, "family": self.family, "table": self.table, "level": self.level, "unit": self.unit,
                "definition": self.definition, "method": self.method, "criterion": self.criterion,
                "parameters": self.parameters,
                "accuracy": [{"reference": r, "figure": f, "source": SOURCES[r]} for r, f in self.accuracy],
                "columns": list(self.columns) if self.columns is not None else None}


@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    leads = "|".join(map(re.escape, LEADS))
    parts = re.split(r"\{(\w+)\}", pattern)   # literal, name, literal, name, ...
    rx = "".join(re.escape(p) if i % 2 == 0 else (f"(?:{leads})" if p == "lead" else r"(?:(?!__).)+")
                 for i, p in enumerate(parts))
    return re.compile(rx)


def _fixed(family: str, per_lead: dict, record: dict) -> list[Entry]:
    out = []
    for level, specs in (("lead", per_lead), ("record", record)):
        for feat, (unit, definition, method, criterion) in specs.items():
            name = f"{{lead}}__{family}__{feat}" if level == "lead" else f"{RECORD_LEVEL}__{family}__{feat}"
            cols = tuple(name.replace("{lead}", lead) for lead in LEADS) if level == "lead" else (name,)
            out.append(Entry(name, family, family, level, unit, definition, method, criterion,
                             accuracy=ACCURACY.get(name, ()), columns=cols))
    return out


def _values(params: list[dict]) -> str:
    keys = list(dict.fromkeys(k for p in params for k in p))
    return "; ".join(f"{k} " + ", ".join(dict.fromkeys(str(p[k]) for p in params if k in p)) for k in keys)


def _tsfresh_fast() -> list[Entry]:
    method = ("features/tsfresh_fast.py: vectorised over the 12 leads, equal to tsfresh 0.21.2's "
              "feature_calculators.{calc}; input: the record resampled to 100 Hz and band-passed to 0.67-40 Hz "
              "(features/extract.py tsfresh_input)")
    out = []
    for calc, params in FAST_SET.items():
        unit, definition = CALCULATORS[calc]
        suffix = "" if params is None else "__" + EFFICIENT_PARAMETERS[calc][0]
        cols = tuple(f"{lead}__tsfresh__{n}" for lead in LEADS for n in fast_feature_names({calc: params}))
        out.append(Entry(f"{{lead}}__tsfresh__{calc}{suffix}", "tsfresh", "tsfresh-fast", "lead", unit, definition,
                         method.format(calc=calc), f"no clinical criterion; on the ECG it reads {ECG_READING[calc]}",
                         parameters=_values(params) if params else "", accuracy=ACCURACY_BY_TABLE["tsfresh-fast"],
                         columns=cols))
    return out


def _tsfresh_efficient() -> list[Entry]:
    method = ("tsfresh.extract_features with EfficientFCParameters (features/tsfresh_fast.py tsfresh_efficient), "
              f"on the same 100 Hz, 0.67-40 Hz input; {TSFRESH_DOCS}")
    out = []
    for calc, (unit, definition) in CALCULATORS.items():
        if calc in NO_COLUMNS:
            continue
        suffix, values = EFFICIENT_PARAMETERS.get(calc, ("", ""))
        out.append(Entry(f"{{lead}}__tsfresh__{calc}" + (f"__{suffix}" if suffix else ""), "tsfresh",
                         "tsfresh-efficient", "lead", unit, definition, method, GENERIC,
                         parameters=values, accuracy=ACCURACY_BY_TABLE.get("tsfresh-efficient", ())))
    return out


@lru_cache(maxsize=1)
def _all() -> tuple[Entry, ...]:
    return tuple(_fixed("expert", EXPERT_PER_LEAD, EXPERT_RECORD) + _fixed("rhythm", {}, RHYTHM_RECORD)
                 + _fixed("quality", QUALITY_PER_LEAD, QUALITY_RECORD) + _tsfresh_fast() + _tsfresh_efficient())


@lru_cache(maxsize=1)
def _by_column() -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for e in _all():
        for c in e.columns or ():
            out.setdefault(c, e)
    return out


def entries(family: str | None = None) -> list[Entry]:
    """The entries of one family (expert, rhythm, tsfresh, quality) or store table (tsfresh-fast,
    tsfresh-efficient), or of all (None), in table order. Raises ValueError for another name."""
    if family is None:
        return list(_all())
    if family not in FAMILY_CHOICES:
        raise ValueError(f"unknown family {family!r}; families are {', '.join(FAMILY_CHOICES)}")
    return [e for e in _all() if family in (e.family, e.table)]


def lookup(column: str) -> Entry:
    """The entry of a concrete column (`V1__expert__qrs_ms`, `II__tsfresh__quantile__q_0.3`).

    A column of the fast tsfresh set resolves to its fast entry (the efficient set computes the
    same value under the same name). Raises UnknownFeature when no entry describes it.
    """
    e = _by_column().get(column)
    if e is not None:
        return e
    lead, _, rest = column.partition("__")
    family, _, feature = rest.partition("__")
    if lead in LEADS and family == "tsfresh":
        calc = feature.split("__")[0]
        for e in _all():
            if e.table == "tsfresh-efficient" and e.name.split("__")[2] == calc and e.matches(column):
                return e
    raise UnknownFeature(f"{column}: not in the feature dictionary (`ecgfeat features` lists every feature)")


def as_dict(family: str | None = None) -> dict:
    """The dictionary as one JSON-ready object (what `ecgfeat features --json` prints)."""
    sel = entries(family)
    tables = [t for t in TABLES if any(e.table == t for e in sel)]
    return {"family": family, "versions": {t: VERSIONS[t] for t in tables}, "n_entries": len(sel),
            "n_columns": sum(len(e.columns) for e in sel if e.columns is not None),
            "tsfresh_docs": TSFRESH_DOCS, "sources": SOURCES, "entries": [e.as_dict() for e in sel]}


def to_json(family: str | None = None) -> str:
    """`as_dict(family)` as one line of JSON."""
    return json.dumps(as_dict(family), ensure_ascii=False)


def to_text(family: str | None = None) -> str:
    """One line per entry: pattern, unit, definition (the plain output of `ecgfeat features`)."""
    sel = entries(family)
    width = min(max(len(e.name) for e in sel), 60)
    return "\n".join(f"{e.name:<{width}}  [{e.unit}]  {e.definition}" for e in sel)


def to_markdown(family: str | None = None) -> str:
    """The dictionary as Markdown (docs/features.md is `ecgfeat features --markdown`)."""
    from .dictionary_markdown import render

    return render(family)

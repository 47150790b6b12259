"""docs/features.md: the feature dictionary (features/dictionary.py) rendered as Markdown."""

from __future__ import annotations

from ..vocab import LEADS
from .dictionary import SOURCES, TABLES, Entry, entries
from .dictionary_tsfresh import NO_COLUMNS, TSFRESH_DOCS
from .settings import VERSIONS

REGENERATE = "ecgfeat features --markdown > docs/features.md"
TITLES = {"expert": "expert: physiology of the median beats", "rhythm": "rhythm: the RR series, ectopy, atrial activity",
          "quality": "quality: signal quality and beat credibility", "tsfresh-fast": "tsfresh, fast set (the default)",
          "tsfresh-efficient": "tsfresh, efficient set (`--tsfresh-set efficient`)"}
INTRO = {
    "expert": ("Measured on the median beat of each lead (signal/template.py) with the boundaries of "
               "signal/delineate.py; amplitudes are relative to the lead's PR-segment level. A feature that cannot "
               "be measured (no P wave, a lead too small to delimit, a lead of low quality) is NaN, not 0."),
    "rhythm": "Record level, from the beat fiducials and the median beat.",
    "quality": ("Measured on every record whatever the selection: it gates the other families (a lead of low quality "
                "gets NaN per-lead features elsewhere; a record without credible beats gets NaN expert and rhythm)."),
    "tsfresh-fast": ("One entry per calculator; the columns carry the parameters. tsfresh reads each lead resampled to "
                     "100 Hz and band-passed to 0.67-40 Hz, in mV: one sample is 10 ms. Computed by "
                     "features/tsfresh_fast.py, vectorised over the leads and equal to tsfresh 0.21.2's calculators."),
    "tsfresh-efficient": ("tsfresh's own `EfficientFCParameters` calculators, run by `tsfresh.extract_features` on the "
                          "same input (slow, on request only), matched here by calculator name and parameter "
                          "pattern. They are generic time-series descriptors: no clinical criterion, no reference "
                          f"measurement. Definitions in tsfresh's documentation: <{TSFRESH_DOCS}>. A column the fast set "
                          "computes too has the same name and value in both, and its entry is the fast set's."),
}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _accuracy(e: Entry) -> str:
    return "; ".join(f"{r}: {f}" for r, f in e.accuracy) or "—"


def _table(rows: list[Entry], table: str) -> list[str]:
    if table == "tsfresh-efficient":   # no clinical criterion, no reference: said once in the intro
        head = ["column pattern", "parameters", "unit", "definition"]
        body = [[f"`{e.name}`", e.parameters or "—", e.unit, e.definition] for e in rows]
    elif table == "tsfresh-fast":
        head = ["column pattern", "parameters", "unit", "definition", "clinical use", "accuracy"]
        body = [[f"`{e.name}`", e.parameters or "—", e.unit, e.definition, e.criterion, _accuracy(e)] for e in rows]
    else:
        head = ["column", "unit", "definition", "measured by", "clinical criterion", "accuracy"]
        body = [[f"`{e.name}`", e.unit, e.definition, e.method, e.criterion, _accuracy(e)] for e in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in body]
    return lines


def render(family: str | None = None) -> str:
    """The Markdown page of the dictionary (all families, or one as in `entries`)."""
    sel = entries(family)
    tables = [t for t in TABLES if any(e.table == t for e in sel)]
    out = ["# Feature dictionary", "",
           f"Generated from the code: `{REGENERATE}` writes this page from ecgfeat/features/dictionary*.py. Do not "
           "edit it by hand: change the dictionary and regenerate (`tests/test_dictionary.py` fails when this page "
           "differs from the generated text, when an extracted column has no entry and when an entry matches no "
           "extracted column). `ecgfeat features --json` gives the same content, every concrete column included.", "",
           "Column names are `{lead}__{family}__{feature}`: `{lead}` is one of the 12 leads "
           f"({', '.join(LEADS)}), `all` marks a record-level feature, and tsfresh's names keep their parameters "
           "(`V1__tsfresh__autocorrelation__lag_5`). Units are in the name (`_ms`, `_mv`, `_deg`, ...) or in the "
           "unit column; a feature that cannot be measured is NaN.", "",
           "| family | store table | version | entries | columns |", "|---|---|---|---|---|"]
    for t in tables:
        rows = [e for e in sel if e.table == t]
        cols = sum(len(e.columns) for e in rows) if all(e.columns is not None for e in rows) else "tsfresh's names"
        out.append(f"| {rows[0].family} | {t} | {VERSIONS[t]} | {len(rows)} | {cols} |")
    measured = [e for e in sel if e.accuracy and e.table != "tsfresh-fast"]
    if measured:
        out += ["", "## Measured accuracy", "",
                "Every figure against a reference, kept in one table (`ACCURACY` in ecgfeat/features/dictionary.py):", "",
                "| column | reference | figure |", "|---|---|---|"]
        out += [f"| `{e.name}` | {r} | {_cell(f)} |" for e in measured for r, f in e.accuracy]
        out += ["", "References:", ""] + [f"- **{k}**: {_cell(v)}" for k, v in SOURCES.items()]
    for t in tables:
        rows = [e for e in sel if e.table == t]
        out += ["", f"## {TITLES[t]}", "", INTRO[t]]
        if t == "tsfresh-efficient":
            out += [""] + [f"`{c}` gives no column: {why}." for c, why in NO_COLUMNS.items()]
        for level, label in (("lead", "Per lead"), ("record", "Record level")):
            part = [e for e in rows if e.level == level]
            if part:
                out += ["", f"### {label} ({len(part)})", ""] + _table(part, t)
    return "\n".join(out) + "\n"

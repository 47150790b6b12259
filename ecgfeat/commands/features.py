"""`ecgfeat features`: the feature dictionary (features/dictionary.py) as text, JSON or Markdown."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from .common import UserError, emit_json

FEATURES_EXAMPLES = """Examples:

  ecgfeat features                               # every feature: column pattern, unit, definition

  ecgfeat features --family rhythm --json        # one family as JSON, every concrete column listed

  ecgfeat features V1__expert__qrs_ms            # what one stored column is, and how accurate

  ecgfeat features --markdown > docs/features.md # regenerate the dictionary page"""


def _describe(entry) -> str:
    acc = "; ".join(f"{r}: {f}" for r, f in entry.accuracy) or "no reference measured"
    rows = [("family", f"{entry.family} (store table {entry.table}, {entry.level} level)"), ("unit", entry.unit),
            ("definition", entry.definition), ("measured by", entry.method), ("clinical criterion", entry.criterion),
            ("parameters", entry.parameters), ("accuracy", acc)]
    return "\n".join([entry.name] + [f"  {k + ':':<20}{v}" for k, v in rows if v])


def features(
    column: Optional[str] = typer.Argument(None, help="A stored column name to describe (e.g. V1__expert__qrs_ms)."),
    family: Optional[str] = typer.Option(None, "--family", help="Only this family: expert, rhythm, tsfresh, quality "
                                         "(or the store tables tsfresh-fast, tsfresh-efficient)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object: the entries with every concrete column."),
    markdown: bool = typer.Option(False, "--markdown", help="The Markdown page (docs/features.md)."),
):
    """The feature dictionary: every feature's unit, definition, method, clinical criterion and measured accuracy."""
    from ..features import dictionary

    if json_out and markdown:
        raise UserError("--json and --markdown: give one of them")
    if family is not None and family not in dictionary.FAMILY_CHOICES:
        raise UserError(f"--family: unknown family {family!r}; families are {', '.join(dictionary.FAMILY_CHOICES)}")
    if column is not None:
        if markdown:
            raise UserError("--markdown describes the whole dictionary; give no COLUMN")
        try:
            entry = dictionary.lookup(column)
        except dictionary.UnknownFeature as err:
            raise UserError(str(err)) from None
        if family is not None and family not in (entry.family, entry.table):
            raise UserError(f"{column}: family {entry.family} (store table {entry.table}), not --family {family}")
        if json_out:
            emit_json({"column": column, **entry.as_dict()})
        else:
            typer.echo(_describe(entry))
        return
    if json_out:
        sys.stdout.write(dictionary.to_json(family) + "\n")
    elif markdown:
        sys.stdout.write(dictionary.to_markdown(family))
    else:
        typer.echo(dictionary.to_text(family))

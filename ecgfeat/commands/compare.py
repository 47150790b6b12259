"""`ecgfeat compare`: every trained model side by side (HTML + Markdown + JSON in reports/)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import STATE, UserError, console, emit_json, progress_bar

COMPARE_EXAMPLES = """Examples:

  ecgfeat compare                                   # every model in models/ -> reports/compare.html, .md, .json

  ecgfeat compare --models runs/models --out paper/tables

  ecgfeat compare --n-boot 2000 --json              # tighter paired intervals; JSON summary on stdout

  ecgfeat compare --baseline xgb --against cnn      # the one pair to test (default: every classical model vs the cnn, Holm)"""


def compare(
    models: Optional[Path] = typer.Option(None, "--models", help="Folder of trained model folders (default: <workspace>/models)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: <workspace>/reports)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap draws of the paired comparison."),
    seed: int = typer.Option(0, "--seed", help="Seed of the paired bootstrap."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Model of the paired test (folder name, or its label in the group, e.g. xgb); with --against."),
    against: Optional[str] = typer.Option(None, "--against", help="The model --baseline is tested against (e.g. cnn)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Side-by-side report of every trained model, grouped by dataset, label scheme, protocol and
    leads: macro and per-class metrics with 95% intervals (from each metrics.json), ROC curves,
    F1 bars, confusion matrices, the paired bootstrap of the pair named with --baseline / --against
    (default: every classical model against the cnn, Holm-corrected; the pairs are never chosen by
    their test results), and the single-lead ranking; written as compare.html (self-contained), compare.md and compare.json."""
    from ..report import build_report, find_models, group_runs, write_report

    models = models or STATE.workspace / "models"
    out = out or STATE.workspace / "reports"
    if n_boot < 1:
        raise UserError(f"--n-boot {n_boot}: must be at least 1")
    if not models.is_dir():
        raise UserError(f"--models {models}: no such folder (train a model first: ecgfeat train --model xgb)")
    con = console(as_json)
    runs, skipped = find_models(models)
    for s in skipped:
        con.print(f"[yellow]warning:[/yellow] {escape(s['folder'])}: {escape(s['reason'])}; skipped")
    if not runs:
        what = "no usable model folder" if skipped else "no model folder"
        raise UserError(f"{models}: {what} (train a model first: ecgfeat train --model xgb)")
    groups, ranks = group_runs(runs)
    if bool(baseline) != bool(against):
        raise UserError("--baseline and --against go together: name both models of the paired test")
    if baseline:
        from ..report.compare import find_run
        if not any(find_run(g, baseline) and find_run(g, against) and find_run(g, baseline) is not find_run(g, against) for g in groups):
            raise UserError(f"--baseline {baseline} --against {against}: no group of comparable models holds both "
                            f"(same dataset, labels, protocol and leads; models: {', '.join(r.name for r in runs)})")
    with progress_bar("drawing the report", len(groups) + len(ranks), unit="groups") as advance:
        report = build_report(groups, ranks, skipped, n_boot=n_boot, seed=seed, progress=advance,
                              baseline=baseline, against=against)
    paths = write_report(report, out)
    _print_summary(report.doc, con)
    con.print(f"report written to {paths['html']} (and compare.md, compare.json)")
    if as_json:
        emit_json({**paths, "groups": [_group_summary(g) for g in report.doc["groups"]],
                   "lead_ranking": [{k: r[k] for k in ("dataset", "labels", "protocol", "families", "ranking")}
                                    for r in report.doc["lead_ranking"]],
                   "external": [_external_summary(e) for e in report.doc.get("external") or []],
                   "skipped": skipped})


def _external_summary(e: dict) -> dict:
    """One `ecgfeat evaluate` result as the report shows it: internal vs external macro figures, the drop."""
    keep = ("model", "source_dataset", "source_protocol", "dataset", "labels", "n_records", "bootstrap", "drop",
            "absent_classes", "not_in_model")
    return {**{k: e.get(k) for k in keep},
            "external": {k: (e.get("external") or {}).get(k) for k in ("macro", "macro_ci")},
            "internal": {k: (e.get("internal") or {}).get(k) for k in ("n_records", "macro", "macro_ci")}}


def _group_summary(g: dict) -> dict:
    p = g["paired"]
    return {"id": g["id"], "dataset": g["dataset"], "labels": g["labels"], "protocol": g["protocol"], "leads": g["leads"],
            "models": {m["name"]: {"macro": m["macro"], "macro_ci": m["macro_ci"]} for m in g["models"]},
            "best": g["best"], "pair_rule": g.get("pair_rule"), "paired": None if p is None else
            {k: p.get(k) for k in ("a", "b", "note", "skipped", "verdict", "n_records", "p_holm", "bootstrap")},
            "comparisons": [{k: c.get(k) for k in ("a", "b", "skipped", "verdict", "n_records", "p_holm", "bootstrap")}
                            for c in g.get("comparisons") or []]}


def _print_summary(doc: dict, con) -> None:
    from ..report.fmt import with_ci
    from ..report.tables import group_title

    for g in doc["groups"]:
        table = Table(title=group_title(g), title_justify="left")
        for col in ("model", "records", "macro F1", "macro AUC"):
            table.add_column(col)
        for m in g["models"]:
            table.add_row(m["label"], str(m["n_records"]), with_ci(m["macro"].get("f1"), m["macro_ci"].get("f1")),
                          with_ci(m["macro"].get("auc"), m["macro_ci"].get("auc")))
        con.print(table)
        comps = g.get("comparisons") or ([g["paired"]] if g.get("paired") else [])
        if comps:
            con.print(f"  pairs chosen by: {escape(g.get('pair_rule') or '')}")
        for p in comps:
            if p.get("verdict"):
                con.print(f"  paired on the {p['n_records']} records tested by both:")
                con.print(f"    macro AUC: {escape(p['verdict']['auc'])}")
                con.print(f"    macro F1: {escape(p['verdict']['f1'])}")
            elif p.get("skipped"):
                con.print(f"  paired {escape(p['a_label'])} vs {escape(p['b_label'])}: not compared, {escape(p['skipped'])}")
    for r in doc["lead_ranking"]:
        tops = "; ".join(f"{fam}: {', '.join(order[:3])}" for fam, order in r["ranking"].items())
        con.print(f"lead ranking {r['dataset']} · {r['labels']} · {r['protocol']} (best by macro AUC): {escape(tops)}")

"""`ecgfeat evaluate`: a saved model on another labelled dataset (external validation)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ..resources import resolve_jobs
from .common import STATE, UserError, console, emit_json, progress_bar

EVALUATE_EXAMPLES = """Examples:

  ecgfeat evaluate --model rf-ptbxl-cpsc9-paper-all --data data/challenge2021

  ecgfeat evaluate --model rf-ptbxl-cpsc9-paper-all --data data/ludb --json

  ecgfeat evaluate --model cnn-ptbxl-cpsc9-cv-all --data /data/sph --n-boot 2000   # patients resampled

  ecgfeat compare                      # the report's "External validation" table: internal vs external"""


def _ci(v, ci) -> str:
    from ..report.fmt import with_ci
    return with_ci(v, ci)


def _num(v) -> str:
    from ..report.fmt import num
    return num(v)


def _drop(v) -> str:
    from ..report.fmt import signed
    return signed(v, plus=True)


def evaluate(
    model: str = typer.Option(..., "--model", "-m", help="Model folder, or its name under <workspace>/models."),
    data: Path = typer.Option(..., "--data", help="The external labelled dataset folder (extracted first where the store lacks it)."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Label scheme (default, and the only one allowed: the model's own)."),
    name: Optional[str] = typer.Option(None, "--dataset-name", help="The dataset's name in the store and under external/ (default: the folder's name)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Feature store (default: <workspace>/feature_store)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap draws for the 95% intervals."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Bootstrap seed (default: the model's training seed)."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help="Worker processes for the extraction (-1: the cores free now, N: exactly N)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """External validation: the saved model, unchanged, with its own thresholds, on another labelled
    dataset: every metric with bootstrap 95% intervals (over patients where the dataset has patient
    ids), classes absent from the external set reported as such, the internal figures beside;
    written to models/<name>/external/<dataset>/ (metrics.json, predictions.parquet) and shown by
    `ecgfeat compare`."""
    from ..evaluation.external import evaluate_external, find_model

    if n_boot < 1:
        raise UserError(f"--n-boot {n_boot}: must be at least 1")
    jobs = resolve_jobs(jobs)
    con = console(as_json)
    folder = find_model(model, STATE.workspace / "models")
    if not data.exists():
        raise UserError(f"--data {data}: no such folder")
    with progress_bar(f"reading {data.name}", None) as advance:
        res = evaluate_external(folder, data, STATE.workspace, labels=labels, dataset_name=name, n_boot=n_boot,
                                seed=seed, jobs=jobs, store=store, progress=advance,
                                command="ecgfeat " + " ".join(sys.argv[1:]))
    print_external(res["metrics"], con)
    con.print(f"written to {escape(res['out_dir'])} (metrics.json, predictions.parquet)")
    if as_json:
        emit_json({"model_dir": res["model_dir"], "dataset": res["dataset"], "out_dir": res["out_dir"],
                   "metrics": res["metrics"]})


def print_external(m: dict, con) -> None:
    """The rich table of one external evaluation: per class and macro, external vs internal."""
    internal = m.get("internal") or {"per_class": {}, "macro": {}, "macro_ci": {}}
    drop = m.get("drop") or {"per_class": {}, "macro": {}}
    unit = (m.get("bootstrap") or {}).get("unit", "record")
    title = (f"{m['model']} on {m['dataset']} ({m['labels']}): {m['n_records']} labelled records, "
             f"95% CI over {'patients' if unit == 'patient' else 'records (no patient ids)'}")
    sep = " " if con.width >= 132 else "\n"         # a narrow terminal: each interval below its value

    def ci(block, c, k):
        e = block["per_class"].get(c) or {} if c else block["macro"]
        cis = (e.get("ci") or {}) if c else block["macro_ci"]
        return _ci(e.get(k), cis.get(k)).replace(" [", sep + "[")

    t = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("class", "n+", "AUC external", "internal", "Δ AUC", "F1 external", "internal", "Δ F1"):
        t.add_column(col, justify="left" if col == "class" else "right")
    rest = Table(title="precision, recall and accuracy on the external set, 95% CI", title_justify="left",
                 box=box.SIMPLE_HEAD)
    for col in ("class", "precision", "recall", "accuracy"):
        rest.add_column(col, justify="left" if col == "class" else "right")
    for c in list(m["classes"]) + [None]:
        d = drop["per_class"].get(c) or {} if c else drop["macro"]
        i = internal["per_class"].get(c) or {} if c else internal["macro"]
        label = escape(c) if c else "[bold]macro[/bold]"
        n = str(m["per_class"][c].get("support")) if c else ""
        t.add_row(label, n, ci(m, c, "auc"), _num(i.get("auc")), _drop(d.get("auc")),
                  ci(m, c, "f1"), _num(i.get("f1")), _drop(d.get("f1")))
        rest.add_row(label, ci(m, c, "precision"), ci(m, c, "recall"), ci(m, c, "accuracy"))
    for c, a in (m.get("absent_classes") or {}).items():
        t.add_row(escape(c), "0", "absent", "", "", "absent", "", "")
        rest.add_row(escape(c), f"{a['predicted_positive']} false alarms", "", "")
    con.print(t)
    con.print(rest)
    if m.get("absent_classes"):
        con.print(escape(f"absent from {m['dataset']} (no positive record; no metric, not in the macro): "
                         f"{', '.join(m['absent_classes'])}"))
    if m.get("not_in_model"):
        con.print(escape("positives of classes the model was not trained on: "
                         + ", ".join(f"{c} {n}" for c, n in m["not_in_model"].items())))
    if internal.get("n_records"):
        con.print(escape(f"internal: the model's own out-of-sample predictions on {m['source_dataset']} "
                         f"({internal['n_records']} records, {m.get('source_protocol')} protocol), same classes; "
                         "drop = external − internal"))
    con.print(escape(f"thresholds: {m['thresholds_origin']}"))
    if m.get("unreadable") or m.get("dropped_unlabelled"):
        con.print(escape(f"{m.get('unreadable', 0)} unreadable records, {m.get('dropped_unlabelled', 0)} records "
                         f"without a {m['labels']} class left out"))

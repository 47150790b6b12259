"""`ecgfeat explain`: why each model decides what it decides (TreeSHAP, linear SHAP, permutation SHAP, DeepSHAP)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..resources import resolve_jobs
from .common import STATE, UserError, console, emit_json, progress_bar

EXPLAIN_EXAMPLES = """Examples:

  ecgfeat explain --model xgb-synthetic-cpsc9-paper-all             # population level -> reports/explain/<model>/

  ecgfeat explain --model xgb-synthetic-cpsc9-paper-all --record S00011 --record S00032

  ecgfeat explain --model cnn-synthetic-cpsc9-paper-all --n 30      # DeepSHAP on 30 test records (about 5 s each)

  ecgfeat explain --model models/lgbm-ptbxl-ptbxl-super-cv-all --json      # + clinical criteria hits

  ecgfeat explain --model mlp-synthetic-cpsc9-paper-all --n 20      # permutation SHAP: a few s per record

  ecgfeat explain --model xgb-synthetic-cpsc9-paper-all --model cnn-synthetic-cpsc9-paper-all   # + lead agreement"""


def _folder(model: str) -> Path:
    folder = Path(model)
    if not (folder / "config.json").is_file():
        folder = STATE.workspace / "models" / model
    if not (folder / "config.json").is_file():
        raise UserError(f"--model {model}: no model folder there or under {STATE.workspace / 'models'}")
    return folder


def explain(
    model: List[str] = typer.Option(..., "--model", "-m", help="Model folder, or its name under <workspace>/models (repeatable: a tree model and a cnn are also compared)."),
    record: Optional[List[str]] = typer.Option(None, "--record", "-r", help="Record id to explain at patient level (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Explanations folder (default: <workspace>/reports/explain); each model gets <out>/<model>/."),
    n: Optional[int] = typer.Option(None, "--n", help="Test records explained at population level (default: 200 for tree models and lr, 30 for mlp, 50 for the cnn)."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help="Threads (-1: the cores free now, N: exactly N)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Explain a trained model: TreeSHAP (rf, gbm, xgb, lgbm; raw log-odds margin, rf: probability),
    exact linear SHAP (lr: coefficients x standardised values, log-odds), permutation SHAP on a seeded
    background sample (mlp, log-odds) or DeepSHAP (cnn). Population level: global importance per
    class, per lead and per family, the lead x class heatmap, beeswarm plots; patient level
    (--record): waterfall of the reasons and the 12-lead ECG with the leads and features (or cnn
    segments) that carry the decision. On the synthetic set each class is checked against its
    generating mechanism (ground truth); with cpsc9 or ptbxl-super labels, against the class's
    clinical criteria (AHA/ACC/HRS; ecgfeat/explain/criteria.py)."""
    from ..explain import explain_model

    if n is not None and n < 1:
        raise UserError(f"--n {n}: must be at least 1")
    folders = [_folder(m) for m in model]
    con = console(as_json)
    out = out or STATE.workspace / "reports" / "explain"
    jobs = resolve_jobs(jobs)
    results = []
    for folder in folders:
        doc = explain_model(folder, out, records=list(record or []), n=n, jobs=jobs, bar=progress_bar)
        _print(doc, con)
        results.append(doc)
    if as_json:
        summaries = [_summary(d) for d in results]
        emit_json({**summaries[0], "models": summaries} if len(summaries) > 1 else summaries[0])


def _summary(doc: dict) -> dict:
    return {"explain_json": doc["explain_json"], "hits": doc.get("hits"), "n_checked": doc.get("n_checked"),
            "model": doc["model"], "method": doc["method"], "output": doc["output"], "n_records": doc["n_records"],
            "ground_truth": doc.get("ground_truth"), "clinical": doc.get("clinical"),
            "clinical_hits": doc.get("clinical_hits"), "clinical_n_checked": doc.get("clinical_n_checked"), "agreement": doc.get("agreement", {}),
            "records": {r: e["predicted"] for r, e in doc.get("records", {}).items()}, "timings": doc.get("timings")}


def _print(doc: dict, con) -> None:
    from ..explain.words import label

    cnn = doc["estimator"] == "cnn"
    which = "in-sample records (the cv refit was trained on them)" if doc.get("in_sample") else "test records"
    con.print(f"[bold]{escape(doc['model'])}[/bold]: {escape(doc['method'])} on {doc['n_records']} {which}; "
              f"output: {escape(doc['output'])}")
    if doc.get("ground_truth") is not None:
        caption = ("ratio: attribution per second, per mV of signal, in the expected region over the rest" if cnn
                   else "share: the expected features' part of the top-3 mean |SHAP|")
        caption += f"; hit: {doc.get('hit_rule', '')}"
        for c, why in (doc.get("not_checked") or {}).items():
            caption += f"; {c}: not checked, {why}"
        table = Table(title=f"ground truth (synthetic mechanisms): {doc['hits']}/{doc['n_checked']} classes hit",
                      title_justify="left", caption=caption, caption_justify="left")
        for col in ("class", "expected", "densest region" if cnn else "top-3 features (✓: expected)", "share" if not cnn else "ratio", "hit"):
            table.add_column(col)
        for c, d in doc["ground_truth_detail"].items():
            if cnn:
                what = f"{d['expected_region']} >= x{d.get('min_ratio', 1)} the rest's density"
                got, num = str(d["densest_region"]), f"x{d['ratio']}"
            else:
                what = doc["expected"][c]["mechanism"]
                got = ", ".join(f"{'✓' if m else '✗'} {label(t)}" for t, m in zip(d["top"], d["matched"]))
                num = f"{d['share']:.0%}"
            table.add_row(c, escape(what), escape(got), num, "[green]yes[/green]" if d["hit"] else "[red]no[/red]")
        con.print(table)
    if doc.get("clinical") is not None and not cnn:
        _print_clinical(doc, con)
    for other, a in (doc.get("agreement") or {}).items():
        per = ", ".join(f"{c} {v:+.2f}" for c, v in a["per_class"].items() if v is not None)
        con.print(f"lead agreement with {escape(other)} (Spearman, per class): {escape(per)}; mean {a['mean']}")
    for rid, e in doc.get("records", {}).items():
        con.print(f"record {escape(rid)}: predicted {', '.join(e['predicted'])} ({escape(e['why'])})")
        if e.get("warnings"):
            con.print(f"  [yellow]warning[/yellow]: {escape('; '.join(e['warnings']))}")
        for c, item in e["classes"].items():
            for r in item.get("reasons", [])[:5]:
                con.print(f"  {escape(r['text'])}")
            if "check" in item and item["check"]:
                ck = item["check"]
                con.print(f"  {c}: attribution per second on {ck['expected_region']} x{ck['ratio']} the rest "
                          f"(densest: {ck['densest_region']})")
    t = doc.get("timings", {})
    extra = f", DeepSHAP {t['deepshap_s_per_record']} s per record" if t.get("deepshap_s_per_record") else ""
    con.print(f"written to {escape(str(Path(doc['explain_json']).parent))} ({len(doc.get('figures', []))} figures, "
              f"{t.get('total_s')} s{extra})")


def _print_clinical(doc: dict, con) -> None:
    from ..explain.words import label

    caption = f"share: the criteria features' part of the top-5 mean |SHAP|; hit: {doc.get('clinical_rule', '')}"
    for c, why in (doc.get("clinical_not_checked") or {}).items():
        caption += f"; {c}: not checked, {why}"
    table = Table(title=f"clinical criteria ({doc.get('clinical_scheme')}): {doc['clinical_hits']}/{doc['clinical_n_checked']} "
                        "classes hit", title_justify="left", caption=caption, caption_justify="left")
    for col in ("class", "n", "top-5 features (✓: a criterion of the class)", "share", "hit"):
        table.add_column(col)
    for c, d in (doc.get("clinical_detail") or {}).items():
        got = ", ".join(f"{'✓' if m else '✗'} {label(t)}" for t, m in zip(d["top"], d["matched"]))
        table.add_row(c, str(d.get("n_positive", "")), escape(got), f"{d['share']:.0%}",
                      "[green]yes[/green]" if d["hit"] else "[red]no[/red]")
    con.print(table)

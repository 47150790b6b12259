"""The comparison report: groups of comparable models, the paired test, the lead ranking.

The report dict (written as compare.json) holds each model's metrics.json numbers verbatim; only
what metrics.json cannot answer is computed here, from the tested rows of predictions.parquet:
ROC curves, confusion counts, and the paired bootstrap of two models on the records both were
tested on (an inner join on record_id: a paper-protocol run tests one fold, and runs of other
seeds test other folds, so only the shared records make a fair paired comparison).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from ..evaluation import METRICS, paired_bootstrap
from . import plots
from .fmt import leads_text, signed
from .gather import Group, ModelRun, find_models, group_runs

MODEL_ORDER = tuple(plots.MODEL_COLOURS)


@dataclass
class Report:
    doc: dict                                      # compare.json
    figures: dict = field(default_factory=dict)    # group id -> {"roc", "f1", "confusion": [(label, png)]}


def clean(obj):
    """JSON-safe copy: NaN / inf -> None (a class without positives has no AUC), numpy -> Python."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def verdict(a: str, b: str, entry: dict) -> str:
    """`xgb − cnn = +0.012 [−0.004, 0.027]: no significant difference`; significant when the 95%
    interval of the difference excludes 0, and then the words say which model is better."""
    diff, (lo, hi) = entry.get("diff"), (entry.get("ci") or [None, None])
    head = f"{a} − {b} = {signed(diff, plus=True)} [{signed(lo)}, {signed(hi)}]"
    if diff is None or lo is None or hi is None:
        return f"{head}: undetermined (no bootstrap interval)"
    if lo > 0:
        return f"{head}: {a} is significantly better"
    if hi < 0:
        return f"{head}: {b} is significantly better"
    return f"{head}: no significant difference"


def _pair(group: Group) -> tuple[ModelRun, ModelRun, str] | None:
    """The two models to compare and why those: the best classical (macro AUC) against the best
    cnn; without a cnn (or without a classical model) the two best of the group."""
    classical = [r for r in group.runs if not r.is_cnn]
    cnn = [r for r in group.runs if r.is_cnn]
    if classical and cnn:
        which = "the cnn" if len(cnn) == 1 else "the best cnn run by macro AUC"
        return classical[0], cnn[0], f"{classical[0].label}: the best classical model by macro AUC, against {which}"
    if len(group.runs) >= 2:
        kind = "cnn" if not classical else "classical"
        return group.runs[0], group.runs[1], (f"no {'classical model' if kind == 'cnn' else 'cnn'} in this group: "
                                              f"the two best {kind} models by macro AUC are compared instead")
    return None


def paired(group: Group, n_boot: int, seed: int) -> dict | None:
    """Paired bootstrap of macro AUC and macro F1 (a − b) on the records tested in both."""
    pick = _pair(group)
    if pick is None:
        return None
    a, b, note = pick
    out = {"a": a.name, "b": b.name, "a_label": a.label, "b_label": b.label, "note": note}
    pa, pb = a.predictions(), b.predictions()
    common = pa.index[pa.index.isin(pb.index)]
    classes = [c for c in a.metrics["classes"] if f"y_true__{c}" in pa and f"y_true__{c}" in pb]
    if len(common) == 0 or not classes:
        return {**out, "skipped": "the two models share no tested record" if len(common) == 0 else "no class in common"}
    cols = lambda kind: [f"{kind}__{c}" for c in classes]  # noqa: E731
    ya, yb = pa.loc[common, cols("y_true")].to_numpy(), pb.loc[common, cols("y_true")].to_numpy()
    if not np.array_equal(ya > 0, yb > 0):
        n = int((~((ya > 0) == (yb > 0)).all(axis=1)).sum())
        return {**out, "skipped": f"the two models disagree on the labels of {n} shared records (other label data?)"}
    res = paired_bootstrap(ya, pa.loc[common, cols("y_score")].to_numpy(float), pb.loc[common, cols("y_score")].to_numpy(float),
                           pa.loc[common, cols("y_pred")].to_numpy(), pb.loc[common, cols("y_pred")].to_numpy(),
                           n_boot=n_boot, seed=seed)
    out.update(classes=classes, **res)
    out["verdict"] = {m: verdict(a.label, b.label, res[m]) for m in ("auc", "f1")}
    return out


def confusion_counts(run: ModelRun) -> dict[str, dict]:
    """Per class TP / FP / FN / TN of the tested rows."""
    pred = run.predictions()
    out = {}
    for c in run.metrics["classes"]:
        if f"y_true__{c}" not in pred:
            continue
        t, p = pred[f"y_true__{c}"].to_numpy() > 0, pred[f"y_pred__{c}"].to_numpy() > 0
        out[c] = {"tp": int((t & p).sum()), "fp": int((~t & p).sum()), "fn": int((t & ~p).sum()), "tn": int((~t & ~p).sum())}
    return out


def best_of(runs: list[ModelRun]) -> dict[str, str | None]:
    """metric -> name of the model with the highest macro value (ties: the first, by macro AUC)."""
    out = {}
    for m in METRICS:
        vals = [(r.metrics["macro"].get(m), r.name) for r in runs]
        vals = [(v, n) for v, n in vals if v is not None and math.isfinite(v)]
        out[m] = max(vals, key=lambda vn: vn[0])[1] if vals else None
    return out


def _model_entry(r: ModelRun) -> dict:
    m = r.metrics
    return {"name": r.name, "label": r.label, "estimator": r.estimator, "record_features": r.record_features,
            "n_records": m.get("n_records"), "macro": m["macro"], "macro_ci": m["macro_ci"], "per_class": m["per_class"],
            "command": r.command, "folder": str(r.folder), "colour": plots.colour(r.estimator)}


def _family_key(family: str) -> tuple:
    est = family.split(" ")[0]
    return (MODEL_ORDER.index(est) if est in MODEL_ORDER else len(MODEL_ORDER), family)


def lead_ranking(group: Group) -> dict:
    """Rows (lead, family) with macro F1 / AUC and their intervals; per family the leads ranked by
    macro AUC (then F1). Two runs of one family on one lead (e.g. two seeds): the newest counts."""
    chosen: dict[tuple[str, str], ModelRun] = {}
    notes = []
    for r in group.runs:
        key = (r.leads[0], r.family)
        if key in chosen:
            old = chosen[key]
            keep = max(old, r, key=lambda x: (str(x.config.get("created", "")), x.name))
            notes.append(f"{key[1]} on lead {key[0]}: {old.name} and {r.name}; {keep.name} (newer) is shown")
            chosen[key] = keep
        else:
            chosen[key] = r
    families = sorted({fam for _, fam in chosen}, key=_family_key)
    rows = []
    for (lead, fam), r in chosen.items():
        mac, ci = r.metrics["macro"], r.metrics["macro_ci"]
        rows.append({"lead": lead, "family": fam, "estimator": r.estimator, "model": r.name,
                     "f1": mac.get("f1"), "f1_ci": ci.get("f1"), "auc": mac.get("auc"), "auc_ci": ci.get("auc"),
                     "n_records": r.metrics.get("n_records")})

    def score(row):
        return tuple(-math.inf if row[k] is None else row[k] for k in ("auc", "f1"))
    ranking = {fam: [row["lead"] for row in sorted((x for x in rows if x["family"] == fam), key=score, reverse=True)]
               for fam in families}
    commands = {fam: sorted({r.command for (_, f), r in chosen.items() if f == fam and r.command}) for fam in families}
    return {"id": group.id, "dataset": group.dataset, "labels": group.labels, "protocol": group.protocol,
            "families": families, "estimators": {fam: fam.split(" ")[0] for fam in families},
            "rows": rows, "ranking": ranking, "commands": commands, "notes": notes}


def build_report(groups: list[Group], ranks: list[Group], skipped: list[dict], n_boot: int = 1000, seed: int = 0,
                 progress: Callable | None = None) -> Report:
    """The report dict and its figures; `progress(1)` after each group is drawn."""
    report = Report(doc={"groups": [], "lead_ranking": [], "skipped": skipped, "n_boot": n_boot, "seed": seed})
    for g in groups:
        style = plots.styles(g.runs)
        pair = paired(g, n_boot, seed)
        shown = [r for r in g.runs if pair and r.name in (pair["a"], pair["b"])] or g.runs[:1]
        shown.sort(key=lambda r: r.is_cnn)
        title = f"{g.dataset} · {g.labels} · {g.protocol} · {leads_text(g.leads)}"
        conf = {r.name: confusion_counts(r) for r in shown}
        report.figures[g.id] = {
            "roc": plots.roc_figure(g.runs, g.classes, style, f"ROC per class — {title}"),
            "f1": plots.f1_bars(g.runs, g.classes, style, f"F1 per class — {title}"),
            "confusion": [(r.label, plots.confusion_figure(r.label, conf[r.name], "Confusion per class")) for r in shown],
        }
        report.doc["groups"].append({
            "id": g.id, "dataset": g.dataset, "labels": g.labels, "protocol": g.protocol, "leads": list(g.leads),
            "classes": g.classes, "models": [_model_entry(r) for r in g.runs], "best": best_of(g.runs),
            "paired": pair, "paired_note": None if pair else "only one model in this group: nothing to compare",
            "confusion": conf,
        })
        if progress:
            progress(1)
    for g in ranks:
        rank = lead_ranking(g)
        report.figures["ranking:" + g.id] = plots.lead_ranking_figure(
            rank["rows"], rank["families"], rank["estimators"],
            f"Single-lead models — {g.dataset} · {g.labels} · {g.protocol}")
        report.doc["lead_ranking"].append(rank)
        if progress:
            progress(1)
    report.doc["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report.doc = clean(report.doc)
    return report


def write_report(report: Report, out: str | Path) -> dict[str, str]:
    """compare.html, compare.md and compare.json in `out`; returns their paths."""
    from .explanations import gather_explanations
    from .html import render_html
    from .markdown import render_markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    explained = gather_explanations(out / "explain")         # what `ecgfeat explain` wrote there, if anything
    if explained:
        report.doc["explanations"] = explained
    paths = {"html": out / "compare.html", "md": out / "compare.md", "json": out / "compare.json"}
    texts = {"html": render_html(report.doc, report.figures), "md": render_markdown(report.doc),
             "json": json.dumps(report.doc, indent=2, allow_nan=False) + "\n"}
    for k, p in paths.items():   # each file whole or not at all: a reader never sees half a report
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(texts[k], encoding="utf-8")
        tmp.replace(p)
    return {k: str(p) for k, p in paths.items()}


def compare_models(models_dir: str | Path, out: str | Path, n_boot: int = 1000, seed: int = 0,
                   progress: Callable | None = None) -> dict:
    """find -> group -> build -> write; returns {"html", "md", "json", "report": <compare.json>}."""
    runs, skipped = find_models(models_dir)
    if not runs:
        raise ValueError(f"{models_dir}: no usable model folder (run `ecgfeat train` first)")
    groups, ranks = group_runs(runs)
    report = build_report(groups, ranks, skipped, n_boot, seed, progress)
    return {**write_report(report, out), "report": report.doc}

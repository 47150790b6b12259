"""The comparison report: groups of comparable models, the paired test, the lead ranking.

The report dict (written as compare.json) holds each model's metrics.json numbers verbatim; only
what metrics.json cannot answer is computed here, from the tested rows of predictions.parquet:
ROC, precision-recall and calibration curves, confusion counts, and the paired bootstrap of two models on the records both were
tested on (an inner join on record_id: a paper-protocol run tests one fold, and runs of other
seeds test other folds, so only the shared records make a fair paired comparison).

Which models are compared is fixed before any test result is read (`choose_pairs`): the pair the
user names, else every classical model against the cnn (Holm-corrected when several), never "the
best on the test records", which would pick the pair by the outcome it then tests.

External validation (`ecgfeat evaluate`, evaluation/external.py) writes its own metrics.json under
models/<name>/external/<dataset>/, with the internal figures of the same classes beside; the report
shows them as they are (`external_section`), with the curves of the external predictions.
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
from ..jsonable import json_safe
from . import plots
from .fmt import leads_text, signed
from .gather import Group, ModelRun, external_entry, external_runs, find_models, group_runs

MODEL_ORDER = tuple(plots.MODEL_COLOURS)


@dataclass
class Report:
    doc: dict                                      # compare.json
    figures: dict = field(default_factory=dict)    # group id -> {"roc", "f1", "confusion": [(label, png)]}


clean = json_safe   # the name this module has exported


ALPHA = 0.05


def verdict(a: str, b: str, entry: dict, p_adjusted: float | None = None, n_tests: int = 1) -> str:
    """`xgb − cnn = +0.012 [−0.004, 0.027]: no significant difference`; significant when the 95%
    interval of the difference excludes 0, and then the words say which model is better. With
    `n_tests` > 1 comparisons in the group, significant when the Holm-adjusted p-value is below 0.05
    (the interval shown stays the unadjusted 95% one), and the words say so."""
    diff, (lo, hi) = entry.get("diff"), (entry.get("ci") or [None, None])
    head = f"{a} − {b} = {signed(diff, plus=True)} [{signed(lo)}, {signed(hi)}]"
    if diff is None or lo is None or hi is None:
        return f"{head}: undetermined (no bootstrap interval)"
    if n_tests > 1:
        tail = f" (Holm-adjusted p {_p_text(p_adjusted)} over {n_tests} comparisons)"
        if p_adjusted is None:
            return f"{head}: undetermined (no p-value){tail}"
        if p_adjusted < ALPHA:
            return f"{head}: {a if diff > 0 else b} is significantly better{tail}"
        return f"{head}: no significant difference{tail}"
    if lo > 0:
        return f"{head}: {a} is significantly better"
    if hi < 0:
        return f"{head}: {b} is significantly better"
    return f"{head}: no significant difference"


def _p_text(p) -> str:
    return "= –" if p is None else ("≤ 0.001" if p < 0.001 else f"= {p:.3f}")


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count as a test)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def find_run(group: Group, name: str) -> ModelRun | None:
    """The run of `group` called `name` (its folder name, else its short label, e.g. `xgb`)."""
    for key in ("name", "label"):
        hits = [r for r in group.runs if getattr(r, key) == name]
        if len(hits) == 1:
            return hits[0]
    return None


def choose_pairs(group: Group, baseline: str | None = None, against: str | None = None
                 ) -> tuple[list[tuple[ModelRun, ModelRun]], str]:
    """The comparisons of a group and the rule that chose them, fixed before any test result is
    looked at: the pair the user named (`--baseline A --against B`), else every classical model
    against every cnn run, else (no cnn, or no classical model) every pair of models; with more
    than one comparison the verdicts are Holm-corrected."""
    if baseline and against:
        a, b = find_run(group, baseline), find_run(group, against)
        if a is not None and b is not None and a is not b:
            return [(a, b)], f"the pair named by the user (--baseline {baseline} --against {against})"
    classical = [r for r in group.runs if not r.is_cnn]
    cnn = [r for r in group.runs if r.is_cnn]
    named = " (the pair named with --baseline / --against is not in this group)" if baseline and against else ""
    if classical and cnn:
        pairs = [(a, b) for b in cnn for a in classical]
        what = "the cnn" if len(cnn) == 1 else f"each of the {len(cnn)} cnn runs"
        return pairs, (f"every classical model against {what}, chosen without looking at any test result"
                       f"{_holm_note(len(pairs))}{named}")
    runs = sorted(group.runs, key=lambda r: r.name)
    pairs = [(runs[i], runs[j]) for i in range(len(runs)) for j in range(i + 1, len(runs))]
    kind = "cnn" if not classical else "classical model"
    other = "classical model" if not classical else "cnn"
    return pairs, (f"no {other} in this group: every pair of {kind}s, chosen without looking at any test "
                   f"result{_holm_note(len(pairs))}{named}")


def _holm_note(m: int) -> str:
    return f"; {m} comparisons per metric, Holm-corrected" if m > 1 else ""


def _pair(group: Group) -> tuple[ModelRun, ModelRun, str] | None:
    """The first comparison of `choose_pairs` and its rule (kept for callers of the single pair)."""
    pairs, rule = choose_pairs(group)
    return (pairs[0][0], pairs[0][1], rule) if pairs else None


def _compare_two(a: ModelRun, b: ModelRun, note: str, n_boot: int, seed: int) -> dict:
    """Paired bootstrap of macro AUC and macro F1 (a − b) on the records tested in both; patients
    are resampled where both prediction files carry patient ids."""
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
    groups = None
    if "patient_id" in pa and pa.loc[common, "patient_id"].notna().all():
        groups = pa.loc[common, "patient_id"].astype(str).to_numpy()
    res = paired_bootstrap(ya, pa.loc[common, cols("y_score")].to_numpy(float), pb.loc[common, cols("y_score")].to_numpy(float),
                           pa.loc[common, cols("y_pred")].to_numpy(float), pb.loc[common, cols("y_pred")].to_numpy(float),
                           n_boot=n_boot, seed=seed, groups=groups)
    out.update(classes=classes, **res)
    return out


def comparisons(group: Group, n_boot: int, seed: int, baseline: str | None = None,
                against: str | None = None) -> tuple[list[dict], str]:
    """Every comparison `choose_pairs` fixes, with Holm-adjusted p-values (`p_holm`) and verdicts."""
    pairs, rule = choose_pairs(group, baseline, against)
    done = [_compare_two(a, b, rule, n_boot, seed) for a, b in pairs]
    tested = [d for d in done if not d.get("skipped")]
    for m in ("auc", "f1"):
        adj = holm([d[m].get("p_value") for d in tested])
        for d, p in zip(tested, adj):
            d.setdefault("p_holm", {})[m] = p
    for d in tested:
        d["n_tests"] = len(tested)
        d["verdict"] = {m: verdict(d["a_label"], d["b_label"], d[m], d["p_holm"][m], len(tested)) for m in ("auc", "f1")}
    return done, rule


def paired(group: Group, n_boot: int, seed: int) -> dict | None:
    """The first comparison of the group (see `comparisons`), or None with fewer than two models."""
    done, _ = comparisons(group, n_boot, seed)
    return done[0] if done else None


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


def _model_entry(r: ModelRun, colour: str | None = None) -> dict:
    m = r.metrics
    return {"name": r.name, "label": r.label, "estimator": r.estimator, "record_features": r.record_features,
            "n_records": m.get("n_records"), "macro": m["macro"], "macro_ci": m["macro_ci"], "per_class": m["per_class"],
            "command": r.command, "folder": str(r.folder), "colour": colour or plots.colour(r.estimator)}


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
                 progress: Callable | None = None, baseline: str | None = None, against: str | None = None) -> Report:
    """The report dict and its figures; `progress(1)` after each group is drawn. `baseline` and
    `against` name the pair to compare (see `choose_pairs`)."""
    report = Report(doc={"groups": [], "lead_ranking": [], "skipped": skipped, "n_boot": n_boot, "seed": seed})
    for g in groups:
        style = plots.styles(g.runs)
        comps, rule = comparisons(g, n_boot, seed, baseline, against)
        pair = comps[0] if comps else None
        in_pairs = {n for c in comps for n in (c["a"], c["b"])}
        shown = [r for r in g.runs if r.name in in_pairs] or g.runs[:1]
        shown.sort(key=lambda r: r.is_cnn)
        title = f"{g.dataset} · {g.labels} · {g.protocol} · {leads_text(g.leads)}"
        conf = {r.name: confusion_counts(r) for r in shown}
        report.figures[g.id] = {
            "roc": plots.roc_figure(g.runs, g.classes, style, f"ROC per class — {title}"),
            "pr": plots.pr_figure(g.runs, g.classes, style, f"Precision-recall per class — {title}"),
            "calibration": plots.calibration_figure(g.runs, g.classes, style, f"Calibration (reliability) per class — {title}"),
            "f1": plots.f1_bars(g.runs, g.classes, style, f"F1 per class — {title}"),
            "confusion": [(r.label, plots.confusion_figure(r.label, conf[r.name], "Confusion per class")) for r in shown],
        }
        report.doc["groups"].append({
            "id": g.id, "dataset": g.dataset, "labels": g.labels, "protocol": g.protocol, "leads": list(g.leads),
            "classes": g.classes, "models": [_model_entry(r, style[r.name]["colour"]) for r in g.runs], "best": best_of(g.runs),
            "paired": pair, "comparisons": comps, "pair_rule": rule if comps else None,
            "paired_note": None if pair else "only one model in this group: nothing to compare",
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
    external_section(report, [r for g in list(groups) + list(ranks) for r in g.runs])
    report.doc["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report.doc = clean(report.doc)
    return report


def external_section(report: Report, runs: list[ModelRun]) -> None:
    """doc["external"]: one entry per (model, external dataset) that `ecgfeat evaluate` wrote, and
    per (external dataset, labels) the ROC, precision-recall and calibration curves of its models."""
    ext = external_runs(runs)
    style = plots.styles(list({e.name: e.run for e in ext}.values()))   # a model's colour, as in its group
    report.doc["external"] = [external_entry(e, style[e.name]["colour"]) for e in ext]
    sets: dict[tuple, list] = {}
    for e in ext:
        sets.setdefault((e.doc["dataset"], e.doc.get("labels")), []).append(e)
    report.doc["external_sets"] = []
    for (dataset, labels), es in sets.items():
        classes = list(dict.fromkeys(c for e in es for c in e.doc.get("model_classes") or e.doc["classes"]))
        st = plots.styles(es)
        key = f"external:{dataset}:{labels}"
        title = f"{dataset} · {labels} (external)"
        report.figures[key] = {kind: plots.curve_figure(kind, es, classes, st, f"{what} per class — {title}")
                               for kind, what in (("roc", "ROC"), ("pr", "Precision-recall"),
                                                  ("calibration", "Calibration (reliability)"))}
        report.doc["external_sets"].append({"id": key, "dataset": dataset, "labels": labels, "classes": classes,
                                            "models": [e.name for e in es]})


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
                   progress: Callable | None = None, baseline: str | None = None, against: str | None = None) -> dict:
    """find -> group -> build -> write; returns {"html", "md", "json", "report": <compare.json>}."""
    runs, skipped = find_models(models_dir)
    if not runs:
        raise ValueError(f"{models_dir}: no usable model folder (run `ecgfeat train` first)")
    groups, ranks = group_runs(runs)
    report = build_report(groups, ranks, skipped, n_boot, seed, progress, baseline, against)
    return {**write_report(report, out), "report": report.doc}

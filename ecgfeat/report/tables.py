"""The report's tables as plain data (title, header, rows of cells), built once from compare.json
and rendered twice, as HTML and as Markdown, so the two can never disagree on a number."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fmt import METRIC_NAMES, NA, defined, leads_text, num, signed, with_ci

MACRO = ("precision", "recall", "f1", "auc", "accuracy")


@dataclass
class Cell:
    text: str
    best: bool = False
    code: bool = False


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    caption: str = ""


def _maxima(values: list) -> set[int]:
    """Indices holding the highest defined value (all of them on a tie); none when nothing is
    lower (one model, or every model at the same value): a mark that singles nothing out is noise."""
    ok = [v for v in values if defined(v)]
    if not ok or min(ok) == max(ok):
        return set()
    top = max(ok)
    return {i for i, v in enumerate(values) if defined(v) and v == top}


def group_title(g: dict) -> str:
    return f"{g['dataset']} · {g['labels']} · {g['protocol']} · {leads_text(g['leads'])}"


def summary_table(g: dict) -> Table:
    """Models x macro metrics with 95% intervals; the best value of each column marked."""
    models = g["models"]
    t = Table("Macro metrics (95% bootstrap intervals)", ["model", "records"] + [f"macro {METRIC_NAMES[m]}" for m in MACRO],
              caption="Values from each model's metrics.json; the best of each column is marked.")
    best = {m: _maxima([x["macro"].get(m) for x in models]) for m in MACRO}
    for i, x in enumerate(models):
        row = [Cell(x["label"]), Cell(str(x["n_records"]) if x.get("n_records") is not None else NA)]
        row += [Cell(with_ci(x["macro"].get(m), x["macro_ci"].get(m)), best=i in best[m]) for m in MACRO]
        t.rows.append(row)
    return t


def per_class_table(g: dict, metric: str) -> Table:
    """Classes x models (the paper's Table 2 layout); the best model of each class marked."""
    models = g["models"]
    t = Table(f"{METRIC_NAMES[metric]} per class", ["class"] + [x["label"] for x in models],
              caption=f"{NA}: undefined (no positives in the test rows) or a class the model was not trained on.")
    for c in g["classes"]:
        vals = [(x["per_class"].get(c) or {}).get(metric) for x in models]
        best = _maxima(vals)
        t.rows.append([Cell(c)] + [Cell(num(v), best=i in best) for i, v in enumerate(vals)])
    macro = [x["macro"].get(metric) for x in models]
    best = _maxima(macro)
    t.rows.append([Cell("macro")] + [Cell(num(v), best=i in best) for i, v in enumerate(macro)])
    return t


def paired_table(p: dict) -> Table:
    """Both models' macro values on the shared records, the difference a − b with its interval,
    the bootstrap p-value and (several comparisons in the group) its Holm-adjusted value."""
    holm = (p.get("n_tests") or 1) > 1
    unit = (p.get("bootstrap") or {}).get("unit", "record")
    t = Table(f"Paired comparison: {p['a_label']} vs {p['b_label']}",
              ["metric", p["a_label"], p["b_label"], f"{p['a_label']} − {p['b_label']} [95% CI]", "p"]
              + (["p (Holm)"] if holm else []),
              caption=f"Pairs chosen by: {p['note']}. Paired bootstrap ({p['n_boot']} draws, seed {p['seed']}, "
                      f"{'patients' if unit == 'patient' else 'records'} resampled) on the "
                      f"{p['n_records']} records tested by both models; "
                      + (f"significant when the Holm-adjusted p-value over the group's {p['n_tests']} comparisons "
                         "is below 0.05." if holm else "significant when the 95% interval of the difference excludes 0."))
    for m in ("auc", "f1"):
        e = p[m]
        lo, hi = e.get("ci") or [None, None]
        row = [Cell(f"macro {METRIC_NAMES[m]}"), Cell(num(e.get("a"))), Cell(num(e.get("b"))),
               Cell(f"{signed(e.get('diff'), plus=True)} [{signed(lo)}, {signed(hi)}]"), Cell(num(e.get("p_value")))]
        if holm:
            row.append(Cell(num((p.get("p_holm") or {}).get(m))))
        t.rows.append(row)
    return t


def verdict_lines(p: dict) -> list[tuple[str, bool]]:
    """(`macro AUC: xgb − cnn = ...: no significant difference`, significant?) per metric."""
    return [(f"macro {METRIC_NAMES[m]}: {p['verdict'][m]}", "significantly" in p["verdict"][m]) for m in ("auc", "f1")]


def commands_table(g: dict) -> Table:
    t = Table("Commands that produced these models", ["model", "command"])
    for x in g["models"]:
        t.rows.append([Cell(x["label"]), Cell(x.get("command") or "(not recorded in config.json)", code=bool(x.get("command")))])
    return t


def ranking_tables(r: dict) -> list[Table]:
    """Lead x family tables of macro F1 and macro AUC; the best lead of each family marked."""
    from ..vocab import LEADS

    at = {(x["lead"], x["family"]): x for x in r["rows"]}
    leads = [lead for lead in LEADS if any(x["lead"] == lead for x in r["rows"])]
    leads += sorted({x["lead"] for x in r["rows"]} - set(leads))
    out = []
    for m, name in (("f1", "macro F1"), ("auc", "macro AUC")):
        t = Table(f"Single-lead {name} per lead and model family", ["lead"] + r["families"],
                  caption="Values from each single-lead model's metrics.json (95% intervals); the best lead of each family is marked.")
        best = {fam: _maxima([(at.get((lead, fam)) or {}).get(m) for lead in leads]) for fam in r["families"]}
        for i, lead in enumerate(leads):
            row = [Cell(lead)]
            for fam in r["families"]:
                x = at.get((lead, fam))
                row.append(Cell(with_ci(x[m], x[f"{m}_ci"]) if x else NA, best=i in best[fam]))
            t.rows.append(row)
        out.append(t)
    top = Table("Leads ranked by macro AUC (then F1)", ["family", "rank 1", "rank 2", "rank 3", "all leads"])
    for fam, order in r["ranking"].items():
        top.rows.append([Cell(fam)] + [Cell(order[k] if k < len(order) else NA) for k in range(3)] + [Cell(", ".join(order))])
    out.append(top)
    cmd = Table("Commands that produced these models", ["family", "command"])
    for fam, cmds in r["commands"].items():
        for c in cmds or ["(not recorded in config.json)"]:
            cmd.rows.append([Cell(fam), Cell(c, code=bool(cmds))])
    out.append(cmd)
    return out


def _unit(b: dict | None) -> str:
    b = b or {}
    return f"{b.get('n', '?')} {'patients' if b.get('unit') == 'patient' else 'records'}"


def _records(e: dict) -> str:
    """`23 (record bootstrap)` or `40 (20 patients resampled)`."""
    b = e.get("bootstrap") or {}
    tail = f"{b.get('n')} patients resampled" if b.get("unit") == "patient" else "records resampled"
    return f"{e.get('n_records')} ({tail})"


def _pc(block: dict | None, c: str, m: str) -> tuple:
    e = ((block or {}).get("per_class") or {}).get(c) or {}
    return e.get(m), (e.get("ci") or {}).get(m)


def external_summary_table(entries: list[dict]) -> Table:
    """One row per (model, external dataset): macro AUC and F1 internal vs external with their
    95% intervals, and the drop (external − internal) on the classes present in both."""
    t = Table("External validation: macro metrics, internal vs external",
              ["model", "trained on", "external set", "records", "macro AUC internal",
               "macro AUC external", "Δ AUC", "macro F1 internal", "macro F1 external", "Δ F1", "absent classes"],
              caption="Internal: the model's own out-of-sample predictions on its training dataset, recomputed on the "
                      "classes present in the external set; external: ecgfeat evaluate, the model unchanged with its "
                      "saved thresholds. Δ = external − internal. Absent classes have no positive record in the "
                      "external set: no metric, not in the macro.")
    for e in entries:
        inn, ext, drop = e.get("internal") or {}, e["external"], (e.get("drop") or {}).get("macro") or {}
        row = [Cell(e["label"]), Cell(f"{e['source_dataset']} ({e.get('source_protocol')})"), Cell(e["dataset"]),
               Cell(_records(e))]
        for m in ("auc", "f1"):
            row += [Cell(with_ci((inn.get("macro") or {}).get(m), (inn.get("macro_ci") or {}).get(m))),
                    Cell(with_ci(ext["macro"].get(m), ext["macro_ci"].get(m))), Cell(signed(drop.get(m), plus=True))]
        row.append(Cell(", ".join(e.get("absent_classes") or {}) or "none"))
        t.rows.append(row)
    return t


def external_class_table(e: dict) -> Table:
    """Per class: external support, AUC and F1 internal vs external with 95% intervals, the drop;
    absent classes as such (with the false alarms the model raised for them)."""
    t = Table(f"{e['label']} ({e['source_dataset']}) on {e['dataset']}: per class",
              ["class", "n+ internal", "n+ external", "AUC internal", "AUC external", "Δ AUC", "F1 internal",
               "F1 external", "Δ F1"],
              caption=f"{e.get('n_records')} labelled records of {e['dataset']} ({e.get('labels')}), 95% intervals over "
                      f"{_unit(e.get('bootstrap'))}"
                      + ("" if (e.get("bootstrap") or {}).get("unit") == "patient" else " (no patient ids in the external set)")
                      + (f"; internal: {(e.get('internal') or {}).get('n_records')} test records of {e['source_dataset']}, "
                         f"intervals over {_unit((e.get('internal') or {}).get('bootstrap'))}" if e.get("internal") else "")
                      + f". Thresholds: {e.get('thresholds_origin') or 'the model saved ones'}.")
    drop = (e.get("drop") or {}).get("per_class") or {}
    for c in e["classes"]:
        ext = e["external"]["per_class"][c]
        inn = ((e.get("internal") or {}).get("per_class") or {}).get(c) or {}
        row = [Cell(c), Cell(str(inn.get("support", NA))), Cell(str(ext.get("support")))]
        for m in ("auc", "f1"):
            row += [Cell(with_ci(*_pc(e.get("internal"), c, m))), Cell(with_ci(*_pc(e["external"], c, m))),
                    Cell(signed((drop.get(c) or {}).get(m), plus=True))]
        t.rows.append(row)
    absent = e.get("absent_classes") or {}
    for c in absent:
        t.rows.append([Cell(c), Cell(NA), Cell("0"), Cell("absent"), Cell("absent"), Cell(""), Cell("absent"),
                       Cell("absent"), Cell("")])
    for c, n in (e.get("not_in_model") or {}).items():
        t.rows.append([Cell(c), Cell(NA), Cell(str(n)), Cell("not a model class"), Cell(""), Cell(""),
                       Cell("not a model class"), Cell(""), Cell("")])
    if absent:
        t.caption += (f" Absent: no positive record in {e['dataset']}, so no metric (and not in the macro); records "
                      "the model called positive: " + ", ".join(f"{c} {a.get('predicted_positive', 0)}"
                                                              for c, a in absent.items()) + ".")
    if e.get("not_in_model"):
        t.caption += " Not a model class: positives in the external set of a class the model was not trained on."
    return t

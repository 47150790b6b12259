"""compare.md: the report's tables in GitHub Markdown, to paste into a README or a paper draft
(figures live in compare.html; Markdown has no self-contained way to hold them)."""

from __future__ import annotations

from . import tables as T


def _cell(c: T.Cell) -> str:
    text = c.text.replace("|", "\\|")
    if c.code:
        text = f"`{text}`"
    return f"**{text}**" if c.best else text


def table(t: T.Table, level: int = 3) -> list[str]:
    lines = [f"{'#' * level} {t.title}", ""]
    lines.append("| " + " | ".join(h.replace("|", "\\|") for h in t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", t.caption]
    return lines + [""]


def paired_lines(g: dict) -> list[str]:
    comps = g.get("comparisons") or ([g["paired"]] if g.get("paired") else [])
    if not comps:
        return ["### Paired comparison", "", g.get("paired_note") or "nothing to compare", ""]
    out = [f"Pairs chosen by: {g.get('pair_rule') or comps[0].get('note', '')}.", ""]
    for p in comps:
        if p.get("skipped"):
            out += ["### Paired comparison", "", f"{p['a_label']} vs {p['b_label']}: not compared, {p['skipped']}.", ""]
            continue
        lines = table(T.paired_table(p))
        out += lines[:2] + [f"- {text}" for text, _ in T.verdict_lines(p)] + [""] + lines[2:]
    return out


def render_markdown(doc: dict) -> str:
    lines = ["# ecgfeat compare", "",
             f"Generated {doc.get('created', '')}. Every number is the model's own metrics.json (out-of-sample "
             "predictions, 95% bootstrap intervals); **bold** marks the best. Models are compared only within "
             "a group of the same dataset, label scheme, protocol and leads.", ""]
    for g in doc["groups"]:
        lines += [f"## {T.group_title(g)}", ""]
        lines += table(T.summary_table(g))
        lines += table(T.per_class_table(g, "f1"))
        lines += table(T.per_class_table(g, "auc"))
        lines += paired_lines(g)
        lines += table(T.commands_table(g))
    for r in doc["lead_ranking"]:
        lines += [f"## Lead ranking · {r['dataset']} · {r['labels']} · {r['protocol']}", ""]
        for t in T.ranking_tables(r):
            lines += table(t)
        lines += [f"- {n}" for n in r.get("notes", [])] + ([""] if r.get("notes") else [])
    if doc.get("external"):
        lines += ["## External validation", "",
                  "Each model trained on one dataset and applied unchanged, with its own saved thresholds, to "
                  "another (`ecgfeat evaluate`); curves in compare.html.", ""]
        lines += table(T.external_summary_table(doc["external"]))
        for e in doc["external"]:
            lines += table(T.external_class_table(e))
    if doc.get("explanations"):
        from .explanations import explanation_tables
        lines += ["## Explanations", ""] + [x for t in explanation_tables(doc["explanations"]) for x in table(t)]
    if doc.get("skipped"):
        lines += ["## Skipped folders", ""] + [f"- `{s['folder']}`: {s['reason']}" for s in doc["skipped"]] + [""]
    return "\n".join(lines).rstrip() + "\n"

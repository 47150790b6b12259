"""compare.html: one self-contained page (inline CSS, figures as base64 PNG data URIs; no script,
no font or stylesheet fetched), so it opens offline, from an e-mail or an archive, as it was made."""

from __future__ import annotations

from html import escape

from . import tables as T
from .plots import colour

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1320px;
       color: #1a1a1a; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 21px; margin-top: 40px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; } h4 { font-size: 14.5px; margin: 16px 0 4px; }
h3.set { font-size: 17px; margin-top: 34px; padding-top: 8px; border-top: 1px solid #ddd; }
table { border-collapse: collapse; margin: 4px 0 2px; font-size: 13.5px; }
th, td { border: 1px solid #d4d4d4; padding: 4px 9px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
td.best { font-weight: 700; background: #e7f3e7; }
td.text { text-align: left; white-space: normal; }
code { font-size: 12.5px; background: #f5f5f5; padding: 1px 4px; border-radius: 3px; }
.caption { color: #555; font-size: 12.5px; margin: 2px 0 10px; max-width: 640px; }
.sw { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.verdict { font-size: 15px; margin: 4px 0; } .verdict.sig { color: #0b6b0b; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: 6px 0; }
nav ul { margin: 4px 0; } .muted { color: #666; }
"""


def _swatch(label: str, colours: dict[str, str]) -> str:
    c = colours.get(label)
    return f'<span class="sw" style="background:{c}"></span>' if c else ""


def table(t: T.Table, colours: dict[str, str] | None = None) -> str:
    colours = colours or {}
    head = "".join(f"<th>{_swatch(h, colours)}{escape(h)}</th>" for h in t.header)
    body = []
    for row in t.rows:
        cells = []
        for k, c in enumerate(row):
            text = f"<code>{escape(c.text)}</code>" if c.code else escape(c.text)
            cls = " ".join(x for x in ("best" if c.best else "", "text" if c.code or len(c.text) > 40 else "") if x)
            sw = _swatch(c.text, colours) if k == 0 else ""
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{sw}{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<p class="caption">{escape(t.caption)}</p>' if t.caption else ""
    return (f"<div><h3>{escape(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{cap}</div>")


def _img(png: str, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{png}">'


def _paired(g: dict) -> str:
    comps = g.get("comparisons") or ([g["paired"]] if g.get("paired") else [])
    if not comps:
        return f"<h3>Paired comparison</h3><p class='muted'>{escape(g.get('paired_note') or 'nothing to compare')}</p>"
    parts = [f"<p class='muted'>Pairs chosen by: {escape(g.get('pair_rule') or comps[0].get('note', ''))}.</p>"]
    for p in comps:
        if p.get("skipped"):
            parts.append(f"<h3>Paired comparison</h3><p class='muted'>{escape(p['a_label'])} vs {escape(p['b_label'])}: "
                         f"not compared, {escape(p['skipped'])}.</p>")
            continue
        t = table(T.paired_table(p))
        lines = "".join(f'<p class="verdict{" sig" if sig else ""}">{escape(text)}</p>' for text, sig in T.verdict_lines(p))
        head, rest = t.split("</h3>", 1)
        parts.append(f"{head}</h3>{lines}{rest}")
    return "".join(parts)


def _group(i: int, g: dict, figs: dict) -> str:
    colours = {x["label"]: x.get("colour") or colour(x["estimator"]) for x in g["models"]}
    parts = [f'<h2 id="g{i}">{escape(T.group_title(g))}</h2>',
             f'<p class="muted">{len(g["models"])} model(s), classes: {escape(", ".join(g["classes"]))}</p>',
             table(T.summary_table(g), colours), _paired(g),
             '<div class="row">' + table(T.per_class_table(g, "f1"), colours) + table(T.per_class_table(g, "auc"), colours) + "</div>"]
    if figs:
        parts += _curves(figs)
        parts += ["<h3>F1 per class</h3>", _img(figs["f1"], "F1 per class")]
        for label, png in figs["confusion"]:
            parts += [f"<h3>Confusion matrices per class: {escape(label)}</h3>", _img(png, f"confusion matrices of {label}")]
    parts.append(table(T.commands_table(g), colours))
    return "\n".join(parts)


CURVE_TEXT = {
    "roc": ("ROC curves per class", "True against false positive rate; dashed: chance."),
    "pr": ("Precision-recall curves per class", "Precision against recall; dashed: the class's prevalence in "
           "these records (the precision of a model that ranks at random)."),
    "calibration": ("Calibration (reliability) curves per class",
                    "Observed frequency of the class against the mean predicted probability, in quantile bins "
                    "of the scores (about 10 records a point, 2 to 10 points); dashed: perfect calibration."),
}


def _curves(figs: dict, level: str = "h3") -> list[str]:
    """The ROC, precision-recall and calibration figures of a group, each with its caption."""
    out = []
    for kind, (title, caption) in CURVE_TEXT.items():
        if figs.get(kind):
            out += [f"<{level}>{title}</{level}>", _img(figs[kind], title), f'<p class="caption">{escape(caption)}</p>']
    return out


def _external(doc: dict, figures: dict) -> str:
    entries = doc.get("external") or []
    colours = {e["label"]: e.get("colour") or colour(e["estimator"]) for e in entries}
    parts = ['<h2 id="external">External validation</h2>',
             "<p class='muted'>Each model trained on one dataset and applied unchanged, with its own saved "
             "thresholds, to another (<code>ecgfeat evaluate</code>).</p>",
             table(T.external_summary_table(entries), colours)]
    parts += [table(T.external_class_table(e), colours) for e in entries]
    for s in doc.get("external_sets") or []:
        figs = figures.get(s["id"]) or {}
        if figs:
            parts.append(f"<h3 class='set'>Curves on {escape(s['dataset'])} · {escape(str(s['labels']))} (external): "
                         f"{escape(', '.join(s['models']))}</h3>")
            parts += _curves(figs, "h4")
    return "\n".join(parts)


def _ranking(i: int, r: dict, png: str | None) -> str:
    colours = {fam: colour(est) for fam, est in r["estimators"].items()}
    parts = [f'<h2 id="r{i}">Lead ranking · {escape(r["dataset"])} · {escape(r["labels"])} · {escape(r["protocol"])}</h2>']
    tabs = T.ranking_tables(r)
    parts.append('<div class="row">' + table(tabs[0], colours) + table(tabs[1], colours) + "</div>")
    if png:
        parts.append(_img(png, "single-lead macro F1 and AUC per lead"))
    parts += [table(t, colours) for t in tabs[2:]]
    parts += [f"<p class='muted'>{escape(n)}</p>" for n in r.get("notes", [])]
    return "\n".join(parts)


def render_html(doc: dict, figures: dict) -> str:
    nav = [f'<li><a href="#g{i}">{escape(T.group_title(g))}</a> ({len(g["models"])} models)</li>' for i, g in enumerate(doc["groups"])]
    nav += [f'<li><a href="#r{i}">Lead ranking · {escape(r["dataset"])} · {escape(r["labels"])} · {escape(r["protocol"])}</a></li>'
            for i, r in enumerate(doc["lead_ranking"])]
    nav += ['<li><a href="#external">External validation</a></li>'] if doc.get("external") else []
    nav += ['<li><a href="#explain">Explanations</a></li>'] if doc.get("explanations") else []
    body = [f"<h1>ecgfeat compare</h1><p class='muted'>Generated {escape(str(doc.get('created', '')))}. "
            "Every number is the model's own metrics.json (out-of-sample predictions, 95% bootstrap intervals); "
            "curves and confusion matrices come from its tested predictions. Models are compared only within a "
            "group of the same dataset, label scheme, protocol and leads.</p>",
            "<nav><ul>" + "".join(nav) + "</ul></nav>"]
    body += [_group(i, g, figures.get(g["id"])) for i, g in enumerate(doc["groups"])]
    body += [_ranking(i, r, figures.get("ranking:" + r["id"])) for i, r in enumerate(doc["lead_ranking"])]
    if doc.get("external"):
        body.append(_external(doc, figures))
    if doc.get("explanations"):
        from .explanations import explanation_tables
        body.append('<h2 id="explain">Explanations</h2>' + "".join(table(t) for t in explanation_tables(doc["explanations"])))
    if doc.get("skipped"):
        items = "".join(f"<li><code>{escape(s['folder'])}</code>: {escape(s['reason'])}</li>" for s in doc["skipped"])
        body.append(f"<h2>Skipped folders</h2><ul>{items}</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecgfeat compare</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")

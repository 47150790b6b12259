"""The report's "Explanations" section: what `ecgfeat explain` left in reports/explain/*/explain.json
(the ground-truth hit table per model, the clinical-criteria hit table per label scheme with the top
features of each class, and the tree-vs-cnn lead agreement), read as they are."""

from __future__ import annotations

import json
from pathlib import Path

from .fmt import NA
from .tables import Cell, Table


CLINICAL_KEYS = ("clinical", "clinical_hits", "clinical_n_checked", "clinical_detail", "clinical_rule",
                 "clinical_not_checked", "clinical_scheme")


def gather_explanations(folder: str | Path) -> list[dict]:
    """The explain.json documents under `folder` (one per model folder), unreadable ones skipped."""
    docs = []
    for path in sorted(Path(folder).glob("*/explain.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        docs.append({k: doc.get(k) for k in ("model", "estimator", "dataset", "labels", "method", "output", "classes",
                                               "ground_truth", "hits", "n_checked", "n_records", "agreement",
                                               "ground_truth_detail", "hit_rule", "not_checked")}
                    | {k: doc.get(k) for k in CLINICAL_KEYS}
                    | {"path": str(path)})
    return docs


def _measure(d: dict | None) -> str:
    """` 62%` (tree share) or ` ×1.41` (cnn ratio) beside a verdict."""
    if not d:
        return ""
    if d.get("ratio") is not None:
        return f" ×{d['ratio']:.2f}"
    if d.get("share") is not None:
        return f" {d['share']:.0%}"
    return ""


def explanation_tables(docs: list[dict]) -> list[Table]:
    out = []
    checked = [d for d in docs if d.get("ground_truth")]
    if checked:
        classes = list(dict.fromkeys(c for d in checked for c in (d.get("classes") or d["ground_truth"])))
        t = Table("Explanations against the synthetic ground truth", ["model", "method", "hits"] + classes,
                  caption="✓: the class's explanation points at its generating mechanism (trees: share of the top-3 "
                          "features' mean |SHAP| on the expected features; cnn: the expected part of the cycle's attribution "
                          f"density over the rest's, ×ratio), with the measure beside it; {NA}: not checked. "
                          + " ".join(sorted({f"Rule: {d['hit_rule']}." for d in checked if d.get("hit_rule")}))
                          + " " + " ".join(sorted({f"{c}: {w}." for d in checked for c, w in (d.get("not_checked") or {}).items()}))
                          + " From reports/explain/<model>/explain.json.")
        for d in checked:
            gt, detail = d["ground_truth"], d.get("ground_truth_detail") or {}
            t.rows.append([Cell(d["model"]), Cell(str(d.get("method"))), Cell(f"{d.get('hits')}/{d.get('n_checked')}")]
                          + [Cell(("✓" if gt.get(c) else "✗") + _measure(detail.get(c)) if c in gt else NA) for c in classes])
        out.append(t)
    out += clinical_tables(docs)
    pairs = {}
    for d in docs:
        for res in (d.get("agreement") or {}).values():
            pairs[(res["tree_model"], res["cnn_model"])] = res
    if pairs:
        classes = list(dict.fromkeys(c for r in pairs.values() for c in r["per_class"]))
        t = Table("Lead importance agreement, tree model vs cnn (Spearman ρ per class)",
                  ["tree model", "cnn"] + classes + ["mean"],
                  caption="Rank correlation of the 12 leads' importance (tree: summed mean |SHAP| of the lead's features; "
                          "cnn: mean |DeepSHAP attribution| of the lead) for each class.")
        for (tree, cnn), r in sorted(pairs.items()):
            vals = [r["per_class"].get(c) for c in classes] + [r.get("mean")]
            t.rows.append([Cell(tree), Cell(cnn)] + [Cell(NA if v is None else f"{v:+.2f}") for v in vals])
        out.append(t)
    return out


def clinical_tables(docs: list[dict]) -> list[Table]:
    """Per label scheme: the clinical hit table (model x class, ✓/✗ with the share) and the top
    features of each class, marked ✓ when they serve one of its criteria (ecgfeat/explain/criteria.py)."""
    from ..explain.words import label

    out = []
    checked = [d for d in docs if d.get("clinical")]
    for scheme in dict.fromkeys(d.get("clinical_scheme") or d.get("labels") for d in checked):
        group = [d for d in checked if (d.get("clinical_scheme") or d.get("labels")) == scheme]
        classes = list(dict.fromkeys(c for d in group for c in (d.get("classes") or d["clinical"])))
        shown = [c for c in classes if any(c in d["clinical"] for d in group)]
        rules = sorted({d["clinical_rule"] for d in group if d.get("clinical_rule")})
        skipped = sorted({f"{c}: {w}." for d in group for c, w in (d.get("clinical_not_checked") or {}).items()})
        t = Table(f"Explanations against the clinical criteria ({scheme})", ["model", "method", "data set", "hits"] + shown,
                  caption="✓: the class's top features by mean |SHAP| point at its clinical criteria (AHA/ACC/HRS "
                          "2007-2009, UDMI 2018, ESC 2020; the table is ecgfeat/explain/criteria.py), with the share of their "
                          f"mean |SHAP| on criteria features and (n) the explained records with the class; {NA}: not checked. "
                          + " ".join(f"Rule: {r}." for r in rules) + " " + " ".join(skipped)
                          + " From reports/explain/<model>/explain.json.")
        for d in group:
            detail = d.get("clinical_detail") or {}
            cells = []
            for c in shown:
                v = detail.get(c)
                if v is None:
                    cells.append(Cell(NA))
                    continue
                n = f" (n={v['n_positive']})" if v.get("n_positive") is not None else ""
                cells.append(Cell(("✓" if v["hit"] else "✗") + _measure(v) + n))
            t.rows.append([Cell(d["model"]), Cell(str(d.get("method"))), Cell(str(d.get("dataset"))),
                           Cell(f"{d.get('clinical_hits')}/{d.get('clinical_n_checked')}")] + cells)
        out.append(t)
        top = Table(f"Top features per class and their criteria ({scheme})", ["model", "class", "hit", "top features (✓: a criterion of the class)"],
                    caption="The class's top features by mean |SHAP|, best first; ✗ marks a feature no criterion of the class names.")
        for d in group:
            detail = d.get("clinical_detail") or {}
            for c in [c for c in shown if c in detail]:
                v = detail[c]
                feats = ", ".join(f"{'✓' if m else '✗'} {label(f)}" for f, m in zip(v.get("top", []), v.get("matched", [])))
                top.rows.append([Cell(d["model"]), Cell(c), Cell(("✓" if v["hit"] else "✗") + _measure(v)), Cell(feats)])
        out.append(top)
    return out

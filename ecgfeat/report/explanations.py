"""The report's "Explanations" section: what `ecgfeat explain` left in reports/explain/*/explain.json
(the ground-truth hit table per model and the tree-vs-cnn lead agreement), read as they are."""

from __future__ import annotations

import json
from pathlib import Path

from .fmt import NA
from .tables import Cell, Table


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

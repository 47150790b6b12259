"""Number formatting shared by the HTML and Markdown renderings, so both print the same digits."""

from __future__ import annotations

import math

NA = "–"  # an undefined value (e.g. AUC of a class without positives)
METRIC_NAMES = {"precision": "precision", "recall": "recall", "f1": "F1", "auc": "AUC", "accuracy": "accuracy"}


def defined(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def num(v, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if defined(v) else NA


def with_ci(v, ci) -> str:
    """`0.812 [0.780, 0.845]`, or the value alone when the interval is undefined."""
    lo, hi = (ci or [None, None])[:2] if ci else (None, None)
    if not defined(v):
        return NA
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if defined(lo) and defined(hi) else f"{v:.3f}"


def signed(v, plus: bool = False) -> str:
    """A difference with a true minus sign (U+2212), `+` in front when `plus`: `+0.012`, `−0.004`."""
    if not defined(v):
        return NA
    s = f"{v:+.3f}" if plus else f"{v:.3f}"
    return s.replace("-", "−")


def leads_text(leads) -> str:
    from ..vocab import LEADS

    if leads is None:
        return "single leads"
    return "all 12 leads" if tuple(leads) == LEADS else "leads " + ", ".join(leads)

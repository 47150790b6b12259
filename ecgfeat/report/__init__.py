"""`ecgfeat compare`: every trained model side by side, in HTML, Markdown and JSON.

gather (find, load and group model folders) -> compare (the report dict, the paired test, the
lead ranking) -> plots (matplotlib figures as base64 PNG) -> html / markdown (the two renderings).
The report's numbers are those of each model's metrics.json, never recomputed: what a paper
quotes from the report is what `ecgfeat train` measured.
"""

from __future__ import annotations

from .compare import build_report, compare_models, verdict, write_report
from .gather import ModelRun, find_models, group_runs

__all__ = ["ModelRun", "build_report", "compare_models", "find_models", "group_runs", "verdict", "write_report"]

"""Every `>>>` example of the public API's docstrings runs (doctest), module by module.

Only these modules: the rest of the suite does not collect doctests (no global pytest option).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PUBLIC_MODULES = [
    "ecgfeat.api",
    "ecgfeat.features.transformer",
    "ecgfeat.models.threshold",
    "ecgfeat.evaluation.folds",
    "ecgfeat.deep.estimator",
    "ecgfeat.features.morphology",
    "ecgfeat.jsonable",
    "ecgfeat.resources",
    "ecgfeat.optional",
    "ecgfeat.draw.paper",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_docstring_examples_run(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)            # an example that writes files writes them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name} (see stdout)"


def test_the_python_page_runs(monkeypatch, tmp_path):
    """docs/python.md is written notebook-style: its `>>>` blocks run here, top to bottom."""
    page = Path(__file__).resolve().parent.parent / "docs" / "python.md"
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(page), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 20 and result.failed == 0, f"{result.failed} examples of {page} failed (see stdout)"


def test_every_public_name_is_documented_with_an_example():
    import ecgfeat

    for name in ("extract_features", "read_record", "ECGFeatures", "MultiLabelThresholdClassifier",
                 "IterativeStratifiedGroupKFold", "CNNClassifier"):
        doc = getattr(ecgfeat, name).__doc__ or ""
        assert "Examples" in doc and ">>>" in doc, f"ecgfeat.{name} has no example"


def test_the_readme_python_example_runs(monkeypatch, tmp_path):
    """The README's "From Python" block, as written, on a fresh folder."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## From Python"):]
    code = section[section.index("```python") + len("```python"):section.index("```", section.index("```python") + 9)]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    n_classes = len(scope["classes"])
    assert scope["X"].shape == (60, 12, 5000) and scope["df"].shape[0] == 1
    assert {c.split("__")[0] for c in scope["strip"].columns} == {"II", "all"}
    assert scope["predicted"].shape == (12, n_classes)
    assert scope["model"][-1].thresholds_.shape == (n_classes,)

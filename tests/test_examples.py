"""The scripts in examples/ run, and what they print is what the data say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_features_pipeline_shap_example_runs_and_finds_the_mechanisms(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "features_pipeline_shap.py"), "--n", "120",
                          "--out", str(tmp_path / "syn")], capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    assert out.startswith("120 records of 10 s; classes: {")
    auc = {c: float(v) for c, v in re.findall(r"([A-Za-z-]+) ([01]\.\d{3})", out.split("out-of-fold AUC: ")[1].splitlines()[0])}
    # rhythm and conduction classes are separable on the generator's parameters: AF, I-AVB, LBBB, RBBB, PVC
    assert all(auc[c] >= 0.95 for c in ("AF", "I-AVB", "LBBB", "RBBB", "PVC")), auc
    top = dict(re.findall(r"^top features ([A-Za-z-]+): (.*)$", out, flags=re.M))
    assert "all__expert__pr_ms" in top["I-AVB"]           # first-degree AV block is a long PR
    assert "__expert__p_amp_mv" in top["AF"] or "all__rhythm__" in top["AF"]   # no P waves, irregular RR

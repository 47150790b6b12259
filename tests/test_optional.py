"""Without the extras: `pip install ecgfeat` (no torch, shap, neurokit2) extracts, trains and predicts, and a
command that needs an extra says which one to install."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# A child interpreter in which torch, shap and neurokit2 cannot be imported (as after a plain `pip install`):
# a meta-path finder refuses them (not `sys.modules[name] = None`: scipy reads sys.modules for torch).
CHILD = textwrap.dedent("""
    import json, sys

    class Absent:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "shap", "neurokit2"):
                raise ModuleNotFoundError(f"No module named {name!r}")

    sys.meta_path.insert(0, Absent())
    from typer.testing import CliRunner
    from ecgfeat.cli import app

    ws, data = sys.argv[1], sys.argv[2]
    runner, out = CliRunner(), {}
    for key, args in [
        ("extract", ["-w", ws, "extract", data, "--jobs", "1", "--features", "expert,rhythm"]),
        ("train", ["-w", ws, "train", "--model", "rf", "--data", data, "--jobs", "1", "--n-boot", "50"]),
        ("predict", ["-w", ws, "predict", data, "--model", "rf-s40-cpsc9-paper-all", "--json"]),
        ("cnn", ["-w", ws, "train", "--model", "cnn", "--data", data, "--epochs", "1"]),
        ("explain", ["-w", ws, "explain", "--model", "rf-s40-cpsc9-paper-all"]),
    ]:
        res = runner.invoke(app, args)
        out[key] = {"exit": res.exit_code, "output": res.output if key == "predict" else res.output[-600:]}
    out["loaded"] = sorted(m for m in ("torch", "shap", "neurokit2") if sys.modules.get(m) is not None)
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_core_install_extracts_trains_predicts_and_names_the_missing_extra(tmp_path):
    from ecgfeat.synth import synthesize

    data = tmp_path / "s40"
    synthesize(data, n=40, seed=3, jobs=1)
    res = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "ws"), str(data)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["extract"]["exit"] == 0, out["extract"]
    assert out["train"]["exit"] == 0, out["train"]
    assert out["predict"]["exit"] == 0, out["predict"]
    predicted = json.loads(out["predict"]["output"].strip().splitlines()[-1])
    assert len(predicted["records"]) == 40 and set(predicted["thresholds"]) == set(predicted["classes"])
    assert out["cnn"]["exit"] == 1
    assert "the cnn (ResNet-34-1D) needs torch, which is not installed: pip install 'ecgfeat[deep]'" \
        in " ".join(out["cnn"]["output"].split())
    assert out["explain"]["exit"] == 1
    assert "needs shap, which is not installed: pip install 'ecgfeat[explain]'" in " ".join(out["explain"]["output"].split())
    assert out["loaded"] == []

"""The command-line contract (SPEC, Commands): help with examples, --json, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import wfdb
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.vocab import LEADS
from test_fetch import publish, server  # noqa: F401,F811  (the Range-capable http.server fixture)

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, list(map(str, args)), env=env)


@pytest.mark.parametrize("cmd", [[], ["data"], ["data", "synth"], ["data", "info"], ["data", "fetch"], ["extract"],
                                 ["store"], ["store", "ls"], ["store", "info"], ["train"], ["predict"]])
def test_every_command_help_shows_an_example(cmd):
    res = run(*cmd, "--help")
    assert res.exit_code == 0, res.output
    assert "Examples:" in res.output and "ecgfeat " in res.output.split("Examples:")[1]


def test_synth_then_info_json(tmp_path):
    out = tmp_path / "syn"
    res = run("data", "synth", out, "--n", 18, "--seed", 3, "--fs", 250, "--seconds", 4, "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["format"] == "wfdb" and info["records"] == info["readable"] == 18
    assert info["sampling_rates"] == {"250": 18} and info["durations_s"] == {"min": 4.0, "median": 4.0, "max": 4.0}
    assert sum(info["labels"]["cpsc9"].values()) >= 18
    res = run("data", "info", out, "--json")
    assert res.exit_code == 0
    again = json.loads(res.stdout.strip().splitlines()[-1])
    assert again["labels"] == info["labels"] and again["errors"] == []


def test_json_is_the_last_stdout_line_and_human_text_goes_to_stderr(tmp_path):
    """Run the real console entry point: stdout must parse as JSON on its own."""
    out = tmp_path / "syn"
    subprocess.run([sys.executable, "-m", "ecgfeat", "data", "synth", str(out), "--n", "9", "--seconds", "3"],
                   check=True, capture_output=True)
    proc = subprocess.run([sys.executable, "-m", "ecgfeat", "data", "info", str(out), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["readable"] == 9          # nothing else on stdout
    assert "format wfdb, 9 records, 9 readable" in proc.stderr


def test_missing_path_is_a_one_line_error(tmp_path):
    res = run("data", "info", tmp_path / "nope")
    assert res.exit_code == 1
    assert res.output.strip() == f"error: {tmp_path / 'nope'}: no such file or folder"


def test_folder_without_records_says_what_was_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    res = run("data", "info", tmp_path)
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = res.output.strip()
    assert line.startswith(f"error: {tmp_path}") and len(line.splitlines()) == 1
    for looked_for in ("ptbxl_database.csv", "REFERENCE.csv", ".hea"):
        assert looked_for in line


def test_bad_option_value_names_the_option(tmp_path):
    res = run("data", "synth", tmp_path / "x", "--balance", "AF=lots")
    assert res.exit_code == 1
    assert res.output.strip() == "error: --balance 'AF=lots': expected CLASS=WEIGHT, e.g. AF=2"
    res = run("data", "fetch", "mitbih", "--to", tmp_path)
    assert res.exit_code == 1 and "mitbih" in res.output and "cpsc2018" in res.output and "ptbxl" in res.output


def test_debug_shows_the_traceback(tmp_path):
    res = run("--debug", "data", "synth", tmp_path / "x", "--balance", "AF=lots")
    assert res.exit_code != 0 and isinstance(res.exception, ValueError)


def test_workspace_option_and_env(tmp_path):
    from ecgfeat.commands.common import STATE

    run("--workspace", tmp_path / "ws", "data", "info", tmp_path / "missing")
    assert STATE.workspace == tmp_path / "ws"
    run("data", "info", tmp_path / "missing", env={"ECGFEAT_HOME": str(tmp_path / "home")})
    assert STATE.workspace == tmp_path / "home"


def _mini_ptbxl(root):
    """A two-record PTB-XL layout made from synthetic signals."""
    from ecgfeat.synth.assemble import make_record

    rows = []
    for i, labels in ((1, ["Normal"]), (2, ["AF"])):
        sig, _, _ = make_record(labels, 500.0, 10.0, np.random.default_rng(i))
        d = root / "records500" / "00000"
        d.mkdir(parents=True, exist_ok=True)
        wfdb.wrsamp(f"{i:05d}_hr", fs=500, units=["mV"] * 12, sig_name=[l.upper() for l in LEADS],
                    p_signal=sig.T, fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(d))
        codes = "{'NORM': 100.0, 'SR': 0.0}" if labels == ["Normal"] else "{'AFIB': 100.0}"
        rows.append(f'{i},{100 + i},50,0,"{codes}",{i},records100/00000/{i:05d}_lr,records500/00000/{i:05d}_hr\n')
    (root / "ptbxl_database.csv").write_text("ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n" + "".join(rows))
    (root / "scp_statements.csv").write_text(",description,diagnostic,rhythm,diagnostic_class\nNORM,normal ECG,1.0,,NORM\n"
                                             "SR,sinus rhythm,,1.0,\nAFIB,atrial fibrillation,,1.0,\n")
    (root / "LICENSE.txt").write_text("CC BY 4.0\n")


def test_fetch_cli_downloads_verifies_and_reports(server, tmp_path):  # noqa: F811 (the fixture of test_fetch)
    src = tmp_path / "src"
    _mini_ptbxl(src)
    files = {str(p.relative_to(src)): p.read_bytes() for p in src.rglob("*") if p.is_file()}
    publish(server.root, files)
    res = run("data", "fetch", "ptbxl", "--to", tmp_path / "data", "--mirror", server.url, "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert (info["format"], info["readable"], info["errors"]) == ("ptbxl", 2, [])
    assert info["labels"]["cpsc9"]["Normal"] == 1 and info["labels"]["cpsc9"]["AF"] == 1
    assert info["labels"]["ptbxl-super"]["NORM"] == 1
    # a second run downloads nothing new (every file verified by its sha256)
    before = len(server.log)
    assert run("data", "fetch", "ptbxl", "--to", tmp_path / "data", "--mirror", server.url).exit_code == 0
    assert [rel for rel, _ in server.log[before:]] == ["SHA256SUMS.txt"]

"""The CLI as a person meets it: --debug anywhere, help that renders, one record id, one family name, predict's
table with every class and threshold, data info's unlabelled counts and code names."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.commands.common import UserError

runner = CliRunner()


def test_debug_after_the_subcommand_shows_the_traceback(tmp_path):
    missing = tmp_path / "nowhere"
    res = runner.invoke(app, ["-w", str(tmp_path), "train", "--model", "xgb", "--data", str(missing), "--debug"])
    assert isinstance(res.exception, UserError) and str(missing) in str(res.exception)   # raised, not one line
    plain = runner.invoke(app, ["-w", str(tmp_path), "train", "--model", "xgb", "--data", str(missing)])
    assert plain.exit_code == 1 and plain.output.startswith(f"error: --data {missing}: no such folder")
    # after `--` a literal `--debug` is an argument, not the flag
    args = runner.invoke(app, ["-w", str(tmp_path), "data", "info", "--", "--debug"])
    assert args.exit_code == 1 and "--debug: no such file or folder" in args.output


def test_help_shows_no_placeholder_for_flags_and_keeps_brackets():
    res = runner.invoke(app, ["extract", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "<bool>" not in res.output and "<int>" in res.output
    assert "pip install 'ecgfeat[dask]'" in res.output                         # rich markup must not eat [dask]
    wait = next(ln for ln in res.output.splitlines() if "--wait" in ln)
    assert "--no-wait" in wait and "When another extract" in wait


def test_a_ptbxl_record_file_or_base_path_keeps_its_ecg_id_and_labels(tmp_path):
    from ecgfeat.datasets import open_dataset
    from test_cli import _mini_ptbxl

    _mini_ptbxl(tmp_path / "ptbxl")
    for target in ("records500/00000/00002_hr.hea", "records500/00000/00002_hr.dat", "records500/00000/00002_hr"):
        ds = open_dataset(tmp_path / "ptbxl" / target)
        (ref,) = ds.refs()
        assert (ds.format, ref.record_id, ds.read(ref).codes) == ("ptbxl", "2", ("AFIB",)), target


def test_a_base_path_without_header_is_still_an_error(tmp_path):
    res = runner.invoke(app, ["data", "info", str(tmp_path / "nope")])
    assert res.exit_code == 1 and res.output.strip() == f"error: {tmp_path / 'nope'}: no such file or folder"


def test_families_take_the_extract_names(monkeypatch):
    import ecgfeat.store
    from ecgfeat.commands.train import _store_families

    class Store:
        def __init__(self, root):
            pass

        def families(self, dataset):
            return {"expert": "4", "rhythm": "4", "tsfresh-fast": "3"} if dataset == "a" else \
                {"tsfresh-fast": "3", "tsfresh-efficient": "3"}

    monkeypatch.setattr(ecgfeat.store, "FeatureStore", Store, raising=False)
    assert _store_families("expert, tsfresh", "s", "a") == ("expert", "tsfresh-fast")
    assert _store_families("tsfresh-fast,rhythm,rhythm", "s", "a") == ("tsfresh-fast", "rhythm")
    with pytest.raises(UserError, match="the store holds tsfresh-efficient and tsfresh-fast for 'b'; name one"):
        _store_families("tsfresh", "s", "b")


def test_predict_table_shows_every_class_with_its_threshold():
    from ecgfeat.commands.train import _prediction_table

    out = {"model": "m", "classes": ["NORM", "MI", "CD"], "thresholds": {"NORM": 0.5, "MI": 0.09, "CD": 0.27},
           "records": [{"record": "8", "labels": ["MI"], "probabilities": {"NORM": 0.05, "MI": 0.95, "CD": 0.26}}]}
    con = Console(record=True, width=120)
    con.print(_prediction_table(out))
    text = con.export_text()
    assert ">= 0.50" in text and ">= 0.09" in text and ">= 0.27" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("│ 8 "))
    assert [c.strip() for c in row.strip("│").split("│")] == ["8", "MI", "0.05", "0.95*", "0.26"]


def test_data_info_counts_unlabelled_records_and_names_snomed_codes(tmp_path, ecg):
    sig = ecg.sines(12, 500, 10)
    ecg.write_challenge(tmp_path / "ch", "A1", sig, dx="164889003")            # AF
    ecg.write_challenge(tmp_path / "ch", "A2", sig, dx="164889003,59118001")   # AF, RBBB
    ecg.write_challenge(tmp_path / "ch", "A3", sig, dx="251146004")            # low QRS voltage: no cpsc9 class
    res = runner.invoke(app, ["data", "info", str(tmp_path / "ch")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "labels: cpsc9; 1 readable record carries none of them" in res.output
    raw = res.output.split("labels: raw")[1]
    assert "164889003 (AF)" in raw and "59118001 (RBBB)" in raw and "251146004 (LQRSV)" in raw

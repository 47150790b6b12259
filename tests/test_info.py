"""dataset_info: the `data info` object on real and hand-made datasets."""

from __future__ import annotations

import ast
import json
from collections import Counter

import pandas as pd
import pytest

from ecgfeat import info as info_mod
from ecgfeat.datasets import open_dataset
from ecgfeat.info import dataset_info
from ecgfeat.vocab import CPSC9

SPEC_KEYS = {"path", "format", "records", "readable", "errors", "sampling_rates", "durations_s", "labels"}


def ptbxl_super_counts(folder) -> dict[str, int]:
    """Independent of ecgfeat: diagnostic superclasses per record straight from the two csv files."""
    db = pd.read_csv(folder / "ptbxl_database.csv")
    st = pd.read_csv(folder / "scp_statements.csv", index_col=0)
    diag = st[st["diagnostic"] == 1]["diagnostic_class"]
    per_record = db["scp_codes"].map(lambda t: {diag[c] for c in ast.literal_eval(t) if c in diag.index})
    return dict(Counter(c for classes in per_record for c in classes))


@pytest.mark.realdata
def test_ptbxl_info(shared_data):
    folder = shared_data / "ptbxl-500"
    ticks = []
    out = dataset_info(open_dataset(folder), jobs=2, progress=ticks.append)
    assert SPEC_KEYS <= set(out) and json.loads(json.dumps(out)) == out
    assert (out["path"], out["format"], out["records"], out["readable"], out["errors"]) == (
        str(folder), "ptbxl", 500, 500, [])
    assert sum(ticks) == 500
    assert out["sampling_rates"] == {"500": 500}
    assert out["durations_s"] == {"min": 10.0, "median": 10.0, "max": 10.0}
    expected_super = {"NORM": 297, "MI": 73, "STTC": 96, "CD": 78, "HYP": 40}
    assert ptbxl_super_counts(folder) == expected_super
    assert out["labels"]["ptbxl-super"] == expected_super
    assert list(out["labels"]["ptbxl-super"]) == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert out["labels"]["cpsc9"] == {"Normal": 255, "AF": 13, "I-AVB": 10, "LBBB": 8, "RBBB": 8,
                                      "PAC": 6, "PVC": 16, "STD": 22, "STE": 0}
    assert out["labels"]["raw"]["SR"] == 407 and out["labels"]["raw"]["NORM"] == 297
    assert out["unlabelled"]["ptbxl-super"] == 12
    assert out["notes"] == {"rate": 500}


@pytest.mark.realdata
def test_cpsc_original_info(shared_data):
    out = dataset_info(open_dataset(shared_data / "cpsc2018-original"))
    assert (out["format"], out["records"], out["readable"], out["errors"]) == ("cpsc2018", 4, 4, [])
    assert out["notes"]["labels_without_signal"] == 6873
    assert out["labels"]["cpsc9"] == {"Normal": 1, "AF": 0, "I-AVB": 1, "LBBB": 0, "RBBB": 0,
                                      "PAC": 1, "PVC": 0, "STD": 1, "STE": 0}
    assert out["labels"]["raw"] == {"1": 1, "3": 1, "6": 1, "8": 1}
    assert out["durations_s"] == {"min": 10.0, "median": 12.5, "max": 15.9}


@pytest.mark.realdata
def test_challenge_info(shared_data):
    folder = shared_data / "challenge-wfdb"
    out = dataset_info(open_dataset(folder))
    assert (out["format"], out["records"], out["sampling_rates"]) == ("challenge", 50, {"500": 50})
    # three Chapman-Ningbo records have precordial leads that are exactly zero in the .mat: they stay
    # readable (the other leads carry the diagnosis) and are listed as warnings naming the leads
    chapman = folder / "ChapmanShaoxing_Ningbo"
    assert out["readable"] == 50 and out["errors"] == []
    tail = "(peak-to-peak < 5 uV); their features will be NaN"
    assert out["warnings"] == [
        {"record": "JS45542", "reason": f"{chapman / 'JS45542.mat'}: flat lead(s) V1, V2, V3, V4, V5, V6 {tail}"},
        {"record": "JS45544", "reason": f"{chapman / 'JS45544.mat'}: flat lead(s) V2, V3, V4, V5, V6 {tail}"},
        {"record": "JS45551", "reason": f"{chapman / 'JS45551.mat'}: flat lead(s) V4, V5, V6 {tail}"},
    ]
    assert out["labels"]["cpsc9"] == {"Normal": 5, "AF": 8, "I-AVB": 3, "LBBB": 0, "RBBB": 5,
                                      "PAC": 0, "PVC": 2, "STD": 3, "STE": 0}
    assert out["labels"]["raw"]["426783006"] == 5 and out["labels"]["raw"]["164889003"] == 8
    assert out["durations_s"] == {"min": 10.0, "median": 10.0, "max": 47.706}


def test_info_on_bad_folder_lists_every_error_and_counts_good(tmp_path, ecg, monkeypatch):
    expected = ecg.bad_wfdb_folder(tmp_path)
    ecg.write_wfdb(tmp_path / "x", "good_dat", ecg.sines(12, 500, 4), 500)  # a duplicate id
    ecg.write_wfdb(tmp_path, "slow", ecg.sines(12, 257, 10), 257)
    ds = open_dataset(tmp_path)
    monkeypatch.setattr(info_mod, "CHUNK", 3)  # several joblib tasks even on a small folder
    ticks = []
    out = dataset_info(ds, jobs=2, progress=ticks.append)
    assert out == dataset_info(ds, jobs=1)
    assert sum(ticks) == len(ds.refs()) == 13
    assert out["warnings"] == []
    assert (out["format"], out["records"], out["readable"]) == ("challenge", 14, 3)
    reasons = {e["record"]: e["reason"] for e in out["errors"]}
    assert len(out["errors"]) == 11 and set(reasons) == {*expected, "x/good_dat"}
    for rid, start in expected.items():
        assert reasons[rid].startswith(start)
    assert reasons["x/good_dat"] == (f"{tmp_path / 'x' / 'good_dat.hea'}: duplicate record id good_dat "
                                     f"(also {tmp_path / 'good_dat.hea'})")
    assert out["sampling_rates"] == {"257": 1, "500": 2}
    assert out["durations_s"] == {"min": 4.0, "median": 4.0, "max": 10.0}
    # good_mat has sinus rhythm alone: Normal; the .dat records have no labels at all
    assert out["labels"] == {"cpsc9": dict.fromkeys(CPSC9, 0) | {"Normal": 1}, "raw": {"426783006": 1}}
    assert json.loads(json.dumps(out)) == out


def test_info_cpsc_folder(tmp_path, ecg):
    expected = ecg.cpsc_folder(tmp_path)
    out = dataset_info(open_dataset(tmp_path))
    assert (out["format"], out["records"], out["readable"]) == ("cpsc2018", 6, 3)
    assert out["errors"] == [{"record": rid, "reason": msg} for rid, msg in expected.items()]
    assert out["labels"]["cpsc9"] == dict.fromkeys(CPSC9, 0) | {"Normal": 1, "AF": 1, "RBBB": 1}
    assert out["unlabelled"] == {"cpsc9": 1, "raw": 1}
    assert out["notes"] == {"labels_without_signal": 2}


def test_info_with_nothing_readable(tmp_path, ecg):
    ecg.write_wfdb(tmp_path, "short", ecg.sines(12, 500, 1), 500)
    out = dataset_info(open_dataset(tmp_path))
    assert (out["records"], out["readable"], out["labels"], out["sampling_rates"]) == (1, 0, {}, {})
    assert out["durations_s"] == {"min": None, "median": None, "max": None}
    assert out["errors"][0]["reason"].endswith("record is 1.00 s long, under the 2 s minimum")

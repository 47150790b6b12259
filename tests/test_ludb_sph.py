"""SPH (HDF5 + metadata.csv, AHA statement codes) and LUDB (WFDB + ludb.csv, free text) as datasets."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ecgfeat.datasets import LudbFolder, Sph, open_dataset
from ecgfeat.info import dataset_info
from ecgfeat.labels import labels_for
from ecgfeat.record import RecordError
from ecgfeat.vocab import LEADS

h5py = pytest.importorskip("h5py")

SPH_HEADER = "ECG_ID,AHA_Code,Patient_ID,Age,Sex,N,Date"


def by_id(ds):
    return {r.record_id: r for r in ds.refs()}


def write_sph(root, rows, ecg, seconds=10, sub="records"):
    """An SPH folder: <root>/records/<id>.h5 (`ecg` (12, N) float16 mV) and <root>/metadata.csv.
    `rows`: (ECG_ID, AHA_Code, Patient_ID, Age, Sex); returns {id: the float16 signal written}."""
    folder = root / sub
    folder.mkdir(parents=True, exist_ok=True)
    lines, written = [SPH_HEADER], {}
    for i, (rid, code, pid, age, sex) in enumerate(rows):
        sig = ecg.sines(12, 500, seconds).astype(np.float16) * np.float16(1 + 0.1 * i)
        with h5py.File(folder / f"{rid}.h5", "w") as f:
            f.create_dataset("ecg", data=sig)
        written[rid] = sig
        lines.append(f'{rid},"{code}",{pid},{age},{sex},{sig.shape[1]},2020-0{1 + i % 9}-15')
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return written


# ---------------------------------------------------------------- SPH


SPH_ROWS = [("A00001", "1", "P001", 45, "M"), ("A00002", "50+346;22", "P002", 71, "F"),
            ("A00003", "82", "P002", 72, "F"), ("A00004", "104", "P003", 60, "M"),
            ("A00005", "105", "P004", 33, "M"), ("A00006", "106;147", "P005", 58, "F"),
            ("A00007", "30+310", "P006", 64, "M"), ("A00008", "60+341", "P007", 80, "F"),
            ("A00009", "145+362", "P008", 55, "M"), ("A00010", "146+363", "P009", 49, "F"),
            ("A00011", "145", "P010", 50, "M"), ("A00012", "1;1", "P011", 18, "F"),
            ("A00013", "999", "P012", 95, "M"), ("A00014", "1;50", "P013", 70, "M")]
SPH_CPSC9 = {"A00001": ["Normal"], "A00002": ["AF"], "A00003": ["I-AVB"], "A00004": ["LBBB"], "A00005": [],
             "A00006": ["RBBB"], "A00007": ["PAC"], "A00008": ["PVC"], "A00009": ["STD"], "A00010": ["STE"],
             "A00011": [], "A00012": ["Normal"], "A00013": [], "A00014": ["AF"]}


def test_sph_folder_read_labelled_and_grouped_by_patient(tmp_path, ecg):
    written = write_sph(tmp_path, SPH_ROWS, ecg)
    ds = open_dataset(tmp_path)
    assert isinstance(ds, Sph) and ds.format == "sph"
    refs = by_id(ds)
    assert sorted(refs) == sorted(written)
    assert refs["A00003"].extra_dict() == {"patient_id": "P002"}
    for rid, want in SPH_CPSC9.items():
        rec = ds.read(refs[rid])
        assert labels_for(rec, "cpsc9") == want, (rid, rec.codes)
    rec = ds.read(refs["A00002"])
    assert rec.signal.dtype == np.float32 and rec.signal.shape == (12, 5000) and rec.fs == 500.0
    np.testing.assert_array_equal(rec.signal, written["A00002"].astype(np.float32))
    assert (rec.codes, rec.code_system, rec.age, rec.sex) == (("50+346", "22"), "aha", 71.0, "F")
    assert rec.meta["patient_id"] == "P002" and rec.meta["aha_code"] == "50+346;22"
    assert labels_for(ds.read(refs["A00013"]), "raw") == ["999"]     # unknown code: raw only
    assert ds.read(refs["A00012"]).codes == ("1",)                    # "1;1" (two such rows in SPH)
    resampled = ds.read(refs["A00001"], fs=250)
    assert resampled.fs == 250.0 and resampled.signal.shape == (12, 2500)


def test_sph_data_info_counts_labels(tmp_path, ecg):
    write_sph(tmp_path, SPH_ROWS, ecg)
    with open(tmp_path / "metadata.csv", "a") as fh:
        fh.write("A09999,1,P999,40,M,5000,2020-02-01\n")   # a row whose .h5 is absent: a partial download
    out = dataset_info(open_dataset(tmp_path))
    assert (out["format"], out["records"], out["readable"], out["errors"]) == ("sph", 14, 14, [])
    assert out["labels"]["cpsc9"] == {"Normal": 2, "AF": 2, "I-AVB": 1, "LBBB": 1, "RBBB": 1, "PAC": 1,
                                      "PVC": 1, "STD": 1, "STE": 1}
    assert out["unlabelled"]["cpsc9"] == 3 and out["labels"]["raw"]["999"] == 1
    assert out["notes"] == {"rows_without_signal": 1} and out["sampling_rates"] == {"500": 14}


def test_sph_data_info_cli(tmp_path, ecg):
    from typer.testing import CliRunner

    from ecgfeat.cli import app

    write_sph(tmp_path, SPH_ROWS[:3], ecg)
    res = CliRunner().invoke(app, ["data", "info", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert (out["format"], out["readable"], out["labels"]["cpsc9"]["AF"]) == ("sph", 3, 1)


def test_sph_bad_inputs_are_named_errors(tmp_path, ecg):
    rows = [("A1", "1", "P1", 50, "M"), ("A2", "5x;1", "P2", 50, "M"), ("A3", "1", "P3", 50, "M"),
            ("A4", "1", "P4", 50, "M"), ("A5", "1", "P5", 50, "M"), ("A6", "1", "P6", 50, "F")]
    written = write_sph(tmp_path, rows, ecg)
    rec_dir = tmp_path / "records"
    with h5py.File(rec_dir / "A3.h5", "w") as f:
        f.create_dataset("signal", data=written["A3"])          # no `ecg`
    with h5py.File(rec_dir / "A4.h5", "w") as f:
        f.create_dataset("ecg", data=written["A4"][:, :4000])   # shorter than metadata's N
    (rec_dir / "A5.h5").write_bytes(b"")
    with h5py.File(rec_dir / "A6.h5", "w") as f:
        f.create_dataset("ecg", data=written["A6"].T)           # samples x leads: read transposed
    ds = open_dataset(tmp_path)
    got = {ref.record_id: out for ref, out in ds.iter_records()}
    meta = tmp_path / "metadata.csv"
    assert got["A1"].signal.shape == (12, 5000)
    np.testing.assert_array_equal(got["A6"].signal, written["A6"].astype(np.float32))
    assert str(got["A2"]) == f"{meta} row A2: malformed AHA statement '5x' (expected codes like 50 or 50+346)"
    assert str(got["A3"]) == f"{rec_dir / 'A3.h5'}: no 'ecg' dataset in the HDF5 file"
    assert str(got["A4"]) == f"{rec_dir / 'A4.h5'}: truncated (4000 samples per lead, metadata.csv says 5000)"
    assert str(got["A5"]) == f"{rec_dir / 'A5.h5'}: empty file (0 bytes)"
    assert all(isinstance(got[r], RecordError) for r in ("A2", "A3", "A4", "A5"))


def test_sph_single_file_is_labelled_from_its_metadata(tmp_path, ecg):
    write_sph(tmp_path, SPH_ROWS[:2], ecg)
    ds = open_dataset(tmp_path / "records" / "A00002.h5")
    assert isinstance(ds, Sph) and [r.record_id for r in ds.refs()] == ["A00002"]
    assert labels_for(ds.read(ds.refs()[0]), "cpsc9") == ["AF"]


def test_a_metadata_csv_of_another_kind_is_not_sph(tmp_path, ecg):
    ecg.write_wfdb(tmp_path, "r1", ecg.sines(12, 500, 4), 500)
    (tmp_path / "metadata.csv").write_text("id,comment\nr1,fine\n")
    assert open_dataset(tmp_path).format == "wfdb"


# ---------------------------------------------------------------- LUDB

LUDB_COLUMNS = ["ID", "Sex", "Age", "Rhythms", "Electric axis of the heart", "Conduction abnormalities",
                "Extrasystolies", "Hypertrophies", "Cardiac pacing", "Ischemia",
                "Non-specific repolarization abnormalities", "Other states"]
# id -> (rhythm, axis, conduction, extrasystoles, hypertrophies, ischemia, repolarization), expected cpsc9
LUDB_ROWS = {
    "1": (("Sinus rhythm", "Electric axis of the heart: normal", "", "", "", "", ""), ["Normal"]),
    "2": (("Sinus rhythm", "Electric axis of the heart: vertical", "", "", "", "", ""), ["Normal"]),
    "3": (("Sinus rhythm", "Electric axis of the heart: left axis deviation", "", "", "", "", ""), []),
    "4": (("Sinus bradycardia", "Electric axis of the heart: normal", "", "", "", "", ""), []),
    "5": (("Atrial fibrillation", "", "", "", "Left ventricular hypertrophy", "", ""), ["AF"]),
    "6": (("Sinus rhythm", "", "I degree av block\nIncomplete left bundle branch block", "", "", "", ""), ["I-AVB"]),
    "7": (("Sinus rhythm", "", "Complete left bundle branch block", "", "", "", ""), ["LBBB"]),
    "8": (("Sinus rhythm", "", "Complete right bundle branch block", "", "", "", ""), ["RBBB"]),
    "9": (("Sinus rhythm", "", "Incomplete right bundle branch block", "", "", "", ""), []),
    "10": (("Sinus rhythm", "", "", "Atrial extrasystole, type: single pac\nAtrial extrasystole: sa-nodal extrasystole",
            "", "", ""), ["PAC"]),
    "11": (("Sinus rhythm", "", "", "Ventricular extrasystole, type: couplet", "", "", ""), ["PVC"]),
    "12": (("Sinus rhythm", "", "", "", "", "Stemi: septal\nIschemia: inferior wall", ""), []),
    "13": (("Sinus rhythm", "", "", "", "", "",
            "Non-specific repolarization abnormalities: inferior wall"), []),
}


def write_ludb(root, ecg, rows=LUDB_ROWS):
    for rid in rows:
        ecg.write_wfdb(root / "data", rid, ecg.sines(12, 500, 4), 500, names=[n.lower() for n in LEADS],
                       comments=["<age>: 51", "<sex>: F", "<diagnoses>:"])
    with open(root / "ludb.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LUDB_COLUMNS)
        for rid, ((rhythm, axis, cond, extra, hyp, isch, repol), _) in rows.items():
            w.writerow([rid, "M\n", f"{40 + int(rid)}\n", rhythm, axis, cond, extra, hyp, "", isch, repol, ""])


def test_ludb_folder_maps_free_text_to_cpsc9(tmp_path, ecg):
    write_ludb(tmp_path, ecg)
    ds = open_dataset(tmp_path)
    assert isinstance(ds, LudbFolder) and ds.format == "ludb"
    refs = by_id(ds)
    assert sorted(refs, key=int) == sorted(LUDB_ROWS, key=int)
    for rid, (_, want) in LUDB_ROWS.items():
        rec = ds.read(refs[rid])
        assert labels_for(rec, "cpsc9") == want, (rid, rec.codes)
    rec = ds.read(refs["6"])
    assert rec.codes == ("Sinus rhythm", "I degree av block", "Incomplete left bundle branch block")
    assert (rec.code_system, rec.age, rec.sex, rec.signal.shape) == ("ludb", 46.0, "M", (12, 2000))
    assert labels_for(rec, "raw") == list(rec.codes)
    out = dataset_info(ds)
    assert (out["format"], out["records"], out["readable"]) == ("ludb", 13, 13)
    assert out["labels"]["cpsc9"] == {"Normal": 2, "AF": 1, "I-AVB": 1, "LBBB": 1, "RBBB": 1, "PAC": 1,
                                      "PVC": 1, "STD": 0, "STE": 0}


def test_ludb_single_record_file_is_labelled_from_ludb_csv(tmp_path, ecg):
    write_ludb(tmp_path, ecg)
    ds = open_dataset(tmp_path / "data" / "5.hea")
    assert isinstance(ds, LudbFolder) and [r.record_id for r in ds.refs()] == ["5"]
    assert labels_for(ds.read(ds.refs()[0]), "cpsc9") == ["AF"]


def _independent_ludb_counts(path):
    """cpsc9 counts from ludb.csv by plain substring tests on its columns (not ecgfeat's parser)."""
    counts = dict.fromkeys(["Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE"], 0)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cond, extra = row["Conduction abnormalities"].lower(), row["Extrasystolies"].lower()
            hit = {"AF": "atrial fibrillation" in row["Rhythms"].lower(), "I-AVB": "i degree av block" in cond,
                   "LBBB": "complete left bundle branch block" in cond.replace("incomplete left", ""),
                   "RBBB": "complete right bundle branch block" in cond.replace("incomplete right", ""),
                   "PAC": "atrial extrasystole" in extra, "PVC": "ventricular extrasystole" in extra}
            others = [row[c] for c in LUDB_COLUMNS[5:]]
            axis = row["Electric axis of the heart"].strip().lower()
            normal = (row["Rhythms"].strip() == "Sinus rhythm" and not any(o.strip() for o in others)
                      and axis.split(": ")[-1] in ("normal", "vertical", "horizontal", ""))
            for cls, yes in hit.items():
                counts[cls] += yes
            counts["Normal"] += normal and not any(hit.values())
    return counts


@pytest.mark.realdata
def test_ludb_dev_data_info(shared_data):
    folder = shared_data / "ludb-dev"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    out = dataset_info(open_dataset(folder))
    assert (out["format"], out["records"], out["readable"], out["errors"]) == ("ludb", 100, 100, [])
    assert out["sampling_rates"] == {"500": 100}
    want = {"Normal": 11, "AF": 8, "I-AVB": 6, "LBBB": 2, "RBBB": 1, "PAC": 1, "PVC": 4, "STD": 0, "STE": 0}
    assert out["labels"]["cpsc9"] == want == _independent_ludb_counts(folder / "ludb.csv")
    assert out["labels"]["raw"]["Sinus rhythm"] == 73
    ds = open_dataset(folder)
    rec = ds.read(by_id(ds)["1"])
    assert (rec.age, rec.sex, rec.codes[0]) == (51.0, "F", "Sinus bradycardia")

"""The SPH and LUDB corpus (tests/corpus/extra.py) through the real CLI: `data info`, `extract` and
each record file alone. Every bad record gets its exact one-line reason naming the file at fault,
every odd-but-valid one is read right (signal, heart rate, raw statements), nothing else is lost."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.datasets import open_dataset
from ecgfeat.labels import labels_for
from ecgfeat.vocab import LEADS

from .build import EXTRA_FORMATS, EXTRA_KINDS, KINDS, NOT_APPLICABLE
from .extra import build_extra

pytest.importorskip("h5py")
pytestmark = pytest.mark.corpus
runner = CliRunner()
HR_TOL_BPM = 2.0


def invoke(*args):
    res = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res


def last_json(res) -> dict:
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    return build_extra(tmp_path_factory.mktemp("extra"))


def test_every_extra_kind_is_built_in_its_format_and_explained_elsewhere(extra):
    built = {k.name for fmt in EXTRA_FORMATS for k in extra[fmt][1]}
    assert built == set(EXTRA_KINDS) and set(EXTRA_KINDS) <= set(KINDS)
    for kind in EXTRA_KINDS:
        fmt = kind.split("_")[0]
        assert {k.name for k in extra[fmt][1]} >= {kind}
        assert all((kind, other) in NOT_APPLICABLE for other in ("wfdb", "challenge", "cpsc2018", "ptbxl"))


@pytest.mark.parametrize("fmt", EXTRA_FORMATS)
def test_data_info_names_every_bad_record_and_reads_the_rest(extra, fmt):
    folder, kinds, good = extra[fmt]
    ok = good + [k for k in kinds if k.expect == "ok"]
    bad = [k for k in kinds if k.expect != "ok"]
    res = invoke("data", "info", folder, "--json")
    assert res.exit_code == 0, res.output
    out = last_json(res)
    assert (out["format"], out["records"], out["readable"]) == (fmt, len(ok) + len(bad), len(ok))
    assert len(out["errors"]) == len(bad)
    assert {e["record"]: e["reason"] for e in out["errors"]} == {k.record: k.expect for k in bad}
    assert out["sampling_rates"] == {"500": len(ok)}
    if fmt == "sph":     # good records and the transposed one are coded "1" (Normal ECG)
        assert out["labels"]["cpsc9"]["Normal"] == len(ok) and out["unlabelled"]["cpsc9"] == 0
    else:                # the record without a ludb.csv row and the unknown diagnosis: no cpsc9 class
        assert out["labels"]["cpsc9"]["Normal"] == len(good) and out["unlabelled"]["cpsc9"] == 2


@pytest.mark.parametrize("fmt", EXTRA_FORMATS)
def test_ok_records_read_right(extra, fmt):
    folder, kinds, good = extra[fmt]
    ds = open_dataset(folder)
    refs = {r.record_id: r for r in ds.refs()}
    for k in good + [k for k in kinds if k.expect == "ok"]:
        rec = ds.read(refs[k.record])
        assert (rec.fs, rec.signal.shape, rec.signal.dtype, rec.leads) == (500.0, (12, k.n_samples), np.float32, LEADS), k.name
        np.testing.assert_allclose(rec.signal, k.signal, rtol=0, atol=k.atol, err_msg=k.name)
        if k.raw_codes is not None:
            assert rec.codes == k.raw_codes, (k.name, rec.codes)
        if k.name == "ludb_unparseable_diagnosis":
            assert labels_for(rec, "cpsc9") == [] and labels_for(rec, "raw") == list(k.raw_codes)


@pytest.mark.parametrize("fmt", EXTRA_FORMATS)
def test_extract_keeps_an_error_row_per_bad_record_and_measures_the_rest(extra, fmt, tmp_path):
    from ecgfeat.store import FeatureStore

    folder, kinds, good = extra[fmt]
    ok = good + [k for k in kinds if k.expect == "ok"]
    bad = [k for k in kinds if k.expect != "ok"]
    res = invoke("extract", folder, "--store", tmp_path / "store", "--features", "expert,rhythm", "--jobs", "1", "--json")
    assert res.exit_code == 0, res.output
    out = last_json(res)
    assert (out["records"], out["errors"]) == (len(ok) + len(bad), len(bad))
    data = FeatureStore(tmp_path / "store").read(fmt)
    assert dict(zip(data.errors["record_id"], data.errors["reason"])) == {k.record: k.expect for k in bad}
    assert Counter(data.errors["stage"]) == Counter({"read": len(bad)})
    for k in ok:
        assert abs(data.X.loc[k.record, "all__expert__hr_bpm"] - k.hr_bpm) <= HR_TOL_BPM, k.name


@pytest.mark.parametrize("fmt", EXTRA_FORMATS)
def test_each_bad_record_file_alone_is_a_one_line_error(extra, fmt):
    folder, kinds, _ = extra[fmt]
    for k in kinds:
        res = invoke("data", "info", k.entry, "--json")
        if k.expect == "ok":
            assert res.exit_code == 0 and last_json(res)["readable"] == 1, (k.name, res.output)
        else:
            lines = res.output.strip().splitlines()
            assert res.exit_code == 1 and lines[-1] == f"error: {k.expect}", (k.name, lines[-1:])

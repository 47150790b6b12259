"""Real records the tests never looked at one by one: `data info` then `extract` on whole folders.

By default the shared PhysioNet-format folders (../shared/data: challenge-wfdb and
cpsc2018-original whole, ptbxl-500 read whole by `data info` and its first 60 records extracted);
the tests skip with the reason when ../shared/data is absent. Any other PhysioNet-format folder can
be checked the same way: ECGFEAT_REAL_DATA=/path/one:/path/two pytest tests/corpus -k realdata.

What must hold on any folder: every record `data info` reads is read by `extract` too and gets its
features (a heart rate at least); whatever is unreadable is an error entry naming a file inside the
folder, the same record with the same reason in `data info` and in the store. The shared folders
are well-formed, so there nothing may be unreadable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data_path

from .test_corpus import FEATURES, invoke, last_json

SHARED = {"challenge-wfdb": None, "cpsc2018-original": None, "ptbxl-500": 60}   # folder: extract --limit
EXTRA = [p for p in os.environ.get("ECGFEAT_REAL_DATA", "").split(os.pathsep) if p]

pytestmark = [pytest.mark.corpus, pytest.mark.realdata]


def _check(folder: Path, store: Path, limit: int | None, well_formed: bool) -> None:
    from ecgfeat.store import FeatureStore

    res = invoke("data", "info", folder, "--json", "--jobs", "2")
    assert res.exit_code == 0, res.output
    info = last_json(res)
    unreadable = {e["record"]: e["reason"] for e in info["errors"]}
    assert info["readable"] + len(unreadable) == info["records"] > 0
    for reason in unreadable.values():
        assert reason.startswith(str(folder.resolve())) and "\n" not in reason, reason
    if well_formed:
        assert unreadable == {}

    args = ["extract", folder, "--store", store, "--features", FEATURES, "--jobs", "2", "--json"]
    res = invoke(*args, *(["--limit", limit] if limit else []))
    assert res.exit_code == 0, res.output
    out = last_json(res)
    data = FeatureStore(store).read(out["dataset"])
    extracted = set(data.info.index)
    assert out["records"] == (info["records"] if limit is None else limit) == len(extracted)
    read_errors = data.errors[data.errors["stage"] == "read"]
    assert dict(zip(read_errors["record_id"], read_errors["reason"])) == {
        r: why for r, why in unreadable.items() if r in extracted}
    readable = sorted(extracted - set(unreadable))
    assert readable and np.isfinite(data.X.loc[readable, "all__expert__hr_bpm"]).all()
    if well_formed:
        assert data.errors.empty, data.errors.to_dict("records")[:5]
        assert out["errors"] == 0


@pytest.mark.parametrize("name", list(SHARED))
def test_shared_real_folder_is_read_whole(name, tmp_path):
    folder = shared_data_path() / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    _check(folder, tmp_path / "store", SHARED[name], well_formed=True)


@pytest.mark.parametrize("path", EXTRA or [pytest.param(None, marks=pytest.mark.skip(
    reason="ECGFEAT_REAL_DATA not set (a os.pathsep-separated list of PhysioNet-format folders)"))])
def test_any_real_folder(path, tmp_path):
    _check(Path(path), tmp_path / "store", None, well_formed=False)


@pytest.mark.parametrize("name, rid, beats, bpm", [
    ("challenge-wfdb", "JS00002", 8, 51.7),   # SNOMED 426177001 sinus bradycardia; read as 199 bpm before
    ("ptbxl-500", "477", 5, 31.2),            # 5 QRS in 10 s (checked by eye); read as 114 bpm before
    ("ptbxl-500", "2", 7, 47.2),              # SBRAD
])
def test_slow_rhythms_are_not_counted_with_their_t_waves_and_noise(name, rid, beats, bpm):
    """The corpus' property tests found it on synthetic 40 bpm records: with few beats among the
    detection candidates, T waves and noise set the QRS level. These real records had it too."""
    from ecgfeat.datasets import open_dataset
    from ecgfeat.signal.beats import detect_beats

    ds = open_dataset(shared_data_path() / name)
    rec = ds.read({r.record_id: r for r in ds.refs()}[rid])
    found = detect_beats(rec.signal, rec.fs)
    assert len(found) == beats and 60 / np.mean(np.diff(found) / rec.fs) == pytest.approx(bpm, abs=0.1)

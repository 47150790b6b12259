"""The Parquet feature store: round trip, incremental supersede, errors, compaction, orphans, crash safety."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ecgfeat.store import FeatureStore, RecordResult, StoreError, StoreLockedError
from ecgfeat.store import _files
from ecgfeat.vocab import CPSC9

V = {"expert": "expert-1", "rhythm": "rhythm-1"}
ODD = 'V1__expert__amp("R").max'


def result(i: int, scale: float = 1.0, hash_: str | None = None, **kw) -> RecordResult:
    rid = f"r{i:03d}"
    expert = {f"{lead}__expert__qrs_ms": scale * (80 + i + k) for k, lead in enumerate(["I", "II", "V1"])}
    expert[ODD] = scale * 0.1 * i
    expert["V1__expert__maybe"] = None if i % 2 else 1.5
    info = {"path": f"/data/{rid}.mat", "fs": 500, "age": 40 + i if i % 3 else None, "sex": "F" if i % 2 else "M",
            "labels__cpsc9": ["AF;PVC", "Normal", "", None][i % 4], "labels__raw": ["2;7", "1", "", None][i % 4],
            "strat_fold": i % 10 + 1, "patient_id": f"p{i // 2}"}
    return RecordResult(rid, hash_ or f"h{i}", f"sig{i}", info,
                        {"expert": expert, "rhythm": {"all__rhythm__rr_cv": scale * i / 100}}, **kw)


def parts(root: Path, dataset="ds") -> dict[str, list[str]]:
    return {t.name: sorted(f.name for f in t.iterdir()) for t in sorted((root / dataset).iterdir())}


def test_round_trip_exact_values_and_dtypes(tmp_path):
    s = FeatureStore(tmp_path)
    out = s.write("ds", [result(i) for i in range(6)], V, source_path="/data", format="wfdb")
    assert out["rows"] == {"records": 6, "expert": 6, "rhythm": 6}
    d = s.read("ds")
    assert list(d.X.index) == [f"r{i:03d}" for i in range(6)] and d.X.index.name == "record_id"
    assert (d.X.dtypes == np.float32).all()
    assert d.feature_names == ["I__expert__qrs_ms", "II__expert__qrs_ms", "V1__expert__qrs_ms", ODD,
                               "V1__expert__maybe", "all__rhythm__rr_cv"]
    for i in range(6):
        row = d.X.loc[f"r{i:03d}"]
        assert row["II__expert__qrs_ms"] == np.float32(81 + i)
        assert row[ODD] == np.float32(0.1 * i)
        assert row["all__rhythm__rr_cv"] == np.float32(i / 100)
        assert np.isnan(row["V1__expert__maybe"]) if i % 2 else row["V1__expert__maybe"] == np.float32(1.5)
    info = d.info
    assert info.loc["r001", "path"] == "/data/r001.mat" and info.loc["r001", "sex"] == "F"
    assert str(info["age"].dtype) == "Int64" and pd.isna(info.loc["r003", "age"]) and info.loc["r001", "age"] == 41
    assert info.loc["r003", "labels__cpsc9"] is None and info.loc["r002", "labels__cpsc9"] == ""
    assert info.loc["r004", "source_hash"] == "h4" and info.loc["r004", "signature"] == "sig4"
    # plain pyarrow / pandas see the same names and float32 values without ecgfeat
    raw = pq.read_table(tmp_path / "ds" / "expert").to_pandas()
    assert ODD in raw.columns and raw[ODD].dtype == np.float32 and set(raw["feature_version"]) == {"expert-1"}
    summary = s.summary("ds")
    assert summary["records"] == 6 and summary["features"] == 6 and summary["errors"] == 0
    assert summary["families"] == {"expert": 5, "rhythm": 1} and summary["versions"] == V
    assert summary["records_by_family"] == {"expert": 6, "rhythm": 6} and summary["readable"] == 6
    assert summary["by_lead"] == {"I": 1, "II": 1, "V1": 3, "all": 1}
    assert summary["source_path"] == "/data" and summary["format"] == "wfdb" and summary["bytes"] > 0
    assert s.datasets() == ["ds"] and s.families("ds") == V


def test_status_reads_only_key_columns(tmp_path, monkeypatch):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)
    seen = []
    real = _files.read_part
    monkeypatch.setattr(_files, "read_part", lambda path, columns=None: seen.append(columns) or real(path, columns))
    st = s.status("ds")
    assert all(c is not None and len(c) <= 5 for c in seen)
    assert list(st.columns) == ["source_hash", "signature", "expert", "rhythm", "error_families"]
    assert st.loc["r002"].tolist() == ["h2", "sig2", "expert-1", "rhythm-1", ()]
    assert s.status("nope").empty


def test_rewritten_record_supersedes_older_rows(tmp_path):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(4)], V)
    s.write("ds", [result(1, scale=2.0, hash_="h1b")], {"expert": "expert-2", "rhythm": "rhythm-1"})
    assert parts(tmp_path)["expert"] == ["part-000001.parquet", "part-000002.parquet"]
    d = s.read("ds")
    assert d.X.index.is_unique and len(d.X) == 4
    assert d.X.loc["r001", "II__expert__qrs_ms"] == np.float32(2 * 82)
    assert d.X.loc["r002", "II__expert__qrs_ms"] == np.float32(83)
    st = s.status("ds")
    assert st.loc["r001", "source_hash"] == "h1b" and st.loc["r001", "expert"] == "expert-2"
    assert st.loc["r000", "expert"] == "expert-1"


def test_changed_source_drops_rows_of_families_not_recomputed(tmp_path):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)
    new = result(1, hash_="changed")
    del new.features["rhythm"]
    s.write("ds", [new], {"expert": "expert-1"})
    st = s.status("ds")
    assert st.loc["r001", "rhythm"] is None and st.loc["r002", "rhythm"] == "rhythm-1"
    assert np.isnan(s.read("ds").X.loc["r001", "all__rhythm__rr_cv"])


def test_errors_superseded_by_later_success_and_vice_versa(tmp_path):
    s = FeatureStore(tmp_path)
    bad = result(0)
    del bad.features["rhythm"]
    bad.errors = [("rhythm", "no R peaks\nfound")]
    unreadable = RecordResult("r009", "h9", "sig9", {"path": "/data/r009.mat"}, {}, [("read", "truncated file")])
    s.write("ds", [bad, result(1), unreadable], V)
    st = s.status("ds")
    assert st.loc["r000", "error_families"] == ("rhythm",) and st.loc["r000", "rhythm"] == "rhythm-1"
    assert st.loc["r009", "error_families"] == ("read",) and st.loc["r009", "expert"] is None
    d = s.read("ds")
    assert len(d.X) == 3 and np.isnan(d.X.loc["r000", "all__rhythm__rr_cv"]) and d.X.loc["r009"].isna().all()
    assert d.errors[["record_id", "stage", "reason"]].values.tolist() == [
        ["r000", "rhythm", "no R peaks found"], ["r009", "read", "truncated file"]]
    # a later failure of a family that had succeeded supersedes its features
    worse = result(1)
    del worse.features["expert"]
    worse.errors = [("expert", "lead II flat")]
    # touch: a new signature for unchanged content keeps the record-level error
    assert s.touch("ds", {"r009": "sig9b", "unknown": "x"}) == 1
    s.write("ds", [result(0), worse], V)
    st = s.status("ds")
    assert st.loc["r000", "error_families"] == () and st.loc["r001", "error_families"] == ("expert",)
    assert st.loc["r009", "error_families"] == ("read",) and st.loc["r009", "signature"] == "sig9b"
    d = s.read("ds")
    assert d.X.loc["r000", "all__rhythm__rr_cv"] == 0 and np.isnan(d.X.loc["r001", "II__expert__qrs_ms"])
    assert sorted(map(tuple, d.errors[["record_id", "stage"]].values)) == [("r001", "expert"), ("r009", "read")]
    # the record becomes readable: its new result states no record-level error
    s.write("ds", [result(9)], V)
    assert s.status("ds").loc["r009", "error_families"] == ()
    s.compact("ds")
    assert s.summary("ds")["errors"] == 1 and s.summary("ds")["errors_by_stage"] == {"expert": 1}


def test_compact_leaves_one_part_per_table_and_equal_content(tmp_path):
    s = FeatureStore(tmp_path)
    for k in range(5):
        batch = [result(i, scale=1 + k) for i in range(k * 3, k * 3 + 6)]
        batch[0].errors = [("read", "odd")] if k == 2 else []
        s.write("ds", batch, V)
    before = s.read("ds")
    out = s.compact("ds")
    assert out["rewritten"] and out["parts_after"] == 4
    assert all(len(names) == 1 for names in parts(tmp_path).values())
    after = s.read("ds")
    pd.testing.assert_frame_equal(before.X, after.X)
    pd.testing.assert_frame_equal(before.info, after.info)
    pd.testing.assert_frame_equal(before.errors, after.errors)
    assert s.compact("ds")["rewritten"] is False
    # plain pandas reads each record once, straight from the folders
    direct = pd.read_parquet(tmp_path / "ds" / "expert")
    assert len(direct) == 18 and direct["record_id"].is_unique
    assert pd.read_parquet(tmp_path / "ds" / "records")["record_id"].is_unique


def test_orphan_part_is_ignored_and_cleaned(tmp_path, monkeypatch):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)

    def killed(*a, **k):
        raise KeyboardInterrupt("killed before the manifest commit")
    monkeypatch.setattr(_files, "commit_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        s.write("ds", [result(i, scale=5) for i in range(5)], V)
    monkeypatch.undo()
    (tmp_path / "ds" / "expert" / ".part-000007.parquet.tmp-1234").write_bytes(b"PAR1 half")
    assert "part-000002.parquet" in parts(tmp_path)["expert"]
    d = FeatureStore(tmp_path).read("ds")
    assert len(d.X) == 3 and d.X.loc["r001", "II__expert__qrs_ms"] == np.float32(82)
    s2 = FeatureStore(tmp_path)
    s2.write("ds", [result(7)], V)
    # the orphans (part 2 of every table, the temp file) were deleted; seq 2 now holds r007
    assert parts(tmp_path)["expert"] == ["part-000001.parquet", "part-000002.parquet"]
    assert pq.read_table(tmp_path / "ds" / "expert" / "part-000002.parquet")["record_id"].to_pylist() == ["r007"]
    d = s2.read("ds")
    assert list(d.X.index) == ["r000", "r001", "r002", "r007"] and d.X.loc["r001", "II__expert__qrs_ms"] == 82


def test_compact_interrupted_before_or_after_its_commit(tmp_path, monkeypatch):
    s = FeatureStore(tmp_path)
    for k in range(3):
        s.write("ds", [result(i, scale=k + 1) for i in range(4)], V)
    want = s.read("ds")

    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(_files, "commit_manifest", boom)  # killed before the commit: new parts are orphans
    with pytest.raises(KeyboardInterrupt):
        s.compact("ds")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(FeatureStore(tmp_path).read("ds").X, want.X)
    monkeypatch.setattr(_files, "clean_dataset", boom)  # killed after the commit: old parts are orphans
    with pytest.raises(KeyboardInterrupt):
        FeatureStore(tmp_path).compact("ds")
    monkeypatch.undo()
    assert len(parts(tmp_path)["expert"]) == 5  # 3 old, the first attempt's orphan, the live one
    pd.testing.assert_frame_equal(FeatureStore(tmp_path).read("ds").X, want.X)
    FeatureStore(tmp_path).write("ds", [], V)  # the next writer deletes the orphans
    assert all(len(names) == 1 for names in parts(tmp_path).values())
    assert len(pd.read_parquet(tmp_path / "ds" / "expert")) == 4


def test_partial_result_and_touch_keep_family_rows(tmp_path):
    s = FeatureStore(tmp_path)
    partial = result(0)
    partial.errors = [("expert", "lead V1 flat")]  # features of the other leads are kept
    s.write("ds", [partial], V)
    assert s.status("ds").loc["r000", "error_families"] == ("expert",)
    assert s.touch("ds", {"r000": "newsig"}) == 1
    st, d = s.status("ds"), s.read("ds")
    assert st.loc["r000", "signature"] == "newsig" and st.loc["r000", "error_families"] == ("expert",)
    assert d.X.loc["r000", "II__expert__qrs_ms"] == 81 and d.info.loc["r000", "path"] == "/data/r000.mat"
    with pytest.raises(ValueError, match="has no version"):
        s.write("ds", [result(1)], {"expert": "e"})
    with pytest.raises(ValueError, match="invalid dataset name"):
        s.write("../x", [result(1)], V)


def test_read_leads_filter_record_level_and_families(tmp_path):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)
    assert s.read("ds", leads=["V1"]).feature_names == ["V1__expert__qrs_ms", ODD, "V1__expert__maybe",
                                                        "all__rhythm__rr_cv"]
    assert s.read("ds", leads=["I", "II"], record_level=False).feature_names == ["I__expert__qrs_ms",
                                                                                "II__expert__qrs_ms"]
    assert s.read("ds", families=["rhythm"]).feature_names == ["all__rhythm__rr_cv"]
    assert s.read("ds", families=["rhythm"], record_level=False).X.shape == (3, 0)
    with pytest.raises(StoreError, match="no feature family 'tsfresh'"):
        s.read("ds", families=["tsfresh"])
    with pytest.raises(StoreError, match="no dataset 'other'"):
        s.read("other")


def test_targets_folds_groups(tmp_path):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(5)], V)
    d = s.read("ds")
    assert list(d.y.columns) == list(CPSC9) and (d.y.dtypes == np.int8).all()
    assert d.y.loc["r000", ["AF", "PVC"]].tolist() == [1, 1] and d.y.loc["r000"].sum() == 2
    assert d.y.loc["r001", "Normal"] == 1 and d.y.loc["r002"].sum() == 0 and d.y.loc["r003"].sum() == 0
    assert d.labeled.tolist() == [True, True, True, False, True]
    assert d.folds.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert d.groups.tolist() == ["p0", "p0", "p1", "p1", "p2"]
    raw = s.read("ds", scheme="raw")
    assert raw.classes == ["1", "2", "7"] and raw.y.loc["r000"].tolist() == [0, 1, 1]
    plain = RecordResult("x1", "hx", "", {"path": "/x"}, {"expert": {"I__expert__a": 1.0}})
    s.write("plain", [plain], {"expert": "e1"})
    d = s.read("plain", scheme="ptbxl-super")
    assert np.isnan(d.folds["x1"]) and d.groups["x1"] == "x1" and not d.labeled["x1"] and d.y.shape == (1, 5)
    with pytest.raises(ValueError, match="unknown label scheme"):
        s.read("ds", scheme="nope")


def test_lock_refuses_second_writer(tmp_path):
    a, b = FeatureStore(tmp_path), FeatureStore(tmp_path)
    with a.lock():
        a.write("ds", [result(0)], V)  # re-entrant for its holder
        with pytest.raises(StoreLockedError, match=f"{tmp_path}: feature store is locked by another writer"):
            b.write("ds", [result(1)], V)
        t0 = time.monotonic()
        with pytest.raises(StoreLockedError):
            with b.lock(timeout=0.3):
                pass
        assert time.monotonic() - t0 >= 0.3
        assert len(b.read("ds").X) == 1  # readers take no lock
    b.write("ds", [result(1)], V)
    assert len(a.read("ds").X) == 2


def test_corrupt_files_give_one_line_errors(tmp_path):
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)
    manifest = tmp_path / "manifest.json"
    good = manifest.read_text()
    manifest.write_text(good[: len(good) // 2])
    with pytest.raises(StoreError, match="manifest.json: corrupt manifest"):
        s.read("ds")
    with pytest.raises(StoreError, match="corrupt manifest"):
        s.write("ds", [result(4)], V)
    manifest.unlink()
    with pytest.raises(StoreError, match="manifest is missing but the store holds part files"):
        s.status("ds")
    manifest.write_text(good)
    part = tmp_path / "ds" / "expert" / "part-000001.parquet"
    part.write_bytes(part.read_bytes()[:200])
    with pytest.raises(StoreError) as err:
        s.read("ds")
    assert str(part) in str(err.value) and "\n" not in str(err.value)
    part.unlink()
    with pytest.raises(StoreError, match="part-000001.parquet: part file listed in .* is missing"):
        s.read("ds")


# ----------------------------------------------------------------------------- crash safety

WRITER = r'''
import sys
from ecgfeat.store import FeatureStore, RecordResult

N, BATCH = 240, 3
VERSIONS = {"expert": "e1", "rhythm": "r1"}


def compute(i):
    rid = f"rec{i:04d}"
    info = {"path": f"/d/{rid}", "labels__cpsc9": "AF" if i % 3 else "Normal", "strat_fold": i % 10 + 1}
    if i % 17 == 0:
        return RecordResult(rid, f"h{i}", f"s{i}", {"path": info["path"]}, {}, [("read", f"bad file {i}")])
    feats = {"expert": {f"{lead}__expert__f{k}": i * 1000.0 + k for lead in ("I", "V1") for k in range(20)}}
    errors = []
    if i % 5 == 0:
        errors.append(("rhythm", "too few beats"))
    else:
        feats["rhythm"] = {"all__rhythm__rr_cv": i / 7}
    return RecordResult(rid, f"h{i}", f"s{i}", info, feats, errors)


def todo(store):
    st = store.status("ds")
    out = []
    for i in range(N):
        rid = f"rec{i:04d}"
        if rid in st.index and ("read" in st.at[rid, "error_families"] or all(
                st.at[rid, f] == v for f, v in VERSIONS.items())):
            continue
        out.append(i)
    return out


def main(root, announce=False):
    store = FeatureStore(root)
    with store.lock():
        work = todo(store)
        if announce:
            print("ready", flush=True)
        for k in range(0, len(work), BATCH):
            store.write("ds", [compute(i) for i in work[k:k + BATCH]], VERSIONS)
            if (k // BATCH) % 9 == 8:
                store.compact("ds")
        store.compact("ds")
    return len(work)


if __name__ == "__main__":
    main(sys.argv[1], announce=True)
'''


def _snapshot(store):
    d = store.read("ds")
    return d, store.status("ds")


def test_sigkill_at_any_moment_leaves_a_readable_store(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    module = runpy.run_path(str(script), run_name="writer")
    clean_root = tmp_path / "clean"
    assert module["main"](clean_root) == 240
    clean, clean_status = _snapshot(FeatureStore(clean_root))

    root = tmp_path / "crashy"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    killed_with_work_left = 0
    for delay in (0.15, 0.3, 0.6):
        proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = FeatureStore(root)
        if "ds" not in store.datasets():
            continue
        d, st = _snapshot(store)
        killed_with_work_left += len(d.X) < 240
        print(f"killed after {delay} s: {len(d.X)} records, parts {sum(map(len, parts(root).values()))}")
        assert d.X.index.is_unique and st.index.is_unique and d.info.index.is_unique
        assert not d.errors.duplicated(["record_id", "stage"]).any()
        # whatever is there is complete and right: every present record equals the clean run's
        pd.testing.assert_frame_equal(d.X, clean.X.loc[d.X.index, d.X.columns])
        pd.testing.assert_frame_equal(d.info, clean.info.loc[d.info.index, d.info.columns], check_dtype=False)
    assert killed_with_work_left >= 1, "the writer finished before any kill: make it slower"
    module["main"](root)
    store = FeatureStore(root)
    d, st = _snapshot(store)
    pd.testing.assert_frame_equal(d.X, clean.X)
    pd.testing.assert_frame_equal(d.y, clean.y)
    pd.testing.assert_frame_equal(d.info, clean.info)
    pd.testing.assert_frame_equal(d.errors, clean.errors)
    pd.testing.assert_series_equal(d.folds, clean.folds)
    pd.testing.assert_frame_equal(st, clean_status)
    assert module["main"](root) == 0  # a second run over unchanged data computes nothing
    # no orphans or temp files remain; the folders read directly hold each record once
    manifest = json.loads((root / "manifest.json").read_text())
    for table, names in parts(root).items():
        assert names == manifest["datasets"]["ds"]["tables"][table]
    direct = pd.read_parquet(root / "ds" / "expert")
    assert direct["record_id"].is_unique and len(direct) == len(clean.X) - 15


def test_compact_feature_rows_store_what_dicts_store(tmp_path):
    """Workers send FeatureRows (names once, float32 values); the tables equal those of dicts, bit for bit,
    also when the rows of one batch carry different columns (a dict and FeatureRows mixed)."""
    from ecgfeat.store.results import FeatureRow, compact_features

    dicts = [result(i) for i in range(6)]
    rows = [result(i) for i in range(6)]
    for r in rows:
        r.features = compact_features(r.features)
    assert isinstance(rows[0].features["expert"], FeatureRow)
    assert rows[0].features["expert"].names is rows[5].features["expert"].names   # one tuple: pickled once
    assert rows[1].features["expert"].values.dtype == np.float32
    mixed = [result(i) for i in range(6)]
    mixed[2].features["expert"]["V2__expert__extra"] = 2.5                      # other columns: the dict path
    for r in mixed[3:]:
        r.features = compact_features(r.features)
    a, b, c = FeatureStore(tmp_path / "a"), FeatureStore(tmp_path / "b"), FeatureStore(tmp_path / "c")
    a.write("ds", dicts, V)
    b.write("ds", rows, V)
    c.write("ds", mixed, V)
    for fam in ("expert", "rhythm"):
        ta, tb = (pq.read_table(tmp_path / x / "ds" / fam) for x in "ab")
        assert ta.schema == tb.schema
        pd.testing.assert_frame_equal(ta.to_pandas(), tb.to_pandas(), check_exact=True)
    tc = pq.read_table(tmp_path / "c" / "ds" / "expert").to_pandas().set_index("record_id")
    ta = pq.read_table(tmp_path / "a" / "ds" / "expert").to_pandas().set_index("record_id")
    assert tc["V2__expert__extra"].isna().sum() == 5 and tc.loc["r002", "V2__expert__extra"] == np.float32(2.5)
    pd.testing.assert_frame_equal(tc.drop(columns="V2__expert__extra"), ta)
    # a value that is not a number stays a dict, and the store names it
    bad = result(9)
    bad.features["rhythm"]["all__rhythm__rr_cv"] = "n/a"
    bad.features = compact_features(bad.features)
    assert isinstance(bad.features["rhythm"], dict)
    with pytest.raises(ValueError, match="feature 'all__rhythm__rr_cv' of family 'rhythm' is not a number"):
        a.write("ds", [bad], V)


def test_any_commit_drops_the_warm_fingerprint(tmp_path):
    """extract's warm path trusts a fingerprint only until the dataset's next commit (store/warm.py)."""
    s = FeatureStore(tmp_path)
    s.write("ds", [result(i) for i in range(3)], V)
    s.remember_warm("ds", "k", {"fingerprint": "f", "out": {}})
    manifest = lambda: json.loads((tmp_path / "manifest.json").read_text())  # noqa: E731
    assert manifest()["datasets"]["ds"]["warm"] == {"k": {"fingerprint": "f", "out": {}}}
    s.write("ds", [result(1, scale=2.0)], V)
    assert "warm" not in manifest()["datasets"]["ds"]
    s.remember_warm("ds", "k", {"fingerprint": "f", "out": {}})
    s.compact("ds")                                   # rewrites two parts into one: a commit
    assert "warm" not in manifest()["datasets"]["ds"]
    s.remember_warm("ds", "k", {"fingerprint": "f", "out": {}})
    s.touch("ds", {"r000": "new-sig"})
    assert "warm" not in manifest()["datasets"]["ds"]

"""The hardening corpus through the real CLI: `data info`, `extract` and `predict` on every kind.

For each format the three commands run once on the folder holding every kind (plus good records):
each must exit 0, give every bad record an error entry whose one-line reason is exactly the
expected one (naming the file at fault), read every odd-but-valid record right, and lose nothing
else. Then each record file alone: a bad one exits 1 with `error: <reason>`, a good one is read.
No output may hold a traceback.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.datasets import open_dataset
from ecgfeat.labels import labels_for
from ecgfeat.vocab import LEADS

from .build import FORMATS, KINDS, NOT_APPLICABLE, Kind

pytestmark = pytest.mark.corpus
runner = CliRunner()
FEATURES = "expert,rhythm"   # the beat-based families: what a bad record can break (tsfresh adds time only)
HR_TOL_BPM = 2.0


def invoke(*args):
    res = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def last_json(res) -> dict:
    return json.loads(res.stdout.strip().splitlines()[-1])


def matches(reason: str, k: Kind) -> bool:
    return reason.startswith(k.expect) if k.prefix else reason == k.expect


def rate_key(fs: float) -> str:
    return str(int(fs)) if float(fs).is_integer() else f"{fs:g}"


def split(corpus, fmt) -> tuple[list[Kind], list[Kind]]:
    recs = corpus.records(fmt)
    return [k for k in recs if k.expect == "ok"], [k for k in recs if k.expect != "ok"]


@pytest.fixture(scope="module")
def runs(corpus, corpus_model, tmp_path_factory):
    """{format: {"info", "extract", "rerun", "predict": CLI results, "store": FeatureStore data}}."""
    from ecgfeat.store import FeatureStore

    out = {}
    for fmt in FORMATS:
        folder = corpus.folders[fmt]
        store = tmp_path_factory.mktemp(f"store-{fmt}")
        jobs = "2" if fmt == "challenge" else "1"   # one format through the joblib workers too
        r = {"info": invoke("data", "info", folder, "--json"),
             "extract": invoke("extract", folder, "--store", store, "--features", FEATURES, "--jobs", jobs, "--json"),
             "rerun": invoke("extract", folder, "--store", store, "--features", FEATURES, "--jobs", "1", "--json"),
             "predict": invoke("predict", folder, "--model", corpus_model, "--json")}
        r["store"] = FeatureStore(store).read(fmt)
        out[fmt] = r
    return out


def test_every_kind_is_built_or_explained_in_every_format(corpus):
    for fmt in FORMATS:
        built = {k.name for k in corpus.of(fmt)} | set(corpus.folder_kinds[fmt])
        assert built <= set(KINDS), built - set(KINDS)
        for kind in KINDS:
            explained = (kind, fmt) in NOT_APPLICABLE
            assert (kind in built) != explained, (fmt, kind, "built" if explained else "neither built nor explained")
        assert len(built) >= 20, (fmt, len(built))
    assert len(KINDS) >= 20
    assert all(fmt in FORMATS for _, fmt in NOT_APPLICABLE)


@pytest.mark.parametrize("fmt", FORMATS)
def test_data_info_reports_every_bad_record_and_reads_the_rest(corpus, runs, fmt):
    res, folder = runs[fmt]["info"], corpus.folders[fmt]
    assert res.exit_code == 0, res.output
    out = last_json(res)
    ok, bad = split(corpus, fmt)
    assert (out["path"], out["format"], out["records"], out["readable"]) == (str(folder), fmt, len(ok) + len(bad), len(ok))
    reasons = {e["record"]: e["reason"] for e in out["errors"]}
    assert len(reasons) == len(out["errors"]) == len(bad)
    assert set(reasons) == {k.record for k in bad}
    wrong = [(k.id, k.expect, reasons[k.record]) for k in bad if not matches(reasons[k.record], k)]
    assert not wrong, "\n".join(f"{i}:\n  want {w}\n  got  {g}" for i, w, g in wrong)
    assert all("\n" not in r for r in reasons.values())
    # the odd-but-valid records: their rates and durations, one warning (the flat leads), their labels
    assert out["sampling_rates"] == dict(sorted(Counter(rate_key(k.fs) for k in ok).items(), key=lambda kv: float(kv[0])))
    durations = [k.n_samples / k.fs for k in ok]
    assert out["durations_s"] == {"min": round(min(durations), 3), "median": round(statistics.median(durations), 3),
                                  "max": round(max(durations), 3)}
    assert out["durations_s"]["max"] == 300.0
    assert out["warnings"] == [{"record": k.record, "reason": k.warning} for k in ok if k.warning]
    assert out["labels"]["cpsc9"]["Normal"] == len(ok) and sum(out["labels"]["cpsc9"].values()) == len(ok)
    assert out["unlabelled"]["cpsc9"] == 0
    if fmt == "challenge":   # an unknown (numeric) SNOMED code is kept as a raw code, not an error
        assert out["labels"]["raw"] == {"426783006": len(ok), "999999999": 1}
    if fmt == "ptbxl":
        assert out["labels"]["ptbxl-super"] == {"NORM": len(ok), "MI": 0, "STTC": 0, "CD": 0, "HYP": 0}
    if fmt == "cpsc2018":    # the REFERENCE.csv row without its .mat: a partial download, a note
        assert out["notes"] == {"labels_without_signal": 1}
    # the human summary on stderr names the folder verbatim (its "[/b]" is not markup) and every error
    assert f"{folder}: format {fmt}, {len(ok) + len(bad)} records, {len(ok)} readable, {len(bad)} errors" in res.stderr
    assert "[/b]" in str(folder) and sum(ln.startswith("error: ") for ln in res.stderr.splitlines()) == min(len(bad), 20)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ok_records_read_right(corpus, fmt):
    """Odd but valid: fs, length, the 12 standard leads in order, values within the ADC quantisation."""
    ds = open_dataset(corpus.folders[fmt])
    refs = {r.record_id: r for r in ds.refs()}
    ok, _ = split(corpus, fmt)
    for k in ok:
        rec = ds.read(refs[k.record])
        assert (rec.fs, rec.signal.shape, rec.signal.dtype, rec.leads) == (k.fs, (12, k.n_samples), np.float32, LEADS), k.id
        np.testing.assert_allclose(rec.signal, k.signal, rtol=0, atol=k.atol, err_msg=k.id)
        if k.raw_codes is not None:
            assert rec.codes == k.raw_codes and labels_for(rec, "cpsc9") == ["Normal"], k.id
        if k.demographics is not None:
            assert (rec.age, rec.sex) == k.demographics, k.id
        assert rec.meta.get("flat_leads", []) == list(k.nan_leads), k.id


@pytest.mark.parametrize("fmt", FORMATS)
def test_extract_stores_an_error_row_per_bad_record_and_features_for_the_rest(corpus, runs, fmt):
    res = runs[fmt]["extract"]
    assert res.exit_code == 0, res.output
    out = last_json(res)
    ok, bad = split(corpus, fmt)
    assert (out["records"], out["errors"], out["skipped"]) == (len(ok) + len(bad), len(bad), 0)
    data = runs[fmt]["store"]
    # error rows: exactly the bad records, each read error once with its reason; no feature error at all
    errs = data.errors
    assert set(errs["stage"]) == {"read"} and errs["record_id"].is_unique
    got = dict(zip(errs["record_id"], errs["reason"]))
    assert set(got) == {k.record for k in bad}
    wrong = [(k.id, k.expect, got[k.record]) for k in bad if not matches(got[k.record], k)]
    assert not wrong, "\n".join(f"{i}:\n  want {w}\n  got  {g}" for i, w, g in wrong)
    # features: every readable record has them, measured right (the simulator's heart rate)
    X = data.X
    assert X.index.is_unique and {k.record for k in ok} <= set(X.index)
    for k in ok:
        row = X.loc[k.record]
        assert abs(row["all__expert__hr_bpm"] - k.hr_bpm) <= HR_TOL_BPM, (k.id, row["all__expert__hr_bpm"], k.hr_bpm)
        assert np.isfinite(row[["all__expert__qrs_ms", "all__expert__qt_ms", "all__rhythm__rr_mean_ms"]]).all(), k.id
        for lead in LEADS:
            lead_cols = [c for c in X.columns if c.startswith(f"{lead}__")]
            if lead in k.nan_leads or lead in k.low_quality_leads:
                assert row[lead_cols].isna().all(), (k.id, lead)
            else:
                assert np.isfinite(row[f"{lead}__expert__r_amp_mv"]), (k.id, lead)
    for k in bad:
        if k.record in X.index:
            assert X.loc[k.record].isna().all(), k.id
    # a second run computes nothing: every record, bad ones included, is settled in the store
    again = last_json(runs[fmt]["rerun"])
    assert (again["computed"], again["skipped"], again["errors"]) == (0, len(ok) + len(bad), 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_predict_labels_every_readable_record_and_lists_the_rest(corpus, runs, fmt):
    res = runs[fmt]["predict"]
    assert res.exit_code == 0, res.output
    out = last_json(res)
    ok, bad = split(corpus, fmt)
    ids = [r["record"] for r in out["records"]]
    assert sorted(ids) == sorted(k.record for k in ok)
    classes = set(out["records"][0]["probabilities"])
    assert len(classes) == 9
    for r in out["records"]:
        assert set(r["probabilities"]) == classes and all(0 <= p <= 1 for p in r["probabilities"].values())
        assert set(r["labels"]) <= classes
    got = {e["record"]: e["reason"] for e in out["errors"]}
    assert len(got) == len(out["errors"]) == len(bad) and set(got) == {k.record for k in bad}
    wrong = [(k.id, k.expect, got[k.record]) for k in bad if not matches(got[k.record], k)]
    assert not wrong, "\n".join(f"{i}:\n  want {w}\n  got  {g}" for i, w, g in wrong)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_record_file_alone(corpus, corpus_model, tmp_path, fmt):
    """`data info FILE` and `predict FILE`: a bad record exits 1 with one line `error: <reason>`.
    `extract FILE` keeps the error as a row in the store, as for a folder, and exits 0."""
    from ecgfeat.store import FeatureStore

    singles = [k for k in corpus.of(fmt) if k.single and k.record]
    assert len(singles) >= 15
    failures = []
    for k in singles:
        store = tmp_path / k.name
        res = invoke("extract", k.entry, "--store", store, "--features", FEATURES, "--jobs", "1", "--json")
        out = last_json(res) if res.exit_code == 0 else {}
        dataset = out.get("dataset")
        if (out.get("records"), out.get("errors")) != (1, int(k.expect != "ok")):
            failures.append((k.id, "extract", res.output))
        elif k.expect != "ok":
            (reason,) = FeatureStore(store).read(out["dataset"]).errors["reason"]
            if not matches(reason, k):
                failures.append((k.id, "extract", f"{reason}\n  want {k.expect}"))
        for cmd in (("data", "info", k.entry, "--json"), ("predict", k.entry, "--model", corpus_model, "--json")):
            res = invoke(*cmd)
            if k.expect == "ok":
                if res.exit_code != 0:
                    failures.append((k.id, cmd[0], res.output))
                    continue
                out = last_json(res)
                if cmd[0] == "data":
                    good = (out["records"], out["readable"], out["sampling_rates"]) == (1, 1, {rate_key(k.fs): 1})
                else:
                    # one record id everywhere: predict names the record as the store (train, explain) does
                    stored = [str(r) for r in FeatureStore(store).read(dataset).info.index] if dataset else None
                    good = [r["record"] for r in out["records"]] == stored and out["errors"] == []
                if not good:
                    failures.append((k.id, cmd[0], res.stdout))
            else:  # the last line (after the progress bar), the only one that says error
                lines = res.output.strip().splitlines()
                want = f"error: {k.expect}"
                errors = [ln for ln in lines if ln.startswith("error")]
                if res.exit_code != 1 or errors != lines[-1:] or not (
                        lines[-1].startswith(want) if k.prefix else lines[-1] == want):
                    failures.append((k.id, cmd[0], f"exit {res.exit_code}: {lines[-1:]}\n  want {want}"))
    assert not failures, "\n".join(f"{i} ({c}): {o}" for i, c, o in failures)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_folder_without_records_is_a_one_line_error_for_every_command(corpus, corpus_model, tmp_path, fmt):
    folder = corpus.empty[fmt]
    if fmt == "ptbxl":
        want = f"error: {folder}: no record of ptbxl_database.csv found under records500/"
    else:
        want = (f"error: {folder}: no ECG records found (looked for ptbxl_database.csv, WFDB .hea headers, "
                "and CPSC 2018 .mat files with REFERENCE.csv)")
    for cmd in (("data", "info", folder, "--json"),
                ("extract", folder, "--store", tmp_path / "store", "--features", FEATURES, "--jobs", "1", "--json"),
                ("predict", folder, "--model", corpus_model, "--json")):
        res = invoke(*cmd)
        assert (res.exit_code, res.output.strip()) == (1, want), cmd


@pytest.mark.parametrize("fmt", FORMATS)
def test_symlink_loops_and_empty_subfolders_are_in_every_folder(corpus, fmt):
    """The folder-level kinds are really there (the batch tests above then show they cost nothing)."""
    folder = corpus.folders[fmt]
    links = [Path(d) / n for d, dirs, _ in os.walk(folder) for n in dirs if (Path(d) / n).is_symlink()]
    assert len(links) == 2 and all(folder == p.resolve() or folder in p.resolve().parents for p in links)
    assert (folder / "empty_subfolder").is_dir() and not any((folder / "empty_subfolder").iterdir())
    assert {"symlink_loop", "empty_subfolder", "empty_dataset", "markup_in_path"} <= set(corpus.folder_kinds[fmt])


def test_predict_refuses_a_model_trained_on_other_feature_versions(corpus, corpus_model, tmp_path):
    import shutil

    from ecgfeat.features.settings import VERSIONS

    config = json.loads((corpus_model / "config.json").read_text())
    assert config["feature_versions"] == {f: VERSIONS[f] for f in config["families"]} == {
        "expert": VERSIONS["expert"], "rhythm": VERSIONS["rhythm"]}
    old = shutil.copytree(corpus_model, tmp_path / "old-model")
    config["feature_versions"]["expert"] = "0"
    (old / "config.json").write_text(json.dumps(config))
    res = invoke("predict", corpus.good["wfdb"][0].entry, "--model", old, "--json")
    assert res.exit_code == 1 and res.output.strip() == (
        f"error: {old}: trained on feature versions {{'expert': '0'}}, this ecgfeat computes {VERSIONS}; retrain")

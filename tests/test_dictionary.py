"""The feature dictionary (ecgfeat/features/dictionary.py) against the columns the extractor really
produces, its accuracy table, docs/features.md, and `ecgfeat features`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.features import FeatureSettings, extract_features
from ecgfeat.features.dictionary import (ACCURACY, FAMILY_CHOICES, SOURCES, UnknownFeature, entries, lookup,
                                         to_markdown)
from ecgfeat.features.dictionary_tsfresh import CALCULATORS, EFFICIENT_PARAMETERS, NO_COLUMNS
from ecgfeat.features.settings import VERSIONS
from ecgfeat.record import Record
from ecgfeat.synth.assemble import make_record
from ecgfeat.vocab import LEADS

runner = CliRunner()
DOC = Path(__file__).resolve().parents[1] / "docs" / "features.md"

# The morphology columns of issue 15 (features/morphology.py), documented before the module lands:
# tolerated as "documented but not extracted" exactly while the expert family is at version 3.
MORPHOLOGY_PER_LEAD = ("q_ms", "r_ms", "s_ms", "r2_amp_mv", "s2_amp_mv", "rsr_prime", "q_r_ratio", "pathological_q",
                       "r_peak_time_ms", "j_mv", "st80_mv", "t_pos_mv", "t_neg_mv", "t_symmetry", "tpeak_tend_ms",
                       "p_pos_mv", "p_neg_mv", "t_area_mvms", "qrs_fragmented")
MORPHOLOGY_RECORD = ("ptf_v1_mvms", "transition_zone", "r_progression_mv_per_lead", "poor_r_progression",
                     "low_voltage_limb", "low_voltage_precordial", "qt_dispersion_ms", "spatial_qrst_angle_deg",
                     "cornell_product_mvms", "q_inferior_n", "q_anterior_n", "q_lateral_n", "st_inferior_mv",
                     "st_anterior_mv", "st_lateral_mv")
MORPHOLOGY = ({f"{lead}__expert__{f}" for lead in LEADS for f in MORPHOLOGY_PER_LEAD}
              | {f"all__expert__{f}" for f in MORPHOLOGY_RECORD})


def pending() -> set[str]:
    """Documented columns the extractor may still lack (none once expert is past version 3)."""
    return MORPHOLOGY if VERSIONS["expert"] == "3" else set()


def _record(seed: int, labels=("Normal",)) -> Record:
    signal, _, _ = make_record(list(labels), 500.0, 10.0, np.random.default_rng(seed))
    return Record(f"dict{seed}", signal.astype(np.float32), 500.0, source=f"/data/dict{seed}.dat")


@pytest.fixture(scope="module")
def extracted() -> dict[str, dict[str, float]]:
    """Every family (default settings: expert, rhythm, tsfresh fast, quality) of one synthetic record."""
    feats, errors = extract_features(_record(3), FeatureSettings())
    assert errors == [], errors
    assert set(feats) == {"expert", "rhythm", "tsfresh-fast", "quality"}
    return feats


def _documented() -> set[str]:
    return {c for e in entries() if e.columns is not None for c in e.columns}


def test_every_extracted_column_has_an_entry_of_its_family_and_table(extracted):
    missing, wrong = [], []
    for table, row in extracted.items():
        for col in row:
            try:
                e = lookup(col)
            except UnknownFeature:
                missing.append(col)
                continue
            if e.table != table or e.family != col.split("__")[1] or not e.matches(col):
                wrong.append((col, e.name, e.table))
    assert not missing, f"{len(missing)} extracted columns have no dictionary entry, e.g. {missing[:8]}"
    assert not wrong, wrong[:8]


def test_no_entry_is_stale(extracted):
    """An entry whose columns the extractor does not produce fails, except the pending morphology list."""
    produced = {c for row in extracted.values() for c in row}
    stale = _documented() - produced
    assert stale <= pending(), f"{len(stale - pending())} documented columns are not extracted, e.g. {sorted(stale - pending())[:8]}"
    assert pending() <= _documented()          # the tolerance covers documented columns only
    for e in entries():                       # every fixed-name entry produces at least one column
        if e.columns is not None and not set(e.columns) <= pending():
            assert produced & set(e.columns), e.name


def test_json_lists_every_stored_column(extracted):
    res = runner.invoke(app, ["features", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    listed = {c for e in d["entries"] if e["columns"] for c in e["columns"]}
    produced = {c for row in extracted.values() for c in row}
    assert produced <= listed and listed - produced <= pending()
    assert d["n_columns"] == len(listed) and d["n_entries"] == len(entries())


def test_efficient_set_columns_resolve_and_every_calculator_is_used():
    pytest.importorskip("tsfresh")
    from tsfresh.feature_extraction import EfficientFCParameters

    assert set(CALCULATORS) == set(EfficientFCParameters())           # the calculators tsfresh runs
    assert set(EFFICIENT_PARAMETERS) == {c for c, p in EfficientFCParameters().items() if p}
    from ecgfeat.features.extract import tsfresh_input
    from ecgfeat.features.tsfresh_fast import tsfresh_efficient

    # what extract_features stores for the efficient set (features/extract.py tsfresh_family), on two of
    # the 12 leads: the names do not depend on the lead, and tsfresh itself is slow
    rec = _record(4)
    cols = tsfresh_efficient(tsfresh_input(rec)[[LEADS.index("II"), LEADS.index("V1")]], ["II", "V1"])
    assert len(cols) > 2 * 700
    bad = []
    for col in cols:
        try:
            if lookup(col).table not in ("tsfresh-efficient", "tsfresh-fast"):
                bad.append(col)
        except UnknownFeature:
            bad.append(col)
    assert not bad, bad[:8]
    unused = [e.name for e in entries("tsfresh-efficient") if not any(e.matches(c) for c in cols)]
    assert not unused, unused
    assert not [c for c in cols if any(f"__tsfresh__{calc}" in c for calc in NO_COLUMNS)]
    # a column both sets compute has the same value in both, so the fast entry describes it
    fast = extract_features(rec, FeatureSettings(families=("tsfresh",)))[0]["tsfresh-fast"]
    shared = sorted(set(fast) & set(cols))
    assert len(shared) >= 2 * 20
    assert [fast[c] for c in shared] == pytest.approx([cols[c] for c in shared], rel=1e-6, abs=1e-9, nan_ok=True)


@pytest.mark.parametrize("column,name,table", [
    ("V1__expert__qrs_ms", "{lead}__expert__qrs_ms", "expert"),
    ("all__expert__qrs_ms", "all__expert__qrs_ms", "expert"),
    ("all__rhythm__rr_cv", "all__rhythm__rr_cv", "rhythm"),
    ("aVR__quality__hf_noise_ratio", "{lead}__quality__hf_noise_ratio", "quality"),
    ("V6__tsfresh__autocorrelation__lag_5", "{lead}__tsfresh__autocorrelation__lag_{lag}", "tsfresh-fast"),
    ("V1__tsfresh__autocorrelation__lag_3", "{lead}__tsfresh__autocorrelation__lag_{lag}", "tsfresh-efficient"),
    ('II__tsfresh__agg_autocorrelation__f_agg_"var"__maxlag_40',
     '{lead}__tsfresh__agg_autocorrelation__f_agg_"{f_agg}"__maxlag_{maxlag}', "tsfresh-fast"),
    ("III__tsfresh__cwt_coefficients__coeff_14__w_20__widths_(2, 5, 10, 20)",
     "{lead}__tsfresh__cwt_coefficients__coeff_{coeff}__w_{w}__widths_{widths}", "tsfresh-efficient"),
    ("V2__tsfresh__length", "{lead}__tsfresh__length", "tsfresh-efficient"),
])
def test_lookup_resolves_a_column_to_its_entry(column, name, table):
    e = lookup(column)
    assert (e.name, e.table) == (name, table) and e.matches(column)


@pytest.mark.parametrize("column", ["V1__expert__nonsense", "X9__expert__qrs_ms", "all__expert__st60_mv",
                                    "V1__expert__pr_ms", "all__tsfresh__maximum", "V1__tsfresh__length__lag_2",
                                    "V1__tsfresh__autocorrelation", "V1__tsfresh__no_such_calculator", "qrs_ms"])
def test_lookup_refuses_a_column_no_entry_describes(column):
    with pytest.raises(UnknownFeature, match="not in the feature dictionary"):
        lookup(column)


SUFFIX_UNITS = {"_ms": "ms", "_mv_per_lead": "mV/lead", "_mv": "mV", "_mvms": "mV·ms", "_mv_s": "mV/s", "_deg": "deg", "_bpm": "bpm",
                "_uv": "µV", "_db": "dB"}
NAME_UNIT_EXCEPTIONS: dict[str, str] = {}


def test_every_entry_is_documented_and_its_unit_follows_its_name():
    keys = [(e.name, e.table) for e in entries()]   # a fast calculator has the same pattern in the efficient set
    assert len(keys) == len(set(keys))
    for e in entries():
        assert e.unit and e.definition and e.method and e.criterion, e.name
        feature = e.name.split("__", 2)[2]
        if e.family != "tsfresh":
            for suffix, unit in SUFFIX_UNITS.items():
                if feature.endswith(suffix):
                    assert e.unit == NAME_UNIT_EXCEPTIONS.get(e.name, unit), (e.name, e.unit)
                    break
            else:
                assert e.unit not in SUFFIX_UNITS.values(), (e.name, e.unit)   # a unit outside the name


def test_accuracy_figures_name_an_entry_and_a_source():
    names = {e.name for e in entries()}
    assert set(ACCURACY) <= names
    for e in entries():
        assert all(ref in SOURCES for ref, _ in e.accuracy), e.name
    assert ("LUDB", "bias +1.8 ms, MAE 7.3 ms (n = 87; target MAE <= 10)") in lookup("all__expert__pr_ms").accuracy
    assert lookup("V5__expert__qrs_ms").accuracy[0][1].startswith("bias +1.3 ms, MAE 11.7 ms")
    assert lookup("V5__tsfresh__maximum").accuracy[0][0] == "tsfresh"
    assert lookup("all__rhythm__rr_cv").accuracy == ()


def test_docs_page_is_the_generated_markdown():
    res = runner.invoke(app, ["features", "--markdown"])
    assert res.exit_code == 0, res.output
    assert res.stdout == to_markdown()
    assert DOC.read_text(encoding="utf-8") == to_markdown(), "docs/features.md is stale: run `ecgfeat features --markdown > docs/features.md`"
    assert "| `{lead}__expert__qrs_ms` | ms |" in to_markdown()


def test_json_has_exactly_its_keys():
    res = runner.invoke(app, ["features", "--json"])
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(d) == {"family", "versions", "n_entries", "n_columns", "tsfresh_docs", "sources", "entries"}
    assert d["family"] is None and d["versions"] == {t: VERSIONS[t] for t in
                                                     ("expert", "rhythm", "quality", "tsfresh-fast", "tsfresh-efficient")}
    for e in d["entries"]:
        assert set(e) == {"name", "family", "table", "level", "unit", "definition", "method", "criterion",
                          "parameters", "accuracy", "columns"}
        assert all(set(a) == {"reference", "figure", "source"} for a in e["accuracy"])
    eff = [e for e in d["entries"] if e["table"] == "tsfresh-efficient"]
    assert eff and all(e["columns"] is None for e in eff)


@pytest.mark.parametrize("family,tables,n", [("rhythm", {"rhythm"}, 16), ("tsfresh-fast", {"tsfresh-fast"}, 24),
                                             ("tsfresh", {"tsfresh-fast", "tsfresh-efficient"}, None),
                                             ("quality", {"quality"}, 16)])
def test_family_filter(family, tables, n):
    res = runner.invoke(app, ["features", "--family", family, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["family"] == family and {e["table"] for e in d["entries"]} == tables and set(d["versions"]) == tables
    assert n is None or d["n_entries"] == n
    text = runner.invoke(app, ["features", "--family", family]).stdout.splitlines()
    assert len(text) == d["n_entries"] and text[0].startswith(d["entries"][0]["name"])


def test_unknown_family_is_a_one_line_error():
    res = runner.invoke(app, ["features", "--family", "morphology"])
    assert res.exit_code == 1
    assert res.output.strip() == ("error: --family: unknown family 'morphology'; families are "
                                  + ", ".join(FAMILY_CHOICES))
    assert FAMILY_CHOICES == ("expert", "rhythm", "tsfresh", "quality", "tsfresh-fast", "tsfresh-efficient")


def test_one_column_and_option_errors():
    res = runner.invoke(app, ["features", "all__expert__pr_ms"])
    assert res.exit_code == 0 and "first-degree AV block, PR > 200 ms" in res.stdout and "LUDB: bias +1.8 ms" in res.stdout
    d = json.loads(runner.invoke(app, ["features", "V1__tsfresh__quantile__q_0.3", "--json"]).stdout)
    assert d["column"] == "V1__tsfresh__quantile__q_0.3" and d["table"] == "tsfresh-efficient"
    for args, msg in ((["V1__expert__nope"], "error: V1__expert__nope: not in the feature dictionary"),
                      (["--json", "--markdown"], "error: --json and --markdown: give one of them"),
                      (["V1__expert__qrs_ms", "--family", "rhythm"], "error: V1__expert__qrs_ms: family expert (store table expert), not --family rhythm")):
        res = runner.invoke(app, ["features", *args])
        assert res.exit_code == 1 and res.output.startswith(msg) and len(res.output.strip().splitlines()) == 1, res.output


def test_help_shows_examples():
    res = runner.invoke(app, ["features", "--help"])
    assert res.exit_code == 0 and "ecgfeat features --family rhythm --json" in res.output


def test_docstring_examples_run():
    import doctest

    from ecgfeat.features import dictionary

    result = doctest.testmod(dictionary, verbose=False)
    assert result.attempted >= 2 and result.failed == 0

"""The clinical criteria table (ecgfeat/explain/criteria.py) and the clinical check of explanations."""

from __future__ import annotations

import re

import pytest

from ecgfeat.explain.criteria import (CRITERIA, MIN_SHARE, NOT_CHECKED, SCHEMES, TOP_K, clinical_check,
                                      clinical_summary, criteria_for, is_clinical, matching, table)
from ecgfeat.vocab import CPSC9, LEADS, PTBXL_SUPER


def _today() -> list[str]:
    """Every column name the feature families produce today."""
    from ecgfeat.features import expert, rhythm
    from ecgfeat.features.tsfresh_fast import FAST_SET, feature_names
    from ecgfeat.signal import quality

    names = expert.feature_names() + rhythm.feature_names() + quality.feature_names()
    return names + [f"{lead}__tsfresh__{n}" for lead in LEADS for n in feature_names(FAST_SET)]


@pytest.mark.parametrize("scheme, classes", [("cpsc9", CPSC9), ("ptbxl-super", PTBXL_SUPER)])
def test_every_class_of_both_schemes_has_criteria_or_a_stated_reason(scheme, classes):
    assert SCHEMES[scheme] == classes
    for c in classes:
        if c in NOT_CHECKED:
            assert not criteria_for(scheme, c) and "absence of every other class" in NOT_CHECKED[c]
        else:
            ks = criteria_for(scheme, c)
            assert ks, f"{scheme} {c}: no clinical criteria"
            assert all(k.reason and k.ref and k.what for k in ks), c
    assert set(CRITERIA[scheme]) == set(classes) - set(NOT_CHECKED)      # no criteria of a class the scheme lacks
    assert {"Normal", "NORM"} == set(NOT_CHECKED)


def test_every_pattern_matches_a_real_column_and_every_name_is_real():
    names = _today()
    real = {n.split("__", 2)[2] for n in names}
    for scheme, by in CRITERIA.items():
        for c, ks in by.items():
            for k in ks:
                p = re.compile(k.pattern())
                assert any(p.search(n) for n in names), (scheme, c, k.what, k.pattern())
                unknown = [f for f in k.features if f not in real]
                assert not unknown, (scheme, c, k.what, unknown)        # a typo would silently match nothing


def test_generic_statistics_and_signal_quality_never_count():
    names = _today()
    for scheme, by in CRITERIA.items():
        for c in by:
            credited = [n for n in names if is_clinical(scheme, c, n)]
            assert credited and not [n for n in credited if "__tsfresh__" in n or "__quality__" in n], (scheme, c)


def test_criteria_name_the_leads_the_guidelines_name():
    names = _today()
    assert [n for n in names if is_clinical("cpsc9", "I-AVB", n)] == ["all__expert__pr_ms"]
    # LBBB: QRS duration in any lead; morphology in I, aVL, V5, V6 and V1-V3, not in aVR or the inferior leads
    assert is_clinical("cpsc9", "LBBB", "aVR__expert__qrs_ms") and is_clinical("cpsc9", "LBBB", "V6__expert__r_amp_mv")
    assert not is_clinical("cpsc9", "LBBB", "aVR__expert__r_amp_mv") and not is_clinical("cpsc9", "LBBB", "III__expert__q_amp_mv")
    # RBBB: rsR' in V1-V2 and a wide S in I / V6 (pending names already matched); not V4
    assert is_clinical("cpsc9", "RBBB", "V1__expert__rsr_prime") and is_clinical("cpsc9", "RBBB", "I__expert__s_ms")
    assert not is_clinical("cpsc9", "RBBB", "V4__expert__r_amp_mv") and not is_clinical("cpsc9", "RBBB", "V1__expert__st60_mv")
    assert is_clinical("cpsc9", "AF", "all__rhythm__rr_irregularity") and is_clinical("cpsc9", "AF", "II__expert__p_amp_mv")
    assert not is_clinical("cpsc9", "AF", "all__expert__pr_ms") and not is_clinical("cpsc9", "AF", "all__expert__hr_bpm")
    assert is_clinical("cpsc9", "STE", "aVR__expert__st60_mv") and not is_clinical("cpsc9", "STE", "V2__expert__t_amp_mv")
    # MI: Q waves anywhere but aVR, R progression in V1-V6; HYP: voltage criteria and axis; CD: axis and PR
    assert is_clinical("ptbxl-super", "MI", "III__expert__q_amp_mv") and not is_clinical("ptbxl-super", "MI", "aVR__expert__q_amp_mv")
    assert is_clinical("ptbxl-super", "MI", "all__expert__q_inferior_n") and is_clinical("ptbxl-super", "MI", "V3__expert__r_amp_mv")
    assert not is_clinical("ptbxl-super", "MI", "all__expert__sokolow_lyon_mv")
    for f in ("sokolow_lyon_mv", "cornell_mv", "cornell_product_mvms", "axis_deg", "ptf_v1_mvms"):
        assert is_clinical("ptbxl-super", "HYP", f"all__expert__{f}"), f
    assert is_clinical("ptbxl-super", "HYP", "aVL__expert__r_amp_mv") and not is_clinical("ptbxl-super", "HYP", "aVR__expert__r_amp_mv")
    assert is_clinical("ptbxl-super", "CD", "all__expert__axis_deg") and is_clinical("ptbxl-super", "CD", "all__expert__pr_ms")
    assert not is_clinical("ptbxl-super", "CD", "V3__expert__t_amp_mv")
    assert is_clinical("ptbxl-super", "STTC", "V4__expert__t_amp_mv") and is_clinical("ptbxl-super", "STTC", "all__expert__qtc_bazett_ms")
    assert not is_clinical("ptbxl-super", "STTC", "all__expert__pr_ms")
    assert not is_clinical("ptbxl-super", "NORM", "all__expert__pr_ms") and not is_clinical("raw", "AF", "all__rhythm__rr_cv")
    assert matching("cpsc9", "LBBB", "V6__expert__qrs_ms") == ["QRS duration >= 120 ms"]


def test_the_check_weighs_the_top_features_and_names_the_ones_off_criteria():
    assert TOP_K == 5 and MIN_SHARE == 0.5
    names = ["all__expert__pr_ms", "V1__tsfresh__c3__lag_1", "all__rhythm__rr_cv", "II__expert__st60_mv",
             "V2__expert__t_amp_mv", "all__expert__qrs_ms"]
    hit = clinical_check("cpsc9", "I-AVB", names, [5.0, 1.0, 1.0, 1.0, 1.0, 9.0])    # the 6th is beyond the top 5
    assert hit["hit"] and hit["share"] == pytest.approx(5 / 9, abs=1e-3) and hit["matched"] == [True, False, False, False, False]
    assert hit["not_criteria"] == names[1:5] and hit["criteria"][0] == ["PR interval"]
    miss = clinical_check("cpsc9", "I-AVB", names, [4.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    assert miss["hit"] and miss["share"] == 0.5                                      # exactly half: a hit
    assert clinical_check("cpsc9", "I-AVB", names, [3.9, 1.0, 1.0, 1.0, 1.0, 0.0])["hit"] is False
    assert clinical_check("cpsc9", "Normal", names, [1] * 6) is None
    empty = clinical_check("cpsc9", "LBBB", names, [0.0] * 6)         # a model that never split
    assert empty == {"hit": None, "empty": True, "top": [], "matched": []}
    s = clinical_summary("cpsc9", {"LBBB": empty, "I-AVB": hit})
    assert s["clinical"] == {"I-AVB": True} and "learnt nothing" in s["clinical_not_checked"]["LBBB"]
    assert clinical_check("raw", "AF", names, [1] * 6) is None


def test_summary_keys_and_counts():
    names = ["all__expert__pr_ms", "V1__tsfresh__c3__lag_1"]
    checks = {"I-AVB": clinical_check("cpsc9", "I-AVB", names, [3.0, 1.0]),
              "AF": clinical_check("cpsc9", "AF", names, [3.0, 1.0]), "Normal": None}
    s = clinical_summary("cpsc9", checks, {"I-AVB": 7, "AF": 2})
    assert s["clinical"] == {"I-AVB": True, "AF": False} and s["clinical_hits"] == 1 and s["clinical_n_checked"] == 2
    assert s["clinical_detail"]["I-AVB"]["n_positive"] == 7 and "Normal" in s["clinical_not_checked"]
    assert s["clinical_detail"]["AF"]["criteria_of_class"][0] == "irregular RR"
    assert "top-5" in s["clinical_rule"] and clinical_summary("raw", {"x": None}) == {}


def test_report_shows_the_clinical_table(tmp_path):
    import json

    from ecgfeat.report.explanations import explanation_tables, gather_explanations

    names = ["all__expert__pr_ms", "V1__tsfresh__c3__lag_1"]
    s = clinical_summary("ptbxl-super", {"CD": clinical_check("ptbxl-super", "CD", names, [3.0, 1.0]),
                                         "MI": clinical_check("ptbxl-super", "MI", names, [3.0, 1.0]), "NORM": None},
                         {"CD": 12, "MI": 30})
    doc = {"model": "rf-p", "estimator": "rf", "dataset": "ptbxl-500", "labels": "ptbxl-super", "method": "shap.TreeExplainer",
           "classes": ["NORM", "MI", "CD"], **s}
    (tmp_path / "rf-p").mkdir()
    (tmp_path / "rf-p" / "explain.json").write_text(json.dumps(doc))
    got = gather_explanations(tmp_path)
    assert got[0]["clinical"] == {"CD": True, "MI": False} and got[0]["ground_truth"] is None
    tables = explanation_tables(got)
    hits, tops = tables
    assert hits.title == "Explanations against the clinical criteria (ptbxl-super)"
    assert hits.header == ["model", "method", "data set", "hits", "MI", "CD"]                 # NORM: not checked
    assert [c.text for c in hits.rows[0]] == ["rf-p", "shap.TreeExplainer", "ptbxl-500", "1/2", "✗ 0% (n=30)", "✓ 75% (n=12)"]
    assert "NORM: the absence" in hits.caption
    assert tops.rows[0][1].text == "MI" and tops.rows[0][3].text == "✗ PR, ✗ V1 tsfresh c3 lag_1"
    assert tops.rows[1][3].text.startswith("✓ PR")


def test_table_rows_carry_reason_and_reference():
    rows = table("cpsc9")
    assert {r["class"] for r in rows} == set(CPSC9) - {"Normal"}
    avb = [r for r in rows if r["class"] == "I-AVB"]
    assert avb == [{"class": "I-AVB", "what": "PR interval", "leads": "all", "features": ["pr_ms"], "family": "expert",
                    "reason": avb[0]["reason"], "ref": "AHA-II", "pattern": r"^(?:all)__expert__(?:pr_ms)$"}]
    assert "200 ms" in avb[0]["reason"]

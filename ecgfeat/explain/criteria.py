"""The clinical criteria that define each class, defined once, to check explanations on real data.

On the synthetic set an explanation is checked against the generator's mechanism (groups.py). On
real ECGs there is no generator; what a cardiologist reads instead are the published criteria of
each diagnosis. `CRITERIA[scheme][class]` lists them as `Criterion`s: which measurements (expert
or rhythm features, `{lead}__{family}__{feature}`) in which leads, with the reason and the reference.
A class is a *clinical hit* when its top-`TOP_K` features by mean |SHAP| put at least `MIN_SHARE`
of their mean |SHAP| on features of its criteria (`clinical_check`), the same share rule as the
synthetic check (one dominant criterion feature is enough; a list of near-ties is weighed).

Choices, and why:
- Top 5, not the synthetic check's top 3: on real records the evidence of a class is spread over
  the copies of one measurement in the 12 leads (QRS duration in every lead, ST in each lead of a
  territory), so the top 3 are often three copies of one measurement.
- tsfresh statistics and signal-quality features never count: they may be informative but no
  criterion is written in their terms.
- QRS duration counts in any lead (the lead's QRS onset to offset estimates the global duration);
  morphology counts in the leads the criterion names; ST deviation counts in any lead for STD / STE
  (the territory varies per record and reciprocal leads carry the same injury vector).
- Normal (cpsc9) and NORM (ptbxl-super) are the absence of every other class: "within normal
  limits" covers nearly every expert feature, so any explanation would match. They are not
  checked (`NOT_CHECKED`) and the reports say so.

References (short keys in `Criterion.ref`):
- AHA-I: Kligfield P et al. AHA/ACC/HRS recommendations for the standardization and interpretation
  of the ECG, part I. Circulation 2007;115:1306-1324.
- AHA-II: Mason JW et al., part II: electrocardiography diagnostic statement list. Circulation 2007;115:1325-1332.
- AHA-III: Surawicz B et al., part III: intraventricular conduction disturbances. Circulation 2009;119:e235-e240.
- AHA-IV: Rautaharju PM et al., part IV: the ST segment, T and U waves, and the QT interval. Circulation 2009;119:e241-e250.
- AHA-V: Hancock EW et al., part V: ECG changes associated with cardiac chamber hypertrophy. Circulation 2009;119:e251-e261.
- AHA-VI: Wagner GS et al., part VI: acute ischemia/infarction. Circulation 2009;119:e262-e270.
- UDMI: Thygesen K et al. Fourth universal definition of myocardial infarction. Circulation 2018;138:e618-e651.
- ESC-AF: Hindricks G et al. 2020 ESC guidelines for atrial fibrillation. Eur Heart J 2021;42:373-498.
- CPSC: Liu F et al. An open access database for evaluating the algorithms of ECG rhythm and
  morphology abnormality detection. J Med Imaging Health Inform 2018;8:1368-1373 (the nine classes).
- PTB-XL: Wagner P et al. PTB-XL, a large publicly available ECG dataset. Sci Data 2020;7:154
  (superclasses from scp_statements.csv: MI = IMI, AMI, ALMI, ...; STTC = NST_, ISC_, INVT, LOWT,
  LNGQT, STD_, STE_, ...; CD = 1AVB, LAFB, IRBBB, CRBBB, CLBBB, IVCD, WPW, ...; HYP = LVH, RVH,
  LAO/LAE, RAO/RAE, SEHYP).
- fQRS: Das MK et al. Significance of a fragmented QRS complex versus a Q wave in patients with
  coronary artery disease. Circulation 2006;113:2495-2501.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..vocab import CPSC9, LEADS, PTBXL_SUPER, RECORD_LEVEL

TOP_K = 5          # the top features of a class that are checked
MIN_SHARE = 0.5    # share of their mean |SHAP| that must lie on the class's criteria

ALL = "all"        # Criterion.leads: record-level features (`all__...`)
ANY = "any"        # Criterion.leads: the feature in every lead

INFERIOR = ("II", "III", "aVF")
LATERAL = ("I", "aVL", "V5", "V6")
ANTERIOR = ("V1", "V2", "V3", "V4")
NOT_AVR = tuple(lead for lead in LEADS if lead != "aVR")


@dataclass(frozen=True)
class Criterion:
    """One criterion: `features` of `family` measured in `leads` (ANY, ALL or a tuple of leads)."""

    what: str
    leads: str | tuple[str, ...]
    features: tuple[str, ...]
    reason: str
    ref: str
    family: str = "expert"

    def pattern(self) -> str:
        """The regex of the feature names this criterion credits."""
        leads = (RECORD_LEVEL,) if self.leads == ALL else LEADS if self.leads == ANY else self.leads
        return rf"^(?:{'|'.join(leads)})__{self.family}__(?:{'|'.join(self.features)})$"


QRS_MORPH = ("q_amp_mv", "r_amp_mv", "s_amp_mv", "rs_ratio", "qrs_area_mvms", "qrs_net_mv", "qrs_extrema", "q_ms",
             "r_ms", "s_ms", "r2_amp_mv", "s2_amp_mv", "rsr_prime", "r_peak_time_ms", "qrs_fragmented")
ST = ("st60_mv", "st_slope_mv_s", "j_mv", "st80_mv")
T = ("t_amp_mv", "t_polarity", "t_pos_mv", "t_neg_mv", "t_area_mvms")
RR = ("rr_sd_ms", "rr_cv", "rmssd_ms", "pnn50", "rr_sampen", "rr_irregularity")
ECTOPY = ("premature_count", "premature_fraction", "aberrant_premature_count", "ectopic_fraction")

_QRS_WIDE = Criterion("QRS duration >= 120 ms", ANY, ("qrs_ms",), "the defining criterion of a complete bundle branch "
                      "block; any lead's QRS onset-to-offset estimates the global duration", "AHA-III")
_QRS_WIDE_ALL = Criterion("QRS duration (global)", ALL, ("qrs_ms",), "the global QRS duration", "AHA-III")
_PR = Criterion("PR interval", ALL, ("pr_ms",), "first-degree AV block: PR > 200 ms; pre-excitation: PR < 120 ms",
                "AHA-II")
_ST_ANY = Criterion("ST level and slope, any lead", ANY, ST, "ST deviation at J / J+60 / J+80 ms and its slope; the "
                    "territory varies per record and reciprocal leads carry the same injury vector", "AHA-VI, UDMI")
_ST_TERRITORY = Criterion("ST deviation per territory", ALL, ("st_inferior_mv", "st_anterior_mv", "st_lateral_mv"),
                          "ST deviation in two contiguous leads of a territory", "AHA-VI, UDMI")

CRITERIA: dict[str, dict[str, tuple[Criterion, ...]]] = {
    "cpsc9": {
        "AF": (
            Criterion("irregular RR", ALL, RR, "'irregularly irregular' ventricular rhythm, the first criterion of AF",
                      "ESC-AF, AHA-II", family="rhythm"),
            Criterion("absent P (rhythm)", ALL, ("p_presence", "fwave_rms_uv", "fwave_ratio"), "no distinct repeating P "
                      "wave; fibrillatory (f) waves instead", "ESC-AF", family="rhythm"),
            Criterion("absent P (expert)", ALL, ("p_present", "p_ms", "p_axis_deg"), "no measurable P wave, so no P "
                      "duration or axis", "ESC-AF"),
            Criterion("P amplitude, duration", ANY, ("p_amp_mv", "p_ms", "p_pos_mv", "p_neg_mv"), "no P wave in any lead "
                      "(V1 and II show it best)", "ESC-AF"),
        ),
        "I-AVB": (_PR,),
        "LBBB": (
            _QRS_WIDE, _QRS_WIDE_ALL,
            Criterion("broad notched R, no q in I, aVL, V5, V6", LATERAL, QRS_MORPH, "broad notched or slurred R, absent "
                      "septal q, R-peak time > 60 ms in V5-V6", "AHA-III"),
            Criterion("QS or rS in V1-V3", ("V1", "V2", "V3"), QRS_MORPH, "dominant S (QS or rS) in the right "
                      "precordial leads", "AHA-III"),
            Criterion("discordant ST-T", LATERAL + ("V1", "V2", "V3"), ST + T, "ST and T usually opposite in direction "
                      "to the QRS (secondary repolarisation change)", "AHA-III"),
        ),
        "RBBB": (
            _QRS_WIDE, _QRS_WIDE_ALL,
            Criterion("rsr', rsR', rSR' in V1-V2", ("V1", "V2"), QRS_MORPH, "terminal R' in V1 or V2, usually wider than "
                      "the initial r; R-peak time > 50 ms in V1", "AHA-III"),
            Criterion("wide S in I and V6", ("I", "aVL", "V5", "V6"), QRS_MORPH, "S wave longer than R or > 40 ms in I "
                      "and V6 (the late rightward forces)", "AHA-III"),
        ),
        "PAC": (
            Criterion("premature beats", ALL, ECTOPY, "a beat earlier than the dominant RR", "AHA-II, CPSC", family="rhythm"),
            Criterion("abnormal P of the premature beat", ALL, ("p_presence",), "the premature P differs from the sinus P",
                      "AHA-II", family="rhythm"),
            Criterion("short-long RR", ALL, RR, "the premature RR and its pause are what makes the RR variable in a "
                      "record otherwise in sinus rhythm", "AHA-II", family="rhythm"),
        ),
        "PVC": (
            Criterion("premature beats", ALL, ECTOPY, "a premature beat of a different (wide) QRS morphology",
                      "AHA-II, CPSC", family="rhythm"),
            Criterion("no P before the premature beat", ALL, ("p_presence",), "a ventricular beat has no preceding P",
                      "AHA-II", family="rhythm"),
            Criterion("short-long RR", ALL, RR, "the premature RR and its (compensatory) pause", "AHA-II", family="rhythm"),
            Criterion("beat morphology off the median", ANY, ("beat_corr",), "the ectopic QRS-T differs from the "
                      "dominant beat in every lead", "AHA-II"),
        ),
        "STD": (_ST_ANY, _ST_TERRITORY),
        "STE": (_ST_ANY, _ST_TERRITORY),
    },
    "ptbxl-super": {
        "MI": (
            Criterion("pathological Q waves", NOT_AVR, ("q_amp_mv", "q_ms", "q_r_ratio", "pathological_q"), "Q >= 30 ms and "
                      ">= 0.1 mV deep, or QS (any Q >= 20 ms in V2-V3), in two contiguous leads: the scar of an infarct", "UDMI, AHA-VI"),
            Criterion("Q waves per territory", ALL, ("q_inferior_n", "q_anterior_n", "q_lateral_n"),
                      "pathological Q in contiguous leads of a territory", "UDMI"),
            Criterion("R-wave loss and progression", ANTERIOR + ("V5", "V6"), ("r_amp_mv", "rs_ratio", "r_ms"),
                      "lost R in the infarcted territory; R >= 40 ms and R/S >= 1 in V1-V2 (posterior MI)", "UDMI"),
            Criterion("poor R progression", ALL, ("poor_r_progression", "r_progression_mv_per_lead", "transition_zone"),
                      "anterior infarct: R fails to grow from V1 to V4", "UDMI, AHA-VI"),
            Criterion("fragmented QRS", NOT_AVR, ("qrs_extrema", "qrs_fragmented"), "notched QRS in contiguous leads, a "
                      "marker of myocardial scar", "fQRS"),
            _ST_ANY, _ST_TERRITORY,
            Criterion("T inversion in a territory", NOT_AVR, T, "inverted T in contiguous leads of the infarct",
                      "AHA-VI, UDMI"),
        ),
        "STTC": (
            _ST_ANY, _ST_TERRITORY,
            Criterion("T-wave changes", ANY, T + ("t_symmetry", "tpeak_tend_ms"), "inverted, low or flat T (INVT, LOWT, "
                      "NT_, NDT) and T shape", "AHA-IV, PTB-XL"),
            Criterion("QT / QTc", ALL, ("qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms"), "long QT (LNGQT is an STTC "
                      "statement)", "AHA-IV, PTB-XL"),
            Criterion("QT per lead", ANY, ("qt_ms",), "the lead's QT", "AHA-IV"),
            Criterion("T axis, QRS-T angle", ALL, ("t_axis_deg", "qrst_angle_deg", "spatial_qrst_angle_deg"),
                      "a T axis off the QRS axis: primary repolarisation abnormality", "AHA-IV"),
        ),
        "CD": (
            _QRS_WIDE, _QRS_WIDE_ALL, _PR,
            Criterion("QRS axis", ALL, ("axis_deg",), "left anterior / posterior fascicular block: axis -45..-90 / "
                      "+90..+180 degrees", "AHA-III"),
            Criterion("BBB and fascicular morphology", ("I", "II", "III", "aVL", "aVF", "V1", "V2", "V5", "V6"), QRS_MORPH,
                      "rsR' in V1-V2, wide S in I/V6 (RBBB); broad R, no q in I/V6 (LBBB); qR in aVL, rS in II, III, "
                      "aVF (LAFB); R-peak time; notching (IVCD)", "AHA-III"),
        ),
        "HYP": (
            Criterion("voltage criteria", ALL, ("sokolow_lyon_mv", "cornell_mv", "cornell_product_mvms"), "Sokolow-Lyon "
                      "(S V1 + R V5/V6 >= 3.5 mV), Cornell (R aVL + S V3 > 2.8 / 2.0 mV) and its product with QRS duration",
                      "AHA-V"),
            Criterion("R and S voltages", ("I", "III", "aVL", "aVF", "V1", "V2", "V3", "V5", "V6"),
                      ("r_amp_mv", "s_amp_mv", "rs_ratio", "qrs_area_mvms", "qrs_net_mv"), "the voltages of the LVH "
                      "criteria (R aVL, R I + S III, S V1-V3, R V5-V6) and RVH (R V1 >= 0.7 mV, R/S V1 > 1, S V5-V6)", "AHA-V"),
            Criterion("QRS axis", ALL, ("axis_deg",), "left axis deviation (LVH), right axis deviation (RVH)", "AHA-V"),
            Criterion("intrinsicoid deflection, QRS duration", ("V1", "V5", "V6"), ("r_peak_time_ms", "qrs_ms"),
                      "R-peak time >= 50 ms in V5-V6 (LVH), >= 35 ms in V1 (RVH); QRS widening (Romhilt-Estes)", "AHA-V"),
            Criterion("left / right atrial abnormality", ALL, ("p_ms", "ptf_v1_mvms", "p_axis_deg"), "P >= 120 ms and "
                      "P-terminal force in V1 (LAE; LAO/LAE are HYP statements)", "AHA-V"),
            Criterion("P amplitude", ("II", "V1"), ("p_amp_mv", "p_pos_mv", "p_neg_mv", "p_ms"), "P >= 0.25 mV in II or "
                      "> 0.15 mV in V1 (RAE), deep terminal negative P in V1 (LAE)", "AHA-V"),
            Criterion("strain ST-T", LATERAL, ST + T, "ST depression and T inversion in I, aVL, V5, V6 (LV strain, "
                      "Romhilt-Estes)", "AHA-V"),
        ),
    },
}

NOT_CHECKED = {"Normal": "the absence of every other class: 'within normal limits' covers nearly every expert feature, "
                         "so any explanation would match; not counted",
               "NORM": "the absence of every other class: 'within normal limits' covers nearly every expert feature, "
                       "so any explanation would match; not counted"}
EMPTY = "every attribution is 0: the class's model learnt nothing (too few positives to split on)"
SCHEMES = {"cpsc9": CPSC9, "ptbxl-super": PTBXL_SUPER}

_COMPILED = {s: {c: [re.compile(k.pattern()) for k in ks] for c, ks in by.items()} for s, by in CRITERIA.items()}


def criteria_for(scheme: str, cls: str) -> tuple[Criterion, ...]:
    """The criteria of class `cls` in label scheme `scheme` (empty for an unknown one or Normal / NORM)."""
    return CRITERIA.get(scheme, {}).get(cls, ())


def matching(scheme: str, cls: str, name: str) -> list[str]:
    """The criteria (their `what`) of `cls` that feature `name` serves; [] when none."""
    return [k.what for k, p in zip(criteria_for(scheme, cls), _COMPILED.get(scheme, {}).get(cls, ())) if p.search(name)]


def is_clinical(scheme: str, cls: str, name: str) -> bool:
    """Does feature `name` measure one of the clinical criteria of class `cls`?"""
    return any(p.search(name) for p in _COMPILED.get(scheme, {}).get(cls, ()))


def clinical_check(scheme: str, cls: str, names: list[str], importance: list[float]) -> dict | None:
    """The clinical check of one class from its features ranked by mean |SHAP| (best first):
    {"hit", "share", "min_share", "top", "matched", "criteria" (per top feature, the criteria it
    serves), "not_criteria" (the top features that serve none)}; None for a class without criteria
    (Normal, NORM, or a scheme with no table); {"hit": None, "empty": True} when every attribution
    is 0 (nothing was learnt for the class), which `clinical_summary` lists as not checked."""
    if not criteria_for(scheme, cls):
        return None
    top, imp = list(names[:TOP_K]), [float(v) for v in importance[:TOP_K]]
    total = sum(imp)
    if not total > 0:       # every SHAP value 0: the class's model never split (too few positives)
        return {"hit": None, "empty": True, "top": [], "matched": []}
    which = [matching(scheme, cls, n) for n in top]
    matched = [bool(w) for w in which]
    share = sum(v for v, m in zip(imp, matched) if m) / total
    return {"hit": bool(share >= MIN_SHARE), "share": round(share, 3), "min_share": MIN_SHARE, "top": top,
            "matched": matched, "criteria": which, "not_criteria": [n for n, m in zip(top, matched) if not m]}


def clinical_summary(scheme: str, checks: dict[str, dict | None], positives: dict[str, int] | None = None) -> dict:
    """explain.json keys of the clinical check: `clinical` {class: bool}, `clinical_hits`,
    `clinical_n_checked`, `clinical_detail` (per class the check, its criteria and `n_positive`: the
    explained records labelled with the class), `clinical_rule`, `clinical_not_checked`; {} for a
    scheme without a criteria table (raw)."""
    if scheme not in CRITERIA:
        return {}
    checked = {c: v for c, v in checks.items() if v is not None and not v.get("empty")}
    for c, v in checked.items():
        v["criteria_of_class"] = [k.what for k in criteria_for(scheme, c)]
        if positives is not None and c in positives:
            v["n_positive"] = int(positives[c])
    return {"clinical": {c: v["hit"] for c, v in checked.items()},
            "clinical_hits": int(sum(v["hit"] for v in checked.values())), "clinical_n_checked": len(checked),
            "clinical_detail": checked, "clinical_scheme": scheme,
            "clinical_rule": f"the class's clinical criteria carry at least {MIN_SHARE:.0%} of the top-{TOP_K} mean |SHAP|",
            "clinical_not_checked": {c: NOT_CHECKED.get(c, "no clinical criteria") if v is None else EMPTY
                                     for c, v in checks.items() if v is None or v.get("empty")}}


def table(scheme: str) -> list[dict]:
    """The criteria of a scheme as rows {class, what, leads, features, family, reason, ref, pattern}."""
    rows = []
    for cls, ks in CRITERIA.get(scheme, {}).items():
        for k in ks:
            leads = k.leads if isinstance(k.leads, str) else ", ".join(k.leads)
            rows.append({"class": cls, "what": k.what, "leads": leads, "features": list(k.features), "family": k.family,
                         "reason": k.reason, "ref": k.ref, "pattern": k.pattern()})
    return rows

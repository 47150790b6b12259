"""What each class should be explained by: the synthetic set's generating mechanisms, defined once.

`EXPECTED_FEATURES` maps a class to the feature groups (regexes on `{lead}__{family}__{feature}`
names) that measure its mechanism; a tree model's class is a *hit* when those features carry at
least half of the mean |SHAP| of the class's top-3 features (`TOP_K`, `MIN_SHARE`). The share, not a
count, because one feature may dominate: I-AVB has one PR feature and a model that puts 90% of its
attention on it, with two small unrelated runners-up, points at the right mechanism.

`EXPECTED_REGIONS` maps a class to the part of the cardiac cycle where the CNN's attribution should
concentrate (regions from the synthetic params' wave positions, see `region_masks`).

Choices, and why (checked against ecgfeat/synth/generator.py, which is the ground truth here):
- Bundle branch blocks change the whole ventricular activation sequence of the simulator's dipole
  (LBBB: septal forces reversed, so the small septal q of I, II, aVL, V5, V6 disappears; RBBB: a
  late right-anterior lobe). Every lead sees that by projection, so QRS duration and QRS
  morphology (Q/R/S amplitudes, R/S ratio, QRS area, notching) count in any lead, not only V1/V6,
  where a human reader looks first (the expert-4 morphology: Q/R/S durations, R'/S', RSR', Q/R,
  R-peak time, fragmentation count too). Secondary ST-T changes and tsfresh shape statistics do not count.
- PAC / PVC: the premature-beat features, the P-wave presence (abnormal or absent P before the
  ectopic beat) and the RR variability measures, because in these records (sinus rhythm otherwise)
  the premature beat and its pause are what raise RR SD / RMSSD / pNN50. AF counts the same RR
  features: irregular RR is its first mechanism.
- AF: RR irregularity, absent P (P presence, P amplitude / duration in any lead) and the f-wave
  measures. tsfresh entropy of V1 is a fair f-wave proxy but a generic statistic (EMG noise raises
  it too): not credited.
- I-AVB: the PR interval only.
- STD / STE: ST level (J point, J+60, J+80) and slope in any lead, and the record-level territory
  means: the territory varies per record and the reciprocal leads carry the same injury vector.
- Normal is the absence of every other mechanism. Letting any of the groups above count made it a
  hit by construction (every expert or rhythm feature "matched"), so Normal is left out of the
  count for trees and cnn alike (`NOT_CHECKED`), and the reports say so.
- The cnn's check needs a stated margin: the expected region's attribution density at least
  `CNN_MIN_RATIO` times the rest of the record's (x1.09 was counted as a hit before); the ratio is
  reported beside every verdict.
"""

from __future__ import annotations

import re

from ..vocab import LEADS, RECORD_LEVEL

TOP_K = 3          # the top features of a class that are checked
MIN_SHARE = 0.5    # share of their mean |SHAP| that must be on the expected groups
CNN_MIN_RATIO = 1.25   # cnn: expected region's density / the rest's; 25% denser, not any excess

NOT_CHECKED = {"Normal": "no mechanism of its own (the absence of the others): any feature or region would "
                         "match, so it is not counted"}

_LEAD = "(?:" + "|".join(LEADS) + ")"

GROUPS: dict[str, list[str]] = {
    "pr": [r"^all__expert__pr_ms$"],
    "qrs_duration": [r"__expert__qrs_ms$"],
    "qrs_morphology": [rf"^{_LEAD}__expert__(q_amp_mv|r_amp_mv|s_amp_mv|rs_ratio|qrs_area_mvms|qrs_net_mv|qrs_extrema"
                       r"|q_ms|r_ms|s_ms|r2_amp_mv|s2_amp_mv|rsr_prime|q_r_ratio|pathological_q|r_peak_time_ms|qrs_fragmented)$",
                       r"^all__expert__(sokolow_lyon_mv|cornell_mv|cornell_product_mvms)$"],  # V1 S + V5/V6 R, aVL R + V3 S
    "rr_irregularity": [r"^all__rhythm__(rr_sd_ms|rr_cv|rmssd_ms|pnn50|rr_sampen|rr_irregularity)$"],
    "p_absence": [r"^all__rhythm__p_presence$", r"^all__expert__(p_present|p_ms|p_axis_deg)$",
                  rf"^{_LEAD}__expert__(p_amp_mv|p_ms|p_pos_mv|p_neg_mv)$"],
    "f_waves": [r"^all__rhythm__fwave_(rms_uv|ratio)$"],
    "premature": [r"^all__rhythm__(premature_count|premature_fraction|aberrant_premature_count|ectopic_fraction)$"],
    "p_presence": [r"^all__rhythm__p_presence$"],
    "st_level": [r"__expert__(st60_mv|st_slope_mv_s|j_mv|st80_mv)$",
                 r"^all__expert__st_(inferior|anterior|lateral)_mv$"],
}

_ABNORMAL = {
    "AF": ("rr_irregularity", "p_absence", "f_waves"),
    "I-AVB": ("pr",),
    "LBBB": ("qrs_duration", "qrs_morphology"),
    "RBBB": ("qrs_duration", "qrs_morphology"),
    "PAC": ("premature", "p_presence", "rr_irregularity"),
    "PVC": ("premature", "p_presence", "rr_irregularity"),
    "STD": ("st_level",),
    "STE": ("st_level",),
}
EXPECTED_GROUPS: dict[str, tuple[str, ...]] = dict(_ABNORMAL)     # Normal: NOT_CHECKED
EXPECTED_FEATURES: dict[str, list[str]] = {c: [p for g in gs for p in GROUPS[g]] for c, gs in EXPECTED_GROUPS.items()}

MECHANISM = {
    "Normal": "absence of the other mechanisms (short PR, narrow QRS, regular RR, flat ST)",
    "AF": "RR irregularity, absent P, f-waves",
    "I-AVB": "PR interval > 200 ms",
    "LBBB": "wide QRS, LBBB morphology",
    "RBBB": "wide QRS, RBBB morphology",
    "PAC": "premature beats with an abnormal P",
    "PVC": "premature wide beats without P",
    "STD": "ST depression",
    "STE": "ST elevation",
}

# CNN: the region of the cycle where the class's evidence lies (synthetic params' wave positions).
# PR = P onset .. QRS onset (the P wave and the PR segment: a long PR moves the P away from the QRS);
# QRS = QRS onset .. offset; ST = QRS offset .. T end (the simulator's injury current ramps in at
# mid-QRS and lasts to the T end); TQ = the rest, T end .. next P (or QRS) onset: where AF's f-waves
# show unmasked and a P wave is missing; ectopic = the premature beats (their P, or QRS onset minus
# 100 ms, .. T end). Normal has no region of its own (it is the absence of the others, whose
# evidence lies everywhere in the cycle): not checked for the cnn. LBBB / RBBB expect the QRS, their
# primary mechanism, although the simulator also gives them a discordant ST-T (secondary).
EXPECTED_REGIONS: dict[str, str | None] = {
    "Normal": None, "AF": "TQ", "I-AVB": "PR", "LBBB": "QRS", "RBBB": "QRS",
    "PAC": "ectopic", "PVC": "ectopic", "STD": "ST", "STE": "ST",
}
PARTITION = ("PR", "QRS", "ST", "TQ")   # the four regions that tile a record


def split_name(name: str) -> tuple[str, str, str]:
    """`V1__tsfresh__autocorrelation__lag_3` -> ("V1", "tsfresh", "autocorrelation__lag_3")."""
    lead, family, feature = (name.split("__", 2) + ["", ""])[:3]
    return lead, family.split("-")[0], feature


def lead_of(name: str) -> str:
    """The feature's lead (I .. V6), or `all` for record-level features."""
    lead = split_name(name)[0]
    return lead if lead in LEADS else RECORD_LEVEL


def family_of(name: str) -> str:
    return split_name(name)[1]


_COMPILED = {c: [re.compile(p) for p in ps] for c, ps in EXPECTED_FEATURES.items()}


def expected(cls: str, name: str) -> bool:
    """Does feature `name` measure the mechanism of class `cls`? (False for classes we do not know)."""
    return any(p.search(name) for p in _COMPILED.get(cls, ()))


def top_check(cls: str, names: list[str], importance: list[float]) -> dict | None:
    """The ground-truth check of one class from its features ranked by mean |SHAP| (best first):
    {"hit", "share", "min_share", "matched": [bool per top feature], "expected": mechanism}; None for a
    class that is not checked (Normal, see NOT_CHECKED) or unknown."""
    if cls not in _COMPILED:
        return None
    top, imp = names[:TOP_K], [float(v) for v in importance[:TOP_K]]
    matched = [expected(cls, n) for n in top]
    total = sum(imp)
    share = sum(v for v, m in zip(imp, matched) if m) / total if total > 0 else 0.0
    return {"hit": bool(share >= MIN_SHARE), "share": round(share, 3), "min_share": MIN_SHARE, "top": top, "matched": matched,
            "mechanism": MECHANISM[cls]}

"""Feature names and values in words: `all__expert__pr_ms` = 248.3 -> "PR 248 ms"."""

from __future__ import annotations

import math

from .groups import split_name

# feature -> (label, unit, decimals); {lead} is replaced by the lead's name
_EXPERT = {
    "p_amp_mv": ("P amplitude {lead}", "mV", 2), "q_amp_mv": ("Q amplitude {lead}", "mV", 2),
    "r_amp_mv": ("R amplitude {lead}", "mV", 2), "s_amp_mv": ("S amplitude {lead}", "mV", 2),
    "t_amp_mv": ("T amplitude {lead}", "mV", 2), "p_ms": ("P duration {lead}", "ms", 0),
    "qrs_ms": ("QRS {lead}", "ms", 0), "qt_ms": ("QT {lead}", "ms", 0), "rs_ratio": ("R/(R+S) {lead}", "", 2),
    "qrs_area_mvms": ("QRS area {lead}", "mV·ms", 0), "qrs_net_mv": ("QRS net {lead}", "mV", 2),
    "st60_mv": ("ST(J+60) {lead}", "mV", 2), "st_slope_mv_s": ("ST slope {lead}", "mV/s", 1),
    "t_polarity": ("T polarity {lead}", "", 0), "qrs_extrema": ("QRS notches {lead}", "", 0),
    "beat_corr": ("beat-to-median correlation {lead}", "", 2),
    # expert 4 (features/morphology.py)
    "q_ms": ("Q duration {lead}", "ms", 0), "r_ms": ("R duration {lead}", "ms", 0), "s_ms": ("S duration {lead}", "ms", 0),
    "r2_amp_mv": ("R' amplitude {lead}", "mV", 2), "s2_amp_mv": ("S' amplitude {lead}", "mV", 2),
    "rsr_prime": ("RSR' {lead}", "", 0), "q_r_ratio": ("Q/R {lead}", "", 2), "pathological_q": ("pathological Q {lead}", "", 0),
    "r_peak_time_ms": ("R-peak time {lead}", "ms", 0), "j_mv": ("J point {lead}", "mV", 2),
    "st80_mv": ("ST(J+80) {lead}", "mV", 2), "t_pos_mv": ("T+ {lead}", "mV", 2), "t_neg_mv": ("T- {lead}", "mV", 2),
    "t_symmetry": ("T symmetry {lead}", "", 2), "tpeak_tend_ms": ("Tpeak-Tend {lead}", "ms", 0),
    "p_pos_mv": ("P+ {lead}", "mV", 2), "p_neg_mv": ("P- {lead}", "mV", 2), "t_area_mvms": ("T area {lead}", "mV·ms", 0),
    "qrs_fragmented": ("fragmented QRS {lead}", "", 0), "ptf_v1_mvms": ("P-terminal force V1", "mV·ms", 1),
    "transition_zone": ("transition zone", "", 0), "r_progression_mv_per_lead": ("R progression V1-V4", "mV/lead", 2),
    "poor_r_progression": ("poor R progression", "", 0), "low_voltage_limb": ("low voltage, limb leads", "", 0),
    "low_voltage_precordial": ("low voltage, precordial leads", "", 0), "qt_dispersion_ms": ("QT dispersion", "ms", 0),
    "spatial_qrst_angle_deg": ("spatial QRS-T angle", "°", 0), "cornell_product_mvms": ("Cornell product", "mV·ms", 0),
    "q_inferior_n": ("Q waves, inferior leads", "", 0), "q_anterior_n": ("Q waves, anterior leads", "", 0),
    "q_lateral_n": ("Q waves, lateral leads", "", 0), "st_inferior_mv": ("ST inferior", "mV", 2),
    "st_anterior_mv": ("ST anterior", "mV", 2), "st_lateral_mv": ("ST lateral", "mV", 2),
    # record level
    "hr_bpm": ("heart rate", "bpm", 0), "pr_ms": ("PR", "ms", 0), "qtc_bazett_ms": ("QTc (Bazett)", "ms", 0),
    "qtc_fridericia_ms": ("QTc (Fridericia)", "ms", 0), "axis_deg": ("QRS axis", "°", 0),
    "p_axis_deg": ("P axis", "°", 0), "t_axis_deg": ("T axis", "°", 0), "qrst_angle_deg": ("QRS-T angle", "°", 0),
    "sokolow_lyon_mv": ("Sokolow-Lyon", "mV", 2), "cornell_mv": ("Cornell", "mV", 2), "p_present": ("P wave present", "", 0),
}
_RHYTHM = {
    "rr_mean_ms": ("mean RR", "ms", 0), "rr_sd_ms": ("RR SD", "ms", 0), "rr_cv": ("RR CV", "", 2),
    "rmssd_ms": ("RMSSD", "ms", 0), "pnn50": ("pNN50", "", 2), "rr_sampen": ("RR sample entropy", "", 2),
    "rr_irregularity": ("RR irregularity", "", 2), "premature_count": ("premature beats", "", 0),
    "premature_fraction": ("premature fraction", "", 2), "aberrant_premature_count": ("aberrant premature beats", "", 0),
    "ectopic_fraction": ("ectopic fraction", "", 2), "p_presence": ("P presence", "", 2),
    "fwave_rms_uv": ("f-wave RMS", "µV", 0), "fwave_ratio": ("f-wave power share", "", 2), "n_beats": ("beats", "", 0),
}


def label(name: str) -> str:
    """A short human name: "PR", "QRS V1", "V1 tsfresh autocorrelation lag_3"."""
    lead, family, feature = split_name(name)
    table = _EXPERT if family == "expert" else _RHYTHM if family == "rhythm" else None
    if table and feature in table:
        text = table[feature][0].format(lead="" if lead == "all" else lead).strip()
        return text if lead != "all" or feature not in ("p_ms", "qrs_ms", "qt_ms") else text + " (global)"
    short = feature.replace("__", " ").replace('"', "")
    return f"{lead} {family} {short}" if lead != "all" else f"{family} {short}"


def value_text(name: str, value: float) -> str:
    """The value with its unit: "248 ms", "-0.15 mV", "n/a"."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    _, family, feature = split_name(name)
    table = _EXPERT if family == "expert" else _RHYTHM if family == "rhythm" else {}
    if feature in table:
        _, unit, dec = table[feature]
        return f"{value:.{dec}f} {unit}".strip()
    return f"{value:.3g}"


def reason(name: str, value: float, contribution: float, cls: str) -> str:
    """"PR 248 ms (+0.9 towards I-AVB)" / "QRS V1 92 ms (-0.4 against LBBB)"."""
    way = "towards" if contribution >= 0 else "against"
    return f"{label(name)} {value_text(name, value)} ({contribution:+.2f} {way} {cls})"

"""`expert` family: per-lead physiology measured on the median beat, record-level intervals and axes.

Per lead (`{lead}__expert__...`, amplitudes relative to the lead's PR-segment level):
p_amp_mv, q_amp_mv, r_amp_mv, s_amp_mv, t_amp_mv, p_ms, qrs_ms and qt_ms (the lead's own QRS onset to its QRS offset / T end), rs_ratio (R / (R + |S|),
0..1), qrs_area_mvms, qrs_net_mv (R + Q + S), st60_mv (ST level at J+60 ms), st_slope_mv_s
(J+40 -> J+80 ms), t_polarity (+1 / -1 / 0 when |T| < 0.05 mV), qrs_extrema (turning points in
the QRS with >= 0.05 mV prominence: notching / fragmentation), beat_corr (median correlation of the
dominant beats with the median beat, QRS onset to T end).
Record level (`all__expert__...`): hr_bpm, pr_ms, p_ms, qrs_ms, qt_ms, qtc_bazett_ms,
qtc_fridericia_ms, axis_deg (QRS, from the net areas of I and aVF), p_axis_deg, t_axis_deg,
qrst_angle_deg, sokolow_lyon_mv, cornell_mv, p_present.
Beside these, the per-lead wave morphology (Q/R/S/R'/S' waves, pathological Q, R-peak time, J point,
ST at J+80, T+/T-, T symmetry, Tpeak-Tend, P+/P-, fragmentation) and its record-level criteria
(P-terminal force, R progression, low voltage, QT dispersion, spatial QRS-T angle, Cornell product,
Q waves and ST per territory): features/morphology.py, which defines each of them.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from ..signal.delineate import Delineation
from ..signal.template import Templates
from ..vocab import LEADS, RECORD_LEVEL
from . import morphology

BASE_PER_LEAD = ("p_amp_mv", "q_amp_mv", "r_amp_mv", "s_amp_mv", "t_amp_mv", "p_ms", "qrs_ms", "qt_ms", "rs_ratio",
            "qrs_area_mvms", "qrs_net_mv", "st60_mv", "st_slope_mv_s", "t_polarity", "qrs_extrema", "beat_corr")
BASE_RECORD = ("hr_bpm", "pr_ms", "p_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "axis_deg",
          "p_axis_deg", "t_axis_deg", "qrst_angle_deg", "sokolow_lyon_mv", "cornell_mv", "p_present")
PER_LEAD = BASE_PER_LEAD + morphology.PER_LEAD
RECORD = BASE_RECORD + morphology.RECORD
_I, _AVF = LEADS.index("I"), LEADS.index("aVF")
_AVF_GAIN = np.sqrt(3) / 2  # aVF sees the vertical component at sqrt(3)/2 (Einthoven triangle)


def feature_names() -> list[str]:
    return [f"{lead}__expert__{f}" for lead in LEADS for f in PER_LEAD] + [f"{RECORD_LEVEL}__expert__{f}" for f in RECORD]


def _axis(x_i: float, x_avf: float) -> float:
    return float(np.degrees(np.arctan2(x_avf / _AVF_GAIN, x_i)))


def _extent(mask: np.ndarray) -> tuple[int, int] | None:
    idx = np.flatnonzero(mask)
    return (int(idx[0]), int(idx[-1])) if idx.size else None


def expert_features(tp: Templates, d: Delineation, rr_mean_s: float, rr_median_s: float) -> dict[str, float]:
    fs = tp.fs
    ms = 1000.0 / fs
    rel = tp.template - d.baseline[:, None]                  # (leads, L) mV, PR segment = 0
    n_leads, L = rel.shape
    on, off, tend = d.qrs_on, d.qrs_off, d.t_end
    qrs = rel[:, on:off + 1]
    i_r = np.argmax(qrs, axis=1)
    r_amp = np.maximum(qrs.max(axis=1), 0.0)
    q_amp = np.array([min(0.0, qrs[k, :i_r[k]].min()) if i_r[k] > 0 else 0.0 for k in range(n_leads)])
    s_amp = np.array([min(0.0, qrs[k, i_r[k]:].min()) for k in range(n_leads)])
    j = lambda t_ms: min(off + int(round(t_ms / ms)), L - 1)  # noqa: E731
    w = max(1, int(round(4 / ms)))
    st60 = rel[:, j(60) - w:j(60) + w + 1].mean(axis=1)
    st_slope = (rel[:, j(80)] - rel[:, j(40)]) / 0.040
    t_lo = min(j(80), tend - 1)
    t_seg = rel[:, t_lo:tend + 1]
    t_amp = t_seg[np.arange(n_leads), np.argmax(np.abs(t_seg), axis=1)]
    out: dict[str, np.ndarray] = {
        "q_amp_mv": q_amp, "r_amp_mv": r_amp, "s_amp_mv": s_amp, "t_amp_mv": t_amp,
        "rs_ratio": r_amp / np.maximum(r_amp - s_amp, 1e-6),
        "qrs_area_mvms": qrs.sum(axis=1) * ms, "qrs_net_mv": r_amp + q_amp + s_amp,
        "st60_mv": st60, "st_slope_mv_s": st_slope,
        "t_polarity": np.where(np.abs(t_amp) < 0.05, 0.0, np.sign(t_amp)),
    }
    # per-lead QRS duration and QT from the lead's own boundaries (signal/delineate.py); NaN where the
    # lead's QRS or T is too small to delimit
    out["qrs_ms"] = (d.lead_qrs_off - d.lead_qrs_on) * ms
    out["qt_ms"] = (d.lead_t_end - d.lead_qrs_on) * ms
    extrema = np.zeros(n_leads)
    for k in range(n_leads):
        extrema[k] = len(find_peaks(qrs[k], prominence=0.05)[0]) + len(find_peaks(-qrs[k], prominence=0.05)[0])
    out["qrs_extrema"] = extrema
    # beat-to-template correlation per lead over QRS onset .. T end
    seg_e = tp.epochs[tp.dominant][:, :, on:tend + 1]
    a = seg_e - seg_e.mean(axis=-1, keepdims=True)
    b = tp.template[:, on:tend + 1] - tp.template[:, on:tend + 1].mean(axis=-1, keepdims=True)
    corr = (a * b).sum(-1) / (np.sqrt((a * a).sum(-1) * (b * b).sum(-1)) + 1e-12)
    out["beat_corr"] = np.median(corr, axis=0)
    # P wave per lead
    p_amp = np.full(n_leads, np.nan)
    p_ms = np.full(n_leads, np.nan)
    if d.has_p:
        pseg = rel[:, d.p_on:d.p_off + 1]
        p_amp = pseg[np.arange(n_leads), np.argmax(np.abs(pseg), axis=1)]
        for k in range(n_leads):
            if abs(p_amp[k]) >= 0.03:
                span = _extent(np.abs(pseg[k]) > 0.15 * abs(p_amp[k]))
                if span:
                    p_ms[k] = (span[1] - span[0] + 1) * ms
    out["p_amp_mv"], out["p_ms"] = p_amp, p_ms
    morph, morph_rec = morphology.morphology_features(tp.template, d, fs)
    out.update(morph)
    feats = {f"{lead}__expert__{name}": float(out[name][k]) for k, lead in enumerate(LEADS) for name in PER_LEAD}

    qt = (tend - on) * ms
    area = qrs.sum(axis=1)
    t_area = rel[:, off:tend + 1].sum(axis=1)
    qrs_axis = _axis(area[_I], area[_AVF])
    t_axis = _axis(t_area[_I], t_area[_AVF])
    angle = abs((qrs_axis - t_axis + 180) % 360 - 180)
    lead = {name: k for k, name in enumerate(LEADS)}
    rec = {
        "hr_bpm": 60.0 / rr_mean_s if rr_mean_s > 0 else np.nan,
        "pr_ms": (on - d.p_on) * ms if d.has_p else np.nan,
        "p_ms": (d.p_off - d.p_on) * ms if d.has_p else np.nan,
        "qrs_ms": (off - on) * ms,
        "qt_ms": qt,
        "qtc_bazett_ms": qt / np.sqrt(rr_median_s) if rr_median_s > 0 else np.nan,
        "qtc_fridericia_ms": qt / np.cbrt(rr_median_s) if rr_median_s > 0 else np.nan,
        "axis_deg": qrs_axis,
        "p_axis_deg": _axis(*(rel[[_I, _AVF], d.p_on:d.p_off + 1].sum(axis=1))) if d.has_p else np.nan,
        "t_axis_deg": t_axis,
        "qrst_angle_deg": angle,
        "sokolow_lyon_mv": -s_amp[lead["V1"]] + max(r_amp[lead["V5"]], r_amp[lead["V6"]]),
        "cornell_mv": r_amp[lead["aVL"]] - s_amp[lead["V3"]],
        "p_present": float(d.has_p),
        **morph_rec,
    }
    feats.update({f"{RECORD_LEVEL}__expert__{k}": float(v) for k, v in rec.items()})
    return feats

"""Per-lead QRS-ST-T-P morphology as electrocardiographs measure it, on the per-lead boundaries.

Part of the `expert` family (features/expert.py merges these columns). Everything is measured on
the median beat (`Templates.template`) with the boundaries of `signal.delineate.Delineation`; a
feature that needs a boundary the delineation could not place (a lead's QRS under 0.1 mV, a flat T,
no P wave) is NaN, never 0.

Wave recognition, as the carts do it (GE 12SL, Glasgow): inside the lead's own QRS (its
`lead_qrs_on` .. `lead_qrs_off`), relative to the lead's level at its QRS onset, the QRS is cut at
the baseline crossings into lobes; a lobe counts as a wave when it reaches WAVE_MIN_MV, and two
lobes of one sign separated only by a smaller dip are one notched wave. The first positive wave is
R, a negative wave before it Q (all the QRS when it never rises: QS), the negative wave after R is
S, then R' and S'.

Per lead (`{lead}__expert__...`):

q_ms, r_ms, s_ms
    Duration of the Q, R and S waves between their baseline crossings (ms); 0 when the wave is absent.
r2_amp_mv, s2_amp_mv
    Amplitude of R' (mV, >= 0) and of S' (mV, <= 0, the sign of the S wave); 0 when absent.
rsr_prime
    1 when the QRS has a second R wave separated from R by an S crossing the baseline (rSR', RSR',
    RBBB in V1), else 0.
q_r_ratio
    |Q| / R amplitude of the R wave that follows the Q (0 without Q); NaN when there is no R (QS).
pathological_q
    1 when the lead's Q wave meets the Q-wave criteria of the Fourth Universal Definition of MI
    (Thygesen et al. 2018): in V2-V3 any Q >= 20 ms or a QS complex; in I, II, III, aVL, aVF and
    V4-V6 a Q >= 30 ms and >= 0.1 mV deep, or a QS complex; else 0. aVR and V1 are never flagged
    (a QS there is normal). The definition lists III within the inferior grouping (II, III, aVF),
    so III takes the limb-lead rule.
r_peak_time_ms
    Lead QRS onset to the peak of its last R wave (R' when present; a notched R's last peak): the
    intrinsicoid deflection (> 50 ms in V1 for RBBB, > 60 ms in V5/V6 for LBBB, AHA/ACC/HRS 2009);
    NaN without R wave.
j_mv, st80_mv
    Level at the lead's QRS offset (the J point, one sample) and at J + 80 ms (mean over 8 ms),
    against the PR-segment level (mV). ST elevation / depression criteria (Universal definition of MI: >= 0.1
    mV in two contiguous leads, V2-V3 >= 0.15-0.25 mV) read j_mv.
t_pos_mv, t_neg_mv
    Largest positive / negative deflection of the T wave (mV; t_neg <= 0), from the (global) J +
    60 ms to the lead's T end (the global T end when the lead's T is too flat for its own); 0 when the T wave
    never goes that way. Both non-zero: a biphasic T.
t_symmetry
    T onset-to-peak over peak-to-end duration (> 1: the normal slow ascent and fast descent; ~1 a
    symmetric, 'coronary' T). The T onset mirrors the delineator's T end: going back from the peak,
    where the ascent has flattened to 10 % of its steepest slope. NaN without the lead's T end.
tpeak_tend_ms
    T peak to the lead's T end (ms; dispersion of repolarisation, > ~100 ms abnormal). NaN without
    the lead's T end.
p_pos_mv, p_neg_mv
    Largest positive / negative deflection inside the P wave (mV; both non-zero: a biphasic P, as in
    V1). NaN without P wave.
t_area_mvms
    Area of the ST-T segment, lead J point to T end (mV x ms, signed).
qrs_fragmented
    1 when the QRS has an R' or a notch: inside one wave (the R, the nadir of the S, a Q or QS) a
    sample >= WAVE_MIN_MV under the wave's highest point on both sides of it. The fQRS patterns of
    Das et al., Circulation 113 (2006) 2495, per lead (Das asks for two contiguous leads; the model sees every lead's flag).
    Typical bundle branch block notching counts too: read it beside qrs_ms.

Record level (`all__expert__...`):

ptf_v1_mvms
    P-terminal force in V1 (Morris et al., Circulation 29, 1964): duration (ms) x depth (mV) of the
    terminal negative part of V1's P wave, as a magnitude (>= 0; 0 when V1's P ends positive);
    abnormal (left atrial abnormality) when >= 4 mV x ms (0.04 mm x s). NaN without P or V1.
transition_zone
    First precordial lead (1 = V1 .. 6 = V6) whose tallest R wave (R or R') is at least its deepest
    negative wave (Q, S or QS): R >= |S|; 7 when none; NaN when a lead before it cannot be measured.
r_progression_mv_per_lead
    Least-squares slope of the tallest R wave over V1..V4 (mV per lead; >= 3 leads measured).
poor_r_progression
    1 when the R wave in V3 is <= 0.3 mV (poor R-wave progression), else 0; NaN without V3.
low_voltage_limb, low_voltage_precordial
    1 when every limb lead's QRS peak to peak is < 0.5 mV (every precordial lead's < 1.0 mV), else 0.
qt_dispersion_ms
    Largest minus smallest per-lead QT (lead QRS onset to lead T end, ms), over >= 6 measured leads.
spatial_qrst_angle_deg
    3-D angle between the mean QRS and the mean ST-T vectors (the integrals from QRS onset to offset
    and from offset to T end) of the VCG reconstructed by the Kors regression (Kors et al., Eur
    Heart J 11, 1990); > 100 deg abnormal.
cornell_product_mvms
    Cornell voltage (R in aVL + |S| in V3, mV) x QRS duration (ms), without the +0.8 mV women's
    correction (the records carry no sex for the features): LVH when >= 244 mV x ms (2440 mm x ms,
    Molloy et al., JACC 20, 1992).
q_inferior_n, q_anterior_n, q_lateral_n
    Leads with pathological_q in II/III/aVF, V1-V4, I/aVL/V5/V6 (NaN when none of them is measured).
st_inferior_mv, st_anterior_mv, st_lateral_mv
    The territory's J-point level (j_mv) of largest magnitude, signed (mV).
"""

from __future__ import annotations

import numpy as np

from ..signal.delineate import Delineation
from ..signal.filters import moving_average
from ..vocab import LEADS, LIMB_LEADS, PRECORDIAL_LEADS

PER_LEAD = ("q_ms", "r_ms", "s_ms", "r2_amp_mv", "s2_amp_mv", "rsr_prime", "q_r_ratio", "pathological_q",
            "r_peak_time_ms", "j_mv", "st80_mv", "t_pos_mv", "t_neg_mv", "t_symmetry", "tpeak_tend_ms",
            "p_pos_mv", "p_neg_mv", "t_area_mvms", "qrs_fragmented")
RECORD = ("ptf_v1_mvms", "transition_zone", "r_progression_mv_per_lead", "poor_r_progression", "low_voltage_limb",
          "low_voltage_precordial", "qt_dispersion_ms", "spatial_qrst_angle_deg", "cornell_product_mvms",
          "q_inferior_n", "q_anterior_n", "q_lateral_n", "st_inferior_mv", "st_anterior_mv", "st_lateral_mv")

WAVE_MIN_MV = 0.03       # the smallest deflection that is a wave (or a notch): carts label waves of ~20-30 uV
# Q-wave criteria of the Fourth Universal Definition of MI (Thygesen et al. 2018): (duration ms,
# depth mV) of a Q that is pathological in each lead; a QS complex counts in the same leads
Q_CRITERIA = {lead: (30.0, 0.1) for lead in ("I", "II", "III", "aVL", "aVF", "V4", "V5", "V6")}
Q_CRITERIA.update({"V2": (20.0, 0.0), "V3": (20.0, 0.0)})   # aVR, V1: not diagnostic
T_START_MS = 60.0        # the T wave is looked for from J + 60 ms (as the delineator does)
XI_T_ON = 0.1            # T onset: the ascent to the T peak flattened to 10 % of its steepest slope
LOW_LIMB_MV, LOW_PRECORDIAL_MV = 0.5, 1.0
POOR_R_V3_MV = 0.3
QTD_MIN_LEADS = 6
TERRITORIES = {"inferior": ("II", "III", "aVF"), "anterior": ("V1", "V2", "V3", "V4"),
               "lateral": ("I", "aVL", "V5", "V6")}
# Kors regression: (X, Y, Z) from I, II, V1..V6 (Kors et al. 1990)
KORS_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
KORS = np.array([[0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
                 [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
                 [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31]])
_IDX = {name: k for k, name in enumerate(LEADS)}


def feature_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(per-lead names, record-level names) of the morphology columns."""
    return PER_LEAD, RECORD


def qrs_waves(x: np.ndarray, min_mv: float = WAVE_MIN_MV) -> list[dict]:
    """The waves of one lead's QRS `x` (mV, relative to its level at QRS onset), in time order.

    Each wave: sign (+1 / -1), start and end (indices of its first and last sample on its side of
    the baseline), peak (index of its extreme), amp (signed mV), notched (a dip of >= min_mv
    under its highest point on both sides), last_peak (the extreme after its last dip: a notched R's
    second peak; else peak).
    Lobes under min_mv are not waves; same-sign lobes left adjacent by them merge into one wave. A
    last lobe that has not come back by min_mv from its peak at the QRS end is the ST segment
    leaving the baseline (the J point of an ST elevation or depression), not a wave.
    """
    pos = x > 0
    cut = np.flatnonzero(pos[1:] != pos[:-1]) + 1
    bounds = np.concatenate(([0], cut, [x.size]))
    waves: list[dict] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        sign = 1 if pos[a] else -1
        seg = sign * x[a:b]
        if seg.max() < min_mv:
            continue
        if waves and waves[-1]["sign"] == sign:      # the dip between them did not make a wave
            waves[-1]["end"] = b - 1
        else:
            waves.append({"sign": sign, "start": int(a), "end": int(b - 1)})
    if len(waves) > 1:
        last = waves[-1]
        y = last["sign"] * x[last["start"]:]
        if y.max() - y[-1] < min_mv:   # still rising into the J point: ST elevation (depression), not a wave
            waves.pop()
    for w in waves:
        y = w["sign"] * x[w["start"]:w["end"] + 1]
        w["peak"] = w["start"] + int(np.argmax(y))
        w["amp"] = float(x[w["peak"]])
        # a notch: a sample at least min_mv under the wave's highest point on either side of it
        left = np.maximum.accumulate(np.concatenate(([-np.inf], y[:-1])))
        right = np.maximum.accumulate(np.concatenate((y[:0:-1], [-np.inf])))[::-1]
        dips = np.flatnonzero(np.minimum(left, right) - y >= min_mv)
        w["notched"] = bool(dips.size)
        w["last_peak"] = w["start"] + int(dips[-1]) + 1 + int(np.argmax(y[dips[-1] + 1:])) if dips.size else w["peak"]
    return waves


def label_waves(waves: list[dict]) -> dict[str, dict | None]:
    """Q, R, S, R', S' (keys q, r, s, r2, s2; None when absent) from `qrs_waves` output.

    QS complex (no positive wave): every negative wave together is the Q.
    """
    out: dict[str, dict | None] = dict.fromkeys(("q", "r", "s", "r2", "s2"))
    first_r = next((i for i, w in enumerate(waves) if w["sign"] > 0), None)
    if first_r is None:
        if waves:
            out["q"] = {"sign": -1, "start": waves[0]["start"], "end": waves[-1]["end"],
                        "amp": min(w["amp"] for w in waves), "notched": len(waves) > 1 or waves[0]["notched"]}
        return out
    if first_r > 0:
        out["q"] = waves[first_r - 1]
    rest = iter(waves[first_r:])
    for key in ("r", "s", "r2", "s2"):
        out[key] = next(rest, None)
    return out


def _ms(w: dict | None, ms: float) -> float:
    return 0.0 if w is None else (w["end"] - w["start"] + 1) * ms


def pathological_q(lead: str, q_ms: float, q_depth_mv: float, qs: bool) -> float:
    """1.0 when a Q of `q_ms` and `q_depth_mv` (or a QS complex) in `lead` meets the Q-wave criteria
    of the Fourth Universal Definition of MI (`Q_CRITERIA`), else 0.0.

    >>> pathological_q("III", 32.0, 0.15, False), pathological_q("V2", 22.0, 0.05, False)
    (1.0, 1.0)
    >>> pathological_q("aVL", 32.0, 0.05, False), pathological_q("V1", 0.0, 0.0, True)
    (0.0, 0.0)
    """
    rule = Q_CRITERIA.get(lead)
    if rule is None or q_ms <= 0:
        return 0.0
    return float(qs or (q_ms >= rule[0] and q_depth_mv >= rule[1]))


def _qrs_lead(x: np.ndarray, ms: float, lead: str) -> dict[str, float]:
    """The QRS features of one lead from its QRS samples `x` (relative to the onset level)."""
    waves = qrs_waves(x)
    lab = label_waves(waves)
    q, r = lab["q"], lab["r"]
    q_amp, r_amp = (abs(q["amp"]) if q else 0.0), (r["amp"] if r else 0.0)
    last_r = lab["r2"] or r
    return {
        "q_ms": _ms(q, ms), "r_ms": _ms(r, ms), "s_ms": _ms(lab["s"], ms),
        "r2_amp_mv": lab["r2"]["amp"] if lab["r2"] else 0.0,
        "s2_amp_mv": lab["s2"]["amp"] if lab["s2"] else 0.0,
        "rsr_prime": float(lab["r2"] is not None),
        "q_r_ratio": q_amp / r_amp if r_amp > 0 else np.nan,
        "pathological_q": pathological_q(lead, _ms(q, ms), q_amp, q is not None and r is None),
        "r_peak_time_ms": last_r["last_peak"] * ms if last_r else np.nan,
        "qrs_fragmented": float(lab["r2"] is not None or any(w["notched"] for w in waves)
                                or bool(q and q["notched"])),
        # the tallest R (R') and the deepest Q, S or QS, for the R-wave progression
        "up_mv": max((w["amp"] for w in waves if w["sign"] > 0), default=0.0),
        "down_mv": min((w["amp"] for w in waves if w["sign"] < 0), default=0.0),
    }


def _t_lead(y: np.ndarray, fs: float, peak: int, end: int) -> tuple[float, float]:
    """(t_symmetry, tpeak_tend_ms) of a T wave `y` (smoothed, the T's sign made positive)."""
    ms = 1000.0 / fs
    rise = np.diff(y[:peak + 1])
    if peak < 2 or end <= peak or rise.max() <= 0:
        return np.nan, (end - peak) * ms if end > peak else np.nan
    m = int(np.argmax(rise))
    flat = np.flatnonzero(rise[:m + 1] <= XI_T_ON * rise[m])
    onset = int(flat[-1]) + 1 if flat.size else 0
    return (peak - onset) / (end - peak), (end - peak) * ms


def _window(rel_k: np.ndarray, a: int, b: int) -> np.ndarray:
    return rel_k[max(a, 0):max(min(b, rel_k.size), max(a, 0))]


def morphology_features(template: np.ndarray, d: Delineation, fs: float) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per-lead ({name: (leads,) array}) and record-level ({name: value}) morphology of a median beat.

    `template` (leads, L) in mV in the standard lead order; amplitudes are read against
    `d.baseline` (the PR-segment level of each lead). See the module docstring for every feature.
    """
    ms = 1000.0 / fs
    rel = template - d.baseline[:, None]
    n, L = rel.shape
    present = np.ptp(template, axis=1) > 0        # a blanked (zeroed) lead measures nothing
    per = {name: np.full(n, np.nan) for name in PER_LEAD + ("up_mv", "down_mv")}
    nan = np.full(n, np.nan)
    on_l = d.lead_qrs_on if d.lead_qrs_on is not None else nan
    off_l = d.lead_qrs_off if d.lead_qrs_off is not None else nan
    tend_l = d.lead_t_end if d.lead_t_end is not None else nan
    half = max(1, int(round(4 / ms)))
    smooth = moving_average(rel, max(1, int(0.008 * fs)))
    for k in np.flatnonzero(present):
        on, off = on_l[k], off_l[k]
        if np.isfinite(on) and np.isfinite(off) and off > on:
            on, off = int(on), int(off)
            x = rel[k, on:off + 1] - rel[k, on]
            for name, v in _qrs_lead(x, ms, LEADS[k]).items():
                per[name][k] = v
            per["j_mv"][k] = rel[k, off]
            j80 = off + int(round(80 / ms))
            if j80 + half < L:
                per["st80_mv"][k] = rel[k, j80 - half:j80 + half + 1].mean()
        # the T wave: from the global J + 60 ms (where the delineator sought each lead's T peak) to the
        # lead's T end (the global one for a T too flat for its own); the ST-T area from the lead's J
        j = int(off) if np.isfinite(off) else d.qrs_off
        own_end = np.isfinite(tend_l[k])
        t_end = int(round(tend_l[k])) if own_end else d.t_end
        t_lo = min(d.qrs_off + int(round(T_START_MS / ms)), L - 1)
        seg = _window(rel[k], t_lo, t_end + 1)
        if seg.size >= 2:
            per["t_pos_mv"][k], per["t_neg_mv"][k] = max(seg.max(), 0.0), min(seg.min(), 0.0)
            per["t_area_mvms"][k] = _window(rel[k], j, t_end + 1).sum() * ms
            if own_end:
                sm = smooth[k, t_lo:t_end + 1]
                peak = int(np.argmax(np.abs(sm)))
                per["t_symmetry"][k], per["tpeak_tend_ms"][k] = _t_lead(np.sign(sm[peak]) * sm, fs, peak, sm.size - 1)
        if d.has_p:
            p = rel[k, d.p_on:d.p_off + 1]
            per["p_pos_mv"][k], per["p_neg_mv"][k] = max(p.max(), 0.0), min(p.min(), 0.0)
    qt = np.where(present, (tend_l - on_l) * ms, np.nan)
    rec = _record_level(rel, d, fs, per, qt, present)
    return {name: per[name] for name in PER_LEAD}, {name: rec[name] for name in RECORD}


def _ptf_v1(rel_v1: np.ndarray, d: Delineation, ms: float) -> float:
    """P-terminal force in V1 (magnitude, mV x ms): duration x depth of the P's last negative lobe.

    0 when the P wave has no negative part, or when a positive wave (>= WAVE_MIN_MV) follows it.
    """
    p = rel_v1[d.p_on:d.p_off + 1]
    neg = np.flatnonzero(p < 0)
    if neg.size == 0:
        return 0.0
    last = int(neg[-1])
    if last + 1 < p.size and p[last + 1:].max() >= WAVE_MIN_MV:
        return 0.0            # the P ends positive: no terminal negativity
    first = last
    while first > 0 and p[first - 1] < 0:
        first -= 1
    return float((last - first + 1) * ms * -p[first:last + 1].min())


def _all_or_none(values: np.ndarray, below: float) -> float:
    """1 when every measured value is < below (and none is missing), 0 when one is not, else NaN."""
    measured = values[np.isfinite(values)]
    if (measured >= below).any():
        return 0.0
    return 1.0 if measured.size == values.size else np.nan


def _record_level(rel: np.ndarray, d: Delineation, fs: float, per: dict[str, np.ndarray],
                  qt: np.ndarray, present: np.ndarray) -> dict[str, float]:
    ms = 1000.0 / fs
    on, off, tend = d.qrs_on, d.qrs_off, d.t_end
    out: dict[str, float] = {}
    v1 = _IDX["V1"]
    out["ptf_v1_mvms"] = _ptf_v1(rel[v1], d, ms) if d.has_p and present[v1] else np.nan
    # R wave progression on the leads' own QRS
    up, down = per["up_mv"], per["down_mv"]
    zone = 7.0
    for i, lead in enumerate(PRECORDIAL_LEADS, start=1):
        k = _IDX[lead]
        if not np.isfinite(up[k]):
            zone = np.nan
            break
        if up[k] >= -down[k]:
            zone = float(i)
            break
    out["transition_zone"] = zone
    r = np.array([up[_IDX[lead]] for lead in ("V1", "V2", "V3", "V4")])
    ok = np.isfinite(r)
    lead_no = np.flatnonzero(ok) + 1.0
    out["r_progression_mv_per_lead"] = (float(np.cov(lead_no, r[ok], bias=True)[0, 1] / lead_no.var())
                                     if ok.sum() >= 3 else np.nan)
    out["poor_r_progression"] = float(r[2] <= POOR_R_V3_MV) if ok[2] else np.nan
    ptp = np.where(present, np.ptp(rel[:, on:off + 1], axis=1), np.nan)
    out["low_voltage_limb"] = _all_or_none(ptp[[_IDX[lead] for lead in LIMB_LEADS]], LOW_LIMB_MV)
    out["low_voltage_precordial"] = _all_or_none(ptp[[_IDX[lead] for lead in PRECORDIAL_LEADS]], LOW_PRECORDIAL_MV)
    q = qt[np.isfinite(qt)]
    out["qt_dispersion_ms"] = float(q.max() - q.min()) if q.size >= QTD_MIN_LEADS else np.nan
    kors = [_IDX[lead] for lead in KORS_LEADS]
    if present[kors].all() and tend > off:
        vcg = KORS @ rel[kors]
        a, b = vcg[:, on:off + 1].sum(axis=1), vcg[:, off:tend + 1].sum(axis=1)
        den = np.linalg.norm(a) * np.linalg.norm(b)
        out["spatial_qrst_angle_deg"] = float(np.degrees(np.arccos(np.clip(a @ b / den, -1, 1)))) if den > 0 else np.nan
    else:
        out["spatial_qrst_angle_deg"] = np.nan
    qrs = rel[:, on:off + 1]
    avl, v3 = _IDX["aVL"], _IDX["V3"]
    i_r = int(np.argmax(qrs[v3]))
    cornell = max(qrs[avl].max(), 0.0) - min(qrs[v3, i_r:].min(), 0.0)
    out["cornell_product_mvms"] = float(cornell * (off - on) * ms) if present[avl] and present[v3] else np.nan
    for name, leads in TERRITORIES.items():
        idx = [_IDX[lead] for lead in leads]
        flags, j = per["pathological_q"][idx], per["j_mv"][idx]
        out[f"q_{name}_n"] = float(np.nansum(flags)) if np.isfinite(flags).any() else np.nan
        jf = j[np.isfinite(j)]
        out[f"st_{name}_mv"] = float(jf[np.argmax(np.abs(jf))]) if jf.size else np.nan
    return out

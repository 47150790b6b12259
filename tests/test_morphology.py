"""Per-lead wave morphology (features/morphology.py) against hand-made median beats and the generator.

The hand-made beat: every wave a half-sine lobe (exact baseline crossings) or a half-Gaussian T,
so each duration, amplitude and time below is known to the sample (2 ms at 500 Hz).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgfeat.features import expert
from ecgfeat.features.morphology import KORS, KORS_LEADS, PER_LEAD, RECORD, morphology_features, qrs_waves
from ecgfeat.features.extract import analyse
from ecgfeat.record import Record
from ecgfeat.signal.delineate import Delineation
from ecgfeat.signal.template import Templates
from ecgfeat.synth.assemble import make_record
from ecgfeat.synth.generator import STD_TERRITORIES, STE_TERRITORIES
from ecgfeat.vocab import LEADS

FS = 500.0
L = 600
ON = 200                  # QRS onset, template index
MS = 1000.0 / FS
U = 2.7648                # a half-Gaussian's slope falls to 10 % of its steepest at U sigma from its peak
T_PEAK_MS = 300.0


def idx(t_ms: float) -> int:
    return ON + int(round(t_ms / MS))


def t_ms() -> np.ndarray:
    return (np.arange(L) - ON) * MS


def lobes(*spec) -> np.ndarray:
    """Contiguous half-sine lobes: (start_ms, end_ms, amp_mv) relative to the QRS onset."""
    t, x = t_ms(), np.zeros(L)
    for a, b, amp in spec:
        inside = (t >= a) & (t <= b)
        x[inside] += amp * np.sin(np.pi * (t[inside] - a) / (b - a))
    return x


def half_gauss(peak_ms: float, amp: float, rise: float, fall: float) -> np.ndarray:
    t = t_ms()
    s = np.where(t < peak_ms, rise, fall)
    return amp * np.exp(-0.5 * ((t - peak_ms) / s) ** 2)


def ramp(level: float, from_ms: float, to_ms: float, width: float = 20.0) -> np.ndarray:
    """An ST shift: `level` from `from_ms` (reached over `width` ms before it) to `to_ms`."""
    t = t_ms()
    up = np.clip((t - (from_ms - width)) / width, 0, 1)
    down = np.clip(1 - (t - to_ms) / 40.0, 0, 1)
    return level * np.minimum(up, down)


QRS = {   # lead: (half-sine lobes, QRS end ms)
    "I": [(0, 16, -0.05), (16, 70, 1.0), (70, 100, -0.2)],
    "II": [(0, 16, -0.05), (16, 70, 1.0), (70, 100, -0.2)],
    "III": [(0, 50, -0.5), (50, 100, 0.8)],                       # QR, Q of 50 ms: pathological
    "aVR": [(0, 90, -0.8)],                                        # QS
    "aVL": [(0, 40, 0.6), (40, 80, 0.6), (80, 100, -0.2)],         # R notched down to the baseline
    "aVF": [(0, 60, 0.04)],                                        # too small: no lead boundaries
    "V1": [(0, 30, 0.3), (30, 60, -0.6), (60, 110, 0.5)],          # rSR'
    "V2": [(0, 30, 0.2), (30, 90, -1.2)],                          # rS
    "V3": [(0, 40, 0.7), (40, 90, -0.6)],                          # RS: the transition
    "V4": [(0, 50, 1.2), (50, 90, -0.4)],
    "V5": [(0, 60, 1.5), (60, 90, -0.2)],
    "V6": [(0, 20, -0.4), (20, 80, 1.2)],                          # q 33 % of R but 20 ms: septal, not pathological
}
ST = {"V2": 0.25, "V3": 0.25, "II": -0.1, "III": -0.1}            # at J, held 150 ms
P_ON_MS, P_OFF_MS = -160.0, -80.0


def hand_made(with_p: bool = True) -> tuple[np.ndarray, Delineation]:
    """The hand-made median beat (12, L) and its delineation (boundaries as built)."""
    x = np.zeros((12, L))
    lead_on, lead_off, lead_tend = np.full(12, np.nan), np.full(12, np.nan), np.full(12, np.nan)
    for k, lead in enumerate(LEADS):
        spec = QRS[lead]
        end = spec[-1][1]
        x[k] = lobes(*spec) + ramp(ST.get(lead, 0.0), end, end + 150)
        if lead != "aVF":
            lead_on[k], lead_off[k] = ON, idx(end)
        if lead == "V1":      # biphasic T; too irregular for its own T end
            x[k] += half_gauss(250, 0.2, 25, 25) + half_gauss(330, -0.3, 25, 25)
        elif lead == "aVR":   # inverted symmetric T
            x[k] += half_gauss(T_PEAK_MS, -0.3, 30, 30)
            lead_tend[k] = idx(T_PEAK_MS + U * 30)
        else:                 # the normal T: slow ascent (40 ms) and fast descent (20 ms)
            x[k] += half_gauss(T_PEAK_MS, 0.3, 40, 20)
            lead_tend[k] = idx(T_PEAK_MS + U * 20)
        if with_p:
            v1 = lead == "V1"
            x[k] += lobes((P_ON_MS, -120, 0.08), (-120, P_OFF_MS, -0.1)) if v1 else lobes((P_ON_MS, P_OFF_MS, 0.1))
    d = Delineation(qrs_on=ON, qrs_off=idx(110), t_peak=idx(T_PEAK_MS), t_end=idx(T_PEAK_MS + U * 20),
                    p_on=idx(P_ON_MS) if with_p else None, p_peak=idx(-120) if with_p else None,
                    p_off=idx(P_OFF_MS) if with_p else None, baseline=np.zeros(12), p_height=0.1 if with_p else 0.0,
                    lead_qrs_on=lead_on, lead_qrs_off=lead_off, lead_t_end=lead_tend)
    return x, d


@pytest.fixture(scope="module")
def measured():
    x, d = hand_made()
    per, rec = morphology_features(x, d, FS)
    return {lead: {n: per[n][k] for n in PER_LEAD} for k, lead in enumerate(LEADS)}, rec


def test_wave_durations_and_labels(measured):
    per, _ = measured
    ms = pytest.approx
    assert (per["I"]["q_ms"], per["I"]["r_ms"], per["I"]["s_ms"]) == (ms(16, abs=2.5), ms(54, abs=2.5), ms(30, abs=2.5))
    assert (per["III"]["q_ms"], per["III"]["r_ms"], per["III"]["s_ms"]) == (ms(50, abs=2.5), ms(50, abs=2.5), 0.0)
    assert per["V2"]["q_ms"] == 0.0 and per["V4"]["s_ms"] == ms(40, abs=2.5)
    assert per["aVR"]["q_ms"] == ms(90, abs=2.5) and per["aVR"]["r_ms"] == 0.0


def test_rsr_prime_and_r_peak_time(measured):
    per, _ = measured
    v1 = per["V1"]
    assert v1["rsr_prime"] == 1.0 and v1["r2_amp_mv"] == pytest.approx(0.5, abs=0.005)
    assert v1["r_peak_time_ms"] == pytest.approx(85, abs=2.5)       # onset to the peak of R'
    assert v1["s2_amp_mv"] == 0.0 and v1["qrs_fragmented"] == 1.0
    assert per["V5"]["r_peak_time_ms"] == pytest.approx(30, abs=2.5) and per["V5"]["rsr_prime"] == 0.0
    assert per["aVL"]["r_peak_time_ms"] == pytest.approx(60, abs=2.5)  # the notched R's last peak
    assert np.isnan(per["aVR"]["r_peak_time_ms"])                      # QS: no R


def test_notched_r_is_fragmented_not_rsr_prime(measured):
    per, _ = measured
    assert per["aVL"]["rsr_prime"] == 0.0 and per["aVL"]["qrs_fragmented"] == 1.0
    assert per["aVL"]["r_ms"] == pytest.approx(80, abs=2.5)            # one notched wave, not two
    assert all(per[lead]["qrs_fragmented"] == 0.0 for lead in ("I", "II", "III", "V2", "V3", "V4", "V5", "V6"))


def test_q_waves(measured):
    per, rec = measured
    assert per["I"]["q_r_ratio"] == pytest.approx(0.05, abs=0.002) and per["I"]["pathological_q"] == 0.0
    assert per["III"]["pathological_q"] == 1.0 and per["III"]["q_r_ratio"] == pytest.approx(0.625, abs=0.01)
    # Fourth Universal Definition of MI: a Q in V6 must last >= 30 ms, however deep; aVR is not diagnostic
    assert per["V6"]["pathological_q"] == 0.0 and per["V6"]["q_ms"] == pytest.approx(20, abs=2.5)
    assert per["aVR"]["pathological_q"] == 0.0 and np.isnan(per["aVR"]["q_r_ratio"])             # QS in aVR: normal
    assert per["V4"]["pathological_q"] == 0.0 and per["V4"]["q_r_ratio"] == 0.0
    # territories: III (aVF not measured), none in V1-V4 or the lateral leads
    assert (rec["q_inferior_n"], rec["q_anterior_n"], rec["q_lateral_n"]) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("lead, q_ms, depth, qs, expected", [
    ("V2", 22.0, 0.05, False, 1.0),    # any Q >= 20 ms in V2-V3
    ("V3", 18.0, 0.30, False, 0.0),
    ("V3", 40.0, 0.50, True, 1.0),     # QS in V2-V3
    ("II", 32.0, 0.12, False, 1.0),    # >= 30 ms and >= 0.1 mV elsewhere
    ("aVL", 32.0, 0.08, False, 0.0),   # too shallow
    ("V5", 28.0, 0.60, False, 0.0),    # too short
    ("aVL", 40.0, 0.30, True, 1.0),    # QS in aVL
    ("V1", 40.0, 0.80, True, 0.0),     # QS in V1 is normal
    ("aVR", 60.0, 0.80, False, 0.0),
    ("I", 0.0, 0.0, False, 0.0),       # no Q
])
def test_pathological_q_follows_the_universal_definition(lead, q_ms, depth, qs, expected):
    from ecgfeat.features.morphology import pathological_q
    assert pathological_q(lead, q_ms, depth, qs) == expected


def test_j_point_st_and_territories(measured):
    per, rec = measured
    for lead, level in ST.items():
        assert per[lead]["j_mv"] == pytest.approx(level, abs=0.01), lead
        assert per[lead]["st80_mv"] == pytest.approx(level, abs=0.005), lead
        assert per[lead]["rsr_prime"] == 0.0, lead       # rising into an elevated J point is no R'
    assert per["V5"]["j_mv"] == pytest.approx(0.0, abs=0.005)
    assert rec["st_anterior_mv"] == pytest.approx(0.25, abs=0.01)
    assert rec["st_inferior_mv"] == pytest.approx(-0.1, abs=0.01)
    assert rec["st_lateral_mv"] == pytest.approx(0.0, abs=0.01)


def test_t_wave_shape(measured):
    per, _ = measured
    assert per["V1"]["t_pos_mv"] == pytest.approx(0.2, abs=0.01) and per["V1"]["t_neg_mv"] == pytest.approx(-0.3, abs=0.01)
    assert per["V5"]["t_pos_mv"] == pytest.approx(0.3, abs=0.005) and per["V5"]["t_neg_mv"] == 0.0
    assert per["V5"]["t_symmetry"] == pytest.approx(2.0, abs=0.15)            # 40 ms ascent, 20 ms descent
    assert per["aVR"]["t_symmetry"] == pytest.approx(1.0, abs=0.1)
    assert per["V5"]["tpeak_tend_ms"] == pytest.approx(U * 20, abs=2.5)
    assert per["aVR"]["tpeak_tend_ms"] == pytest.approx(U * 30, abs=2.5)
    assert np.isnan(per["V1"]["t_symmetry"]) and np.isnan(per["V1"]["tpeak_tend_ms"])   # no T end of its own
    area = -0.3 * 30 * np.sqrt(2 * np.pi)                                     # the Gaussian T's area
    assert per["aVR"]["t_area_mvms"] == pytest.approx(area, rel=0.03)


def test_p_wave_and_terminal_force(measured):
    per, rec = measured
    assert per["V1"]["p_pos_mv"] == pytest.approx(0.08, abs=0.002) and per["V1"]["p_neg_mv"] == pytest.approx(-0.1, abs=0.002)
    assert per["II"]["p_neg_mv"] == 0.0 and per["II"]["p_pos_mv"] == pytest.approx(0.1, abs=0.002)
    assert rec["ptf_v1_mvms"] == pytest.approx(40 * 0.1, abs=0.3)             # 40 ms x 0.1 mV


def test_r_progression_voltage_cornell_dispersion(measured):
    _, rec = measured
    assert rec["transition_zone"] == 3.0                      # V3: R 0.7 >= |S| 0.6
    # the tallest R wave: V1's R' 0.5, then 0.2, 0.7, 1.2 (V2's ST elevation at J is no R wave)
    assert rec["r_progression_mv_per_lead"] == pytest.approx(0.26, abs=0.005)
    assert rec["poor_r_progression"] == 0.0
    assert rec["low_voltage_limb"] == 0.0 and rec["low_voltage_precordial"] == 0.0
    assert rec["cornell_product_mvms"] == pytest.approx((0.6 + 0.6) * 110, abs=1.0)
    assert rec["qt_dispersion_ms"] == pytest.approx(U * 30 - U * 20, abs=2.5)


def test_no_p_wave_gives_nan_not_zero():
    x, d = hand_made(with_p=False)
    per, rec = morphology_features(x, d, FS)
    assert np.isnan(per["p_pos_mv"]).all() and np.isnan(per["p_neg_mv"]).all() and np.isnan(rec["ptf_v1_mvms"])
    assert np.isfinite(per["q_ms"][LEADS.index("V1")])


def test_lead_without_boundaries_or_signal_is_nan():
    x, d = hand_made()
    x[LEADS.index("V3")] = 0.0                # a blanked lead (the quality gate zeroes it)
    per, rec = morphology_features(x, d, FS)
    avf, v3 = LEADS.index("aVF"), LEADS.index("V3")
    for name in ("q_ms", "r_ms", "rsr_prime", "pathological_q", "r_peak_time_ms", "j_mv", "st80_mv", "qrs_fragmented"):
        assert np.isnan(per[name][avf]), name           # QRS under 0.1 mV: no lead boundaries
    assert all(np.isnan(per[name][v3]) for name in PER_LEAD)
    assert np.isfinite(per["t_pos_mv"][avf])              # the T is still read, in the global window
    assert np.isnan(rec["transition_zone"]) and np.isnan(rec["poor_r_progression"]) and np.isnan(rec["cornell_product_mvms"])
    assert np.isnan(rec["spatial_qrst_angle_deg"])        # V3 is one of the Kors leads


def test_low_voltage_flags_and_missing_leads():
    x, d = hand_made()
    x[:6] *= 0.3                                           # every limb lead under 0.5 mV peak to peak
    assert morphology_features(x, d, FS)[1]["low_voltage_limb"] == 1.0
    x[LEADS.index("I")] = 0.0                              # one limb lead missing, the others low: unknown
    assert np.isnan(morphology_features(x, d, FS)[1]["low_voltage_limb"])
    x[LEADS.index("II")] /= 0.3                            # ... unless a measured one is not low
    assert morphology_features(x, d, FS)[1]["low_voltage_limb"] == 0.0
    x, d = hand_made()
    x[6:] *= 0.5
    assert morphology_features(x, d, FS)[1]["low_voltage_precordial"] == 1.0   # V5 1.7 -> 0.85 mV


@pytest.mark.parametrize("t_dir,angle", [((1, 0, 0), 0.0), ((0, 1, 0), 90.0), ((1, 1, 0), 45.0), ((-1, 0, 0), 180.0)])
def test_spatial_qrst_angle_from_a_known_vcg(t_dir, angle):
    """Leads made from a VCG through the Kors matrix's pseudo-inverse: the angle of the VCG is read back."""
    t = t_ms()
    qrs = np.where((t >= 0) & (t <= 100), np.sin(np.pi * t / 100), 0.0)
    tw = half_gauss(T_PEAK_MS, 1.0, 40, 40) * (t > 100)
    vcg = np.outer([1.0, 0.0, 0.0], qrs) + np.outer(np.array(t_dir, float), tw)
    # the QRS along (1, 0, 0), the T along t_dir, rotated so that neither lies on a Kors axis
    rot = np.linalg.qr(np.array([[0.3, 0.5, 0.8], [0.9, -0.2, 0.1], [0.1, 0.8, -0.5]]))[0]
    x = np.zeros((12, L))
    x[[LEADS.index(lead) for lead in KORS_LEADS]] = np.linalg.pinv(KORS) @ (rot @ vcg)
    d = Delineation(ON, idx(100), idx(T_PEAK_MS), idx(T_PEAK_MS + 160), None, None, None, np.zeros(12), 0.0,
                    np.full(12, np.nan), np.full(12, np.nan), np.full(12, np.nan))
    assert morphology_features(x, d, FS)[1]["spatial_qrst_angle_deg"] == pytest.approx(angle, abs=1.0)


def test_qrs_waves_small_lobes_are_not_waves():
    x = lobes((0, 10, -0.02), (10, 60, 1.0), (60, 66, -0.02), (66, 80, 0.1), (80, 100, -0.3))[ON:idx(100) + 1]
    waves = qrs_waves(x)
    assert [w["sign"] for w in waves] == [1, -1]          # the 0.02 mV q and dip are no waves: R (notched), S
    assert waves[0]["notched"] and waves[0]["amp"] == pytest.approx(1.0, abs=0.005)


def test_expert_family_merges_the_morphology_columns():
    x, d = hand_made()
    epochs = np.repeat(x[None], 4, axis=0)
    tp = Templates(FS, np.arange(4) * 800 + 500, ON, epochs, np.arange(4), np.ones(4), np.ones(4, bool), x)
    feats = expert.expert_features(tp, d, 0.8, 0.8)
    names = expert.feature_names()
    assert list(feats) == names and len(names) == len(set(names)) == 12 * (16 + len(PER_LEAD)) + 14 + len(RECORD)
    assert feats["V1__expert__rsr_prime"] == 1.0 and feats["all__expert__transition_zone"] == 3.0
    assert feats["all__expert__qrst_angle_deg"] >= 0   # the frontal angle stays beside the spatial one


# --- synthetic records: the generator's mechanisms (ecgfeat/synth/generator.py) ---

def _synthetic(labels, i):
    sig, params, _ = make_record(labels, FS, 10.0, np.random.default_rng([7, i]))
    a = analyse(Record("x", sig.astype(np.float32), FS))
    return expert.expert_features(a.templates, a.delineation, a.rr_mean_s, a.rr_median_s), params


@pytest.mark.parametrize("i", range(4))
def test_synthetic_rbbb_has_rsr_prime_in_v1(i):
    f, _ = _synthetic(["RBBB"], i)
    assert f["V1__expert__rsr_prime"] == 1.0 and f["V1__expert__r2_amp_mv"] > 0.3
    assert f["V1__expert__r_peak_time_ms"] > 50              # AHA/ACC/HRS 2009: R peak time in V1 > 50 ms
    assert f["V6__expert__s_ms"] >= 40                        # the broad terminal S of I / V6


@pytest.mark.parametrize("i", range(4))
def test_synthetic_lbbb_has_a_broad_notched_r_in_v6_without_septal_q(i):
    f, _ = _synthetic(["LBBB"], i)
    assert f["V6__expert__q_ms"] == 0.0 and f["I__expert__q_ms"] == 0.0
    assert f["V6__expert__r_ms"] >= 100 and f["V6__expert__qrs_fragmented"] == 1.0
    assert f["V6__expert__r_peak_time_ms"] > 60              # AHA/ACC/HRS 2009: > 60 ms in V5 / V6
    assert f["V1__expert__rsr_prime"] == 0.0


@pytest.mark.parametrize("i", range(6))
def test_synthetic_st_shift_is_read_in_its_territory(i):
    cls = "STE" if i % 2 == 0 else "STD"
    f, p = _synthetic([cls], i)
    leads = {**STE_TERRITORIES, **STD_TERRITORIES}[p["st_territory"]]
    truth = np.array([p[f"st_{lead}_mv"] for lead in leads])
    territory = {"anterolateral": "lateral"}.get(p["st_territory"], p["st_territory"])
    measured = f[f"all__expert__st_{territory}_mv"]
    if p["st_territory"] == "anterolateral":   # V4-V6 of the lateral I/aVL/V5/V6: only the shared leads
        assert np.sign(measured) == np.sign(truth[np.argmax(np.abs(truth))])
    else:
        assert measured == pytest.approx(truth[np.argmax(np.abs(truth))], abs=0.03)
    for lead in leads:
        assert f[f"{lead}__expert__st80_mv"] == pytest.approx(p[f"st_{lead}_mv"], abs=0.05)

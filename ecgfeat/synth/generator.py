"""One synthetic 12-lead record: rhythm plan -> beats -> dipole waves -> electrodes + noise.

Every class is made by the mechanism that defines it (Zhang et al. 2020 / CPSC 2018):
- Normal: sinus rhythm with respiratory RR modulation, normal intervals and axis.
- AF: irregular RR (independent, CV ~0.2), no P waves, 4-9 Hz fibrillatory atrial dipole.
- I-AVB: PR interval 220-340 ms.
- LBBB: QRS 125-170 ms, leftward initial forces (no septal q in I/V6), broad notched R in
  I/aVL/V5/V6, QS in V1, discordant ST-T.
- RBBB: QRS 125-160 ms, normal initial forces plus a late right-anterior lobe (rSR' in V1,
  broad S in I/V6), T discordant to it.
- PAC: premature beats with an abnormal (low-atrial, inverted inferior) P, normal QRS, sinus reset.
- PVC: premature wide bizarre beats, no P, discordant T, full compensatory pause.
- STD / STE: an injury-current vector giving an ST shift of 0.10-0.30 / 0.15-0.40 mV in one lead
  territory (reciprocal changes follow from the projection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..vocab import LEADS
from .dipole import LEAD_VECTORS, frontal, territory_vector, unit

# Second labels that can coexist with a first one (AF excludes P-wave classes, LBBB excludes RBBB, ...).
COMPATIBLE = {
    "Normal": (),
    "AF": ("LBBB", "RBBB", "PVC", "STD"),
    "I-AVB": ("LBBB", "RBBB", "PAC", "PVC", "STD", "STE"),
    "LBBB": ("AF", "I-AVB", "PVC"),
    "RBBB": ("AF", "I-AVB", "PAC", "PVC", "STD", "STE"),
    "PAC": ("I-AVB", "RBBB", "PVC", "STD"),
    "PVC": ("AF", "I-AVB", "LBBB", "RBBB", "PAC", "STD", "STE"),
    "STD": ("AF", "I-AVB", "RBBB", "PAC", "PVC"),
    "STE": ("I-AVB", "RBBB", "PVC"),
}
STD_TERRITORIES = {"lateral": ("I", "aVL", "V5", "V6"), "inferior": ("II", "III", "aVF"),
                   "anterolateral": ("V4", "V5", "V6")}
STE_TERRITORIES = {"anterior": ("V1", "V2", "V3", "V4"), "inferior": ("II", "III", "aVF"),
                   "lateral": ("I", "aVL", "V5", "V6")}


@dataclass
class Wave:
    direction: np.ndarray   # unit 3-vector
    amp: float              # mV
    start: float            # s, record time
    peak: float
    end: float


@dataclass
class Beat:
    kind: str               # "N" conducted sinus, "A" premature atrial, "V" premature ventricular
    qrs_on: float
    qrs_off: float
    t_off: float
    p_on: float = np.nan
    p_off: float = np.nan
    waves: list[Wave] = field(default_factory=list)


@dataclass
class Morphology:
    """Per-record shape parameters shared by its conducted beats."""
    pr: float
    p_dur: float
    p_axis: float
    p_amp: float
    qrs: float
    qt: float
    alpha: float
    main_amp: float
    z_main: float
    septal_amp: float
    septal_dir: np.ndarray  # left-to-right septal activation: the small q of I, II, aVL, V5, V6
    terminal_amp: float
    t_dir: np.ndarray
    t_amp: float
    st_vec: np.ndarray
    conduction: str         # "normal", "LBBB", "RBBB"


def _t_duration(qt: float, qrs: float) -> float:
    # the T wave starts >= 80 ms after J, so the ST level at J+60 is the ST segment, not T
    return float(np.clip(qt - qrs - 0.08, 0.10, 0.20))


def ventricular_waves(m: Morphology, on: float, rng: np.random.Generator) -> tuple[list[Wave], float]:
    """QRS waves of a conducted beat starting at `on`; returns (waves, qrs duration)."""
    q = m.qrs
    main = unit(np.cos(np.deg2rad(m.alpha)), np.sin(np.deg2rad(m.alpha)), m.z_main)
    if m.conduction == "LBBB":
        a2 = np.deg2rad(m.alpha - 25)
        waves = [
            Wave(unit(0.7, 0.2, -0.3), m.septal_amp, on, on + 0.12 * q, on + 0.25 * q),
            Wave(unit(np.cos(np.deg2rad(m.alpha)), np.sin(np.deg2rad(m.alpha)), -0.55), m.main_amp, on + 0.05 * q, on + 0.35 * q, on + 0.6 * q),
            Wave(unit(np.cos(a2), np.sin(a2), -0.75), 0.9 * m.main_amp, on + 0.4 * q, on + 0.72 * q, on + q),
        ]
    elif m.conduction == "RBBB":
        waves = [
            Wave(m.septal_dir, m.septal_amp, on, on + 0.08 * q, on + 0.2 * q),
            Wave(main, m.main_amp, on + 0.06 * q, on + 0.28 * q, on + 0.5 * q),
            Wave(unit(-0.55, 0.05, 0.85), m.terminal_amp, on + 0.42 * q, on + 0.75 * q, on + q),
        ]
    else:
        waves = [
            Wave(m.septal_dir, m.septal_amp, on, on + 0.15 * q, on + 0.35 * q),
            Wave(main, m.main_amp, on + 0.1 * q, on + 0.45 * q, on + 0.8 * q),
            Wave(unit(-0.35, -0.55, -0.6), m.terminal_amp, on + 0.55 * q, on + 0.78 * q, on + q),
        ]
    return waves, q


def conducted_beat(m: Morphology, on: float, kind: str, p: tuple[float, float, float, float] | None,
                   rng: np.random.Generator) -> Beat:
    """A supraventricular beat: optional P (pr, dur, axis, amp), QRS by conduction, ST, T."""
    waves, q = ventricular_waves(m, on, rng)
    beat = Beat(kind, on, on + q, on + m.qt, waves=waves)
    if p is not None:
        pr, pd, paxis, pamp = p
        p_on = on - pr
        # right atrium first (anterior), left atrium later (posterior): biphasic P in V1
        ra = unit(*(frontal(paxis + 15) + np.array([0, 0, 0.5])))
        la = unit(*(frontal(paxis - 15) + np.array([0, 0, -0.45])))
        # overlapping lobes: a smooth single hump in II (a notched P would mean atrial enlargement)
        waves += [Wave(ra, 0.75 * pamp, p_on, p_on + 0.38 * pd, p_on + 0.75 * pd),
                  Wave(la, 0.75 * pamp, p_on + 0.25 * pd, p_on + 0.62 * pd, p_on + pd)]
        beat.p_on, beat.p_off = p_on, p_on + pd
    td = _t_duration(m.qt, q)
    t_on = on + m.qt - td
    waves.append(Wave(m.t_dir, m.t_amp, t_on, t_on + 0.62 * td, on + m.qt))
    return beat


def pvc_beat(m: Morphology, on: float, rng: np.random.Generator) -> Beat:
    """Premature ventricular beat: wide (130-180 ms), bizarre axis, no P, discordant T."""
    q = rng.uniform(0.13, 0.18)
    while True:
        if rng.random() < 0.5:   # right-ventricular focus: LBBB-like, leftward-posterior
            base = np.deg2rad(rng.uniform(-60, 100))
            d1, d2 = unit(np.cos(base), np.sin(base), -0.6), unit(np.cos(base - 0.5), np.sin(base - 0.5), -0.8)
        else:                    # left-ventricular focus: RBBB-like, rightward-anterior
            y = rng.uniform(-0.7, 0.7)
            d1, d2 = unit(-0.6, y, 0.7), unit(-0.3, y + 0.3, 0.9)
        if abs(unit(*(d1 + d2)) @ frontal(60)) > 0.35:  # ectopic beats are rarely isoelectric in II
            break
    amp = rng.uniform(1.4, 2.2)
    waves = [Wave(d1, amp, on, on + 0.35 * q, on + 0.65 * q), Wave(d2, 0.8 * amp, on + 0.3 * q, on + 0.7 * q, on + q)]
    qt = m.qt + 0.04
    td = _t_duration(qt, q)
    t_on = on + qt - td
    waves.append(Wave(-unit(*(d1 + d2)), rng.uniform(0.35, 0.6), t_on, t_on + 0.55 * td, on + qt))
    return Beat("V", on, on + q, on + qt, waves=waves)


def _st_vector(labels: set[str], rng: np.random.Generator, m_main: np.ndarray) -> tuple[np.ndarray, str]:
    st = unit(*rng.normal(size=3)) * rng.uniform(0.0, 0.02)   # everybody's ST is a little off zero
    territory = ""
    for cls, table, lo, hi, sign in (("STD", STD_TERRITORIES, 0.10, 0.30, -1), ("STE", STE_TERRITORIES, 0.15, 0.40, 1)):
        if cls in labels:
            territory = list(table)[rng.integers(len(table))]
            leads = table[territory]
            d = sign * territory_vector(leads)
            reach = max(abs(LEAD_VECTORS[LEADS.index(l)] @ d) for l in leads)
            st = st + d * rng.uniform(lo, hi) / reach
    if "LBBB" in labels:  # secondary, discordant ST change of the bundle branch block
        st = st - 0.08 * m_main
    return st, territory


def draw_morphology(labels: set[str], hr: float, rng: np.random.Generator) -> tuple[Morphology, str]:
    conduction = "LBBB" if "LBBB" in labels else "RBBB" if "RBBB" in labels else "normal"
    if conduction == "LBBB":
        qrs, alpha = rng.uniform(0.125, 0.17), rng.uniform(-10, 60)
    elif conduction == "RBBB":
        qrs, alpha = rng.uniform(0.125, 0.16), rng.uniform(-15, 90)
    else:
        qrs, alpha = rng.uniform(0.075, 0.105), rng.uniform(-15, 80)
    rr = 60.0 / hr
    qt = rng.uniform(0.37, 0.43) * np.sqrt(rr) + (0.02 if conduction != "normal" else 0.0)
    main = unit(np.cos(np.deg2rad(alpha)), np.sin(np.deg2rad(alpha)), -0.35)
    if conduction == "LBBB":
        t_dir = -unit(*(main + np.array([0, 0, -0.4])))
    elif conduction == "RBBB":
        t_dir = unit(0.6, 0.55, -0.55)
    else:
        ta = np.deg2rad(alpha + rng.uniform(-25, 15))
        t_dir = unit(np.cos(ta), np.sin(ta), rng.uniform(0.1, 0.5))
    st, territory = _st_vector(labels, rng, main)
    p_dur = rng.uniform(0.08, 0.11)
    # PR segment (P offset -> QRS onset) of at least 45 ms, as in real sinus rhythm
    pr = rng.uniform(0.22, 0.34) if "I-AVB" in labels else rng.uniform(max(0.12, p_dur + 0.045), 0.195)
    m = Morphology(
        pr=pr, p_dur=p_dur, p_axis=rng.uniform(40, 75), p_amp=rng.uniform(0.1, 0.22),
        qrs=qrs, qt=qt, alpha=alpha, main_amp=rng.uniform(1.0, 1.7), z_main=rng.uniform(-0.5, -0.2),
        septal_amp=rng.uniform(0.25, 0.4), septal_dir=unit(*(np.array([-0.6, -0.25, 0.75]) + rng.normal(0, 0.12, 3))),
        terminal_amp=rng.uniform(0.55, 0.9) if conduction == "RBBB" else rng.uniform(0.2, 0.4),
        t_dir=t_dir, t_amp=rng.uniform(0.25, 0.45), st_vec=st, conduction=conduction,
    )
    return m, territory

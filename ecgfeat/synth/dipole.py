"""Cardiac dipole -> electrode potentials -> 12 leads.

Coordinates: x points to the patient's left, y inferior (to the feet), z anterior.
The heart is a single current dipole d(t) (mV-scaled). Each electrode sees the projection of
d(t) on its own lead vector; the 12 leads are then *differences of electrode potentials*,
exactly as an electrocardiograph forms them:

    I = LA - RA, II = LL - RA, III = LL - LA,
    aVR = RA - (LA + LL)/2, aVL = LA - (RA + LL)/2, aVF = LL - (RA + LA)/2,
    Vi = Vi_electrode - WCT, WCT = (RA + LA + LL)/3.

Noise is added to the electrode potentials, so Einthoven (III = II - I) and Goldberger
(aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2) hold exactly in the noisy signal too.
"""

from __future__ import annotations

import numpy as np

from ..vocab import LEADS

ELECTRODES = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")


def frontal(deg: float) -> np.ndarray:
    """Unit vector in the frontal plane, hexaxial convention (0 deg = lead I, +90 deg = aVF)."""
    a = np.deg2rad(deg)
    return np.array([np.cos(a), np.sin(a), 0.0])


def horizontal(deg: float, tilt: float = 0.0) -> np.ndarray:
    """Unit vector in the horizontal plane (0 deg = left = V6, 90 deg = anterior), tilted inferiorly."""
    a = np.deg2rad(deg)
    v = np.array([np.cos(a), tilt, np.sin(a)])
    return v / np.linalg.norm(v)


def unit(*xyz: float) -> np.ndarray:
    v = np.asarray(xyz, dtype=float)
    return v / np.linalg.norm(v)


# Limb electrodes: an equilateral Einthoven triangle centred on the heart (RA + LA + LL = 0),
# so lead I looks along 0 deg and lead II along +60 deg.
_RA = -(frontal(0) + frontal(60)) / 3.0
_LA = _RA + frontal(0)
_LL = _RA + frontal(60)
# Precordial electrodes: horizontal-plane directions of V1..V6 (V1 right-anterior ... V6 left),
# with a larger gain because the chest electrodes sit close to the heart.
_PRECORDIAL_DEG = {"V1": 115.0, "V2": 95.0, "V3": 75.0, "V4": 58.0, "V5": 30.0, "V6": 0.0}
_PRECORDIAL_TILT = {"V1": -0.05, "V2": 0.0, "V3": 0.05, "V4": 0.15, "V5": 0.15, "V6": 0.15}
PRECORDIAL_GAIN = 1.4

ELECTRODE_VECTORS = np.vstack(
    [_RA, _LA, _LL]
    + [PRECORDIAL_GAIN * horizontal(_PRECORDIAL_DEG[v], _PRECORDIAL_TILT[v]) for v in ELECTRODES[3:]]
)  # (9, 3)

# Leads as linear combinations of electrode potentials (12 x 9).
_W = np.zeros((12, 9))
RA, LA, LL = 0, 1, 2
_W[0, [LA, RA]] = [1, -1]                        # I
_W[1, [LL, RA]] = [1, -1]                        # II
_W[2, [LL, LA]] = [1, -1]                        # III
_W[3, [RA, LA, LL]] = [1, -0.5, -0.5]            # aVR
_W[4, [LA, RA, LL]] = [1, -0.5, -0.5]            # aVL
_W[5, [LL, RA, LA]] = [1, -0.5, -0.5]            # aVF
for k in range(6):                               # V1..V6 against Wilson's central terminal
    _W[6 + k, 3 + k] = 1.0
    _W[6 + k, [RA, LA, LL]] = -1.0 / 3.0
LEAD_FROM_ELECTRODES = _W
LEAD_VECTORS = _W @ ELECTRODE_VECTORS            # (12, 3): what each lead sees of the dipole

assert len(LEADS) == LEAD_VECTORS.shape[0]


def territory_vector(leads: tuple[str, ...]) -> np.ndarray:
    """Unit vector pointing at a group of leads (sum of their normalised lead vectors)."""
    v = sum(LEAD_VECTORS[LEADS.index(l)] / np.linalg.norm(LEAD_VECTORS[LEADS.index(l)]) for l in leads)
    return v / np.linalg.norm(v)


def lobe(t: np.ndarray, start: float, peak: float, end: float) -> np.ndarray:
    """A Gaussian lobe with compact support [start, end], peak 1 at `peak`.

    Each side is a Gaussian truncated at 3 sigma and lowered by its edge value (1.1%), so the wave
    starts and ends exactly at `start`/`end` (the ground truth written to params.csv) but, as real
    waves do, leaves the baseline gradually: its slope at the edge is ~5% of its steepest. (The
    first version cut at 2 sigma: its waves started with 44% of their steepest slope, a kink no
    real wave has, and a delineator tuned on it read real QRS complexes ~40 ms short.)
    Asymmetric sides give e.g. the T wave's slow rise and fast fall.
    """
    out = np.zeros_like(t)
    edge = np.exp(-4.5)
    left = (t >= start) & (t <= peak)
    right = (t > peak) & (t <= end)
    if peak > start:
        s = (peak - start) / 3.0
        out[left] = (np.exp(-0.5 * ((t[left] - peak) / s) ** 2) - edge) / (1 - edge)
    if end > peak:
        s = (end - peak) / 3.0
        out[right] = (np.exp(-0.5 * ((t[right] - peak) / s) ** 2) - edge) / (1 - edge)
    return out


def ramp_plateau(t: np.ndarray, up0: float, up1: float, down0: float, down1: float) -> np.ndarray:
    """0 before up0, cosine rise to 1 at up1, 1 until down0, cosine fall to 0 at down1."""
    out = np.zeros_like(t)
    r = (t >= up0) & (t < up1)
    out[r] = 0.5 - 0.5 * np.cos(np.pi * (t[r] - up0) / max(up1 - up0, 1e-9))
    out[(t >= up1) & (t <= down0)] = 1.0
    f = (t > down0) & (t < down1)
    out[f] = 0.5 + 0.5 * np.cos(np.pi * (t[f] - down0) / max(down1 - down0, 1e-9))
    return out


def leads_from_dipole(dipole: np.ndarray, electrode_noise: np.ndarray | None = None) -> np.ndarray:
    """(3, n) dipole (+ optional (9, n) electrode noise) -> (12, n) leads in mV."""
    phi = ELECTRODE_VECTORS @ dipole
    if electrode_noise is not None:
        phi = phi + electrode_noise
    return LEAD_FROM_ELECTRODES @ phi

"""Assemble a whole record: rhythm (beat times), waves onto the dipole, AF activity, noise, params."""

from __future__ import annotations

import numpy as np

from ..vocab import LEADS
from .dipole import LEAD_VECTORS, leads_from_dipole, lobe, ramp_plateau, unit
from .generator import Beat, conducted_beat, draw_morphology, pvc_beat


def _rhythm(labels: set[str], rr: float, duration: float, rng: np.random.Generator):
    """QRS onset times and kinds ("N", "A", "V") of every beat touching [0, duration]."""
    af = "AF" in labels
    n_expected = int(duration / rr) + 2
    prem: dict[int, str] = {}
    for kind, cls in (("A", "PAC"), ("V", "PVC")):
        if cls in labels:
            # premature beats sit between normal beats, each followed by a beat inside the record
            slots = [i for i in range(2, max(n_expected - 3, 3)) if i not in prem and i - 1 not in prem and i + 1 not in prem]
            for i in rng.permutation(slots)[: rng.integers(1, 4)]:
                if i - 1 not in prem and i + 1 not in prem:
                    prem[int(i)] = kind
    resp_a, resp_T, resp_ph = rng.uniform(0.02, 0.05), rng.uniform(3.0, 6.0), rng.uniform(0, 2 * np.pi)
    onsets, kinds = [], []
    t = rng.uniform(0.15, 0.7) * rr + (0.0 if af else 0.2)
    last_normal = None
    i = 0
    while t < duration + 0.05:
        if af:
            this_rr = float(np.clip(rr * np.exp(rng.normal(0, 0.2)), 0.33, 2.0))
        else:
            this_rr = rr * (1 + resp_a * np.sin(2 * np.pi * t / resp_T + resp_ph)) * (1 + rng.normal(0, 0.01))
        kind = prem.get(i)
        if kind and last_normal is not None and kinds[-1] == "N":
            coupling = rng.uniform(0.55, 0.72) if kind == "V" else rng.uniform(0.62, 0.78)
            on = last_normal + coupling * this_rr
            onsets.append(on)
            kinds.append(kind)
            # PVC: sinus node undisturbed -> full compensatory pause; PAC: sinus node reset
            t = last_normal + 2 * this_rr if kind == "V" else on + this_rr * rng.uniform(1.0, 1.08)
        else:
            onsets.append(t)
            kinds.append("N")
            last_normal = t
            t += this_rr
        i += 1
    return np.array(onsets), kinds


def _af_activity(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Fibrillatory atrial dipole: 4-9 Hz oscillation, wandering frequency and amplitude."""
    fs = 1.0 / (t[1] - t[0])
    f0 = rng.uniform(5.0, 7.5)
    walk = np.cumsum(rng.normal(0, 1, t.size)) / np.sqrt(fs)
    walk = np.convolve(walk, np.ones(int(fs)) / int(fs), mode="same")
    freq = np.clip(f0 + 0.8 * walk / (np.std(walk) + 1e-9), 4.0, 9.0)
    phase = 2 * np.pi * np.cumsum(freq) / fs
    amp = rng.uniform(0.05, 0.12)
    env = amp * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 6.3)))
    direction = unit(*(np.array([-0.25, 0.6, 0.75]) + rng.normal(0, 0.15, 3)))
    return direction[:, None] * (env * np.sin(phase))[None, :], amp


def _electrode_noise(n: int, fs: float, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Baseline wander, mains and EMG on each of the 9 electrodes."""
    t = np.arange(n) / fs
    bw = rng.uniform(0.02, 0.25)
    mains_hz = float(rng.choice([50.0, 60.0]))
    mains = rng.uniform(0.0, 0.03)
    emg = rng.uniform(0.003, 0.025)
    noise = np.empty((9, n))
    for e in range(9):
        wander = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3)) for _ in range(2))
        noise[e] = (bw * wander / 2
                    + mains * rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 6.3))
                    + emg * rng.normal(0, 1, n))
    return noise, {"bw_mv": bw, "mains_hz": mains_hz, "mains_mv": mains, "emg_mv": emg}


def _add_waves(dipole: np.ndarray, t: np.ndarray, fs: float, beat: Beat) -> None:
    for w in beat.waves:
        a, b = max(int(np.floor(w.start * fs)), 0), min(int(np.ceil(w.end * fs)) + 1, t.size)
        if b > a:
            dipole[:, a:b] += (w.amp * w.direction)[:, None] * lobe(t[a:b], w.start, w.peak, w.end)[None, :]


def _add_st(dipole: np.ndarray, t: np.ndarray, fs: float, beat: Beat, st_vec: np.ndarray, t_peak: float) -> None:
    q = beat.qrs_off - beat.qrs_on
    a, b = max(int(np.floor((beat.qrs_on + 0.5 * q) * fs)), 0), min(int(np.ceil(beat.t_off * fs)) + 1, t.size)
    if b > a:
        shape = ramp_plateau(t[a:b], beat.qrs_on + 0.5 * q, beat.qrs_off, t_peak, beat.t_off)
        dipole[:, a:b] += st_vec[:, None] * shape[None, :]


def _fmt(values) -> str:
    return ";".join("nan" if not np.isfinite(v) else f"{v:.4f}" for v in values)


def make_record(labels: list[str], fs: float, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, dict, np.ndarray]:
    """(signal (12, n) mV float64 with noise, params dict, clean signal) for a label set."""
    lab = set(labels)
    hr = rng.uniform(55, 100) if "AF" not in lab else rng.uniform(65, 120)
    m, territory = draw_morphology(lab, hr, rng)
    if "AF" not in lab:
        # the P wave must start after the previous T wave ends: lower the rate if needed
        hr = min(hr, 60.0 / (m.qt + m.pr + 0.1))  # QT stays as drawn; QTc follows from the final RR
    rr = 60.0 / hr
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    onsets, kinds = _rhythm(lab, rr, seconds, rng)
    beats: list[Beat] = []
    ectopic_p = (rng.uniform(-80, -40), rng.uniform(0.07, 0.1), rng.uniform(0.08, 0.15))
    for on, kind in zip(onsets, kinds):
        if kind == "V":
            beats.append(pvc_beat(m, on, rng))
        elif kind == "A":
            pr_pac = m.pr * rng.uniform(0.9, 1.0) if "I-AVB" in lab else rng.uniform(0.11, 0.16)
            beats.append(conducted_beat(m, on, "A", (pr_pac, ectopic_p[1], ectopic_p[0], ectopic_p[2]), rng))
        else:
            p = None if "AF" in lab else (m.pr, m.p_dur, m.p_axis, m.p_amp)
            beats.append(conducted_beat(m, on, "N", p, rng))
    dipole = np.zeros((3, n))
    for beat in beats:
        _add_waves(dipole, t, fs, beat)
        if beat.kind != "V":
            t_wave = beat.waves[-1]
            _add_st(dipole, t, fs, beat, m.st_vec, t_wave.peak)
    af_amp = 0.0
    if "AF" in lab:
        f_waves, af_amp = _af_activity(t, rng)
        dipole += f_waves
    clean = leads_from_dipole(dipole)
    noise, noise_params = _electrode_noise(n, fs, rng)
    signal = leads_from_dipole(dipole, noise)

    inside = [b for b in beats if 0 <= b.qrs_on and b.qrs_off <= seconds]
    normal_on = np.array([b.qrs_on for b in beats if b.kind == "N"])
    all_on = np.array([b.qrs_on for b in inside])
    rr_all = np.diff(all_on)
    # mean QRS dipole of a conducted beat -> frontal electrical axis (what I and aVF measure)
    probe = conducted_beat(m, 0.0, "N", None, rng)
    tq = np.linspace(0, m.qrs, 400)
    qrs_area = sum((w.amp * w.direction)[:, None] * lobe(tq, w.start, w.peak, w.end)[None, :] for w in probe.waves[:-1]).sum(axis=1)
    prem = [b for b in inside if b.kind in "AV"]
    params = {
        "hr_bpm": 60.0 / rr_all.mean() if rr_all.size else 60.0 / rr,
        "rr_mean_ms": 1000 * rr_all.mean() if rr_all.size else 1000 * rr,
        "rr_sd_ms": 1000 * rr_all.std() if rr_all.size else 0.0,
        "pr_ms": np.nan if "AF" in lab else 1000 * m.pr,
        "p_ms": np.nan if "AF" in lab else 1000 * m.p_dur,
        "qrs_ms": 1000 * m.qrs,
        "qt_ms": 1000 * m.qt,
        "qtc_bazett_ms": 1000 * m.qt / np.sqrt(np.median(np.diff(normal_on)) if normal_on.size > 1 else rr),
        "axis_deg": float(np.degrees(np.arctan2(qrs_area[1], qrs_area[0]))),
        "conduction": m.conduction,
        "st_territory": territory,
        **{f"st_{lead}_mv": float(LEAD_VECTORS[i] @ m.st_vec) for i, lead in enumerate(LEADS)},
        "af_amp_mv": af_amp,
        **noise_params,
        "n_beats": len(inside),
        "n_pac": sum(b.kind == "A" for b in prem),
        "n_pvc": sum(b.kind == "V" for b in prem),
        "premature_s": _fmt([b.qrs_on for b in prem]),
        "premature_kinds": ";".join(b.kind for b in prem),
        "beat_kinds": "".join(b.kind for b in beats),
        "qrs_on_s": _fmt([b.qrs_on for b in beats]),
        "qrs_off_s": _fmt([b.qrs_off for b in beats]),
        "p_on_s": _fmt([b.p_on for b in beats]),
        "p_off_s": _fmt([b.p_off for b in beats]),
        "t_off_s": _fmt([b.t_off for b in beats]),
    }
    return signal, params, clean

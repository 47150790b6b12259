"""`rhythm` family (record level, `all__rhythm__...`): RR statistics, ectopy, P-wave presence, f-waves.

rr_mean_ms, rr_sd_ms, rr_cv, rmssd_ms, pnn50, rr_sampen (sample entropy, m=2, r=0.2 SD; NaN when
undefined on a short series), rr_irregularity (median |dRR| / median RR), premature_count and
premature_fraction (RR < 80% of the local median RR, followed by a pause longer than 90% of it and
15% longer than the premature RR), aberrant_premature_count (premature beats whose QRS differs from the
dominant morphology, QRS correlation < 0.8: ventricular or aberrantly conducted ectopy; it measures
the correlation, not the QRS width), before feature version 3 named wide_premature_count, ectopic_fraction (beats off the
dominant morphology), p_presence (fraction of beats whose P window matches the median beat's P,
correlation > 0.5; 0 without a P wave), fwave_rms_uv and fwave_ratio (3-9 Hz residual of V1 and II
after cancelling every dominant beat with the median beat: RMS in uV, and its share of the
residual's 0.67-40 Hz power), n_beats, paced_share (share of the beats led by a pacemaker spike
found on the signal as recorded, signal/pacing.py; 0 in an unpaced record).
"""

from __future__ import annotations

import numpy as np

from ..signal.delineate import Delineation
from ..signal.filters import bandpass
from ..signal.template import Templates
from ..vocab import LEADS, RECORD_LEVEL

NAMES = ("rr_mean_ms", "rr_sd_ms", "rr_cv", "rmssd_ms", "pnn50", "rr_sampen", "rr_irregularity",
         "premature_count", "premature_fraction", "aberrant_premature_count", "ectopic_fraction",
         "p_presence", "fwave_rms_uv", "fwave_ratio", "n_beats", "paced_share")
_FWAVE_LEADS = [LEADS.index("V1"), LEADS.index("II")]


def feature_names() -> list[str]:
    return [f"{RECORD_LEVEL}__rhythm__{n}" for n in NAMES]


def sample_entropy(x: np.ndarray, m: int = 2, r: float = 0.2) -> float:
    """SampEn(m, r*SD) of a short series; NaN when undefined (no template matches)."""
    x = np.asarray(x, dtype=float)
    if x.size < m + 3 or np.std(x) == 0:
        return np.nan
    tol = r * np.std(x)
    n = x.size

    def pairs(k: int) -> int:  # template pairs (i < j, both among the first n - m) within tol
        emb = np.lib.stride_tricks.sliding_window_view(x, k)[: n - m]
        close = np.abs(emb[:, None, :] - emb[None, :, :]).max(axis=-1) <= tol
        return int(np.triu(close, 1).sum())

    b, a = pairs(m), pairs(m + 1)
    return float(-np.log(a / b)) if a > 0 and b > 0 else np.nan


def premature_beats(rr: np.ndarray) -> np.ndarray:
    """Indices i (into rr; beat i+1 of the record) of premature beats followed by a pause."""
    out = []
    med_all = np.median(rr) if rr.size else np.nan
    for i in range(rr.size - 1):
        around = [rr[j] for j in range(max(0, i - 4), min(rr.size, i + 6)) if j not in (i, i + 1)]
        local = np.median(around) if len(around) >= 2 else med_all
        if rr[i] < 0.8 * local and rr[i + 1] > 0.9 * local and rr[i + 1] > 1.15 * rr[i]:
            out.append(i)
    return np.asarray(out, dtype=int)


def rhythm_features(xf: np.ndarray, tp: Templates, d: Delineation, paced_share: float = 0.0) -> dict[str, float]:
    fs = tp.fs
    fid = tp.fiducials
    rr = np.diff(fid) / fs * 1000.0
    f = dict.fromkeys(NAMES, np.nan)
    f["n_beats"] = float(fid.size)
    f["paced_share"] = float(paced_share)
    if rr.size >= 1:
        f["rr_mean_ms"], f["rr_sd_ms"] = float(rr.mean()), float(rr.std())
        f["rr_cv"] = float(rr.std() / rr.mean())
    if rr.size >= 2:
        drr = np.diff(rr)
        f["rmssd_ms"] = float(np.sqrt(np.mean(drr ** 2)))
        f["pnn50"] = float(np.mean(np.abs(drr) > 50))
        f["rr_irregularity"] = float(np.median(np.abs(drr)) / np.median(rr))
        f["rr_sampen"] = sample_entropy(rr)
        prem = premature_beats(rr)
        f["premature_count"] = float(prem.size)
        f["premature_fraction"] = float(prem.size / fid.size)
        corr = tp.qrs_corr[prem + 1]
        f["aberrant_premature_count"] = float(np.sum(np.nan_to_num(corr, nan=1.0) < 0.8))
    f["ectopic_fraction"] = float(np.mean(np.nan_to_num(tp.qrs_corr, nan=1.0) < 0.9)) if fid.size else np.nan
    # P presence: each beat's P window against the median beat's P (all leads)
    if d.has_p and tp.epochs.shape[0]:
        p = tp.template[:, d.p_on:d.p_off + 1]
        pe = tp.epochs[:, :, d.p_on:d.p_off + 1].reshape(tp.epochs.shape[0], -1)
        a = pe - pe.mean(axis=1, keepdims=True)
        b = (p - p.mean(axis=1, keepdims=True)).ravel()
        c = (a @ b) / (np.sqrt((a * a).sum(1) * (b * b).sum()) + 1e-12)
        f["p_presence"] = float(np.mean(c > 0.5))
    else:
        f["p_presence"] = 0.0
    # f-waves: cancel every dominant beat with the median beat, look at 3-9 Hz in V1 and II
    start = (d.p_on if d.has_p else d.qrs_on) - int(0.02 * fs)
    seg = tp.template[_FWAVE_LEADS, max(start, 0):d.t_end + 1]
    resid = xf[_FWAVE_LEADS].copy()
    keep = np.ones(xf.shape[-1], dtype=bool)
    offset = max(start, 0) - tp.pre
    for e, beat in enumerate(tp.epoch_beats):
        a = tp.fiducials[beat] + offset
        b = a + seg.shape[1]
        if a < 0 or b > resid.shape[1]:
            continue
        if tp.dominant[e]:
            resid[:, a:b] -= seg
        else:
            keep[a:b] = False  # ectopic beats are not cancelled by the template: leave them out
    for beat in np.setdiff1d(np.arange(fid.size), tp.epoch_beats):  # edge beats without an epoch
        keep[max(fid[beat] - int(0.1 * fs), 0):fid[beat] + int(0.4 * fs)] = False
    if keep.sum() > fs:
        # the segments left out hold uncancelled QRS complexes: zeroed before filtering, or the band-pass
        # rings them into the kept segments (the "share" of 3-9 Hz power then exceeds 1 on short records)
        resid[:, ~keep] = 0.0
        band = bandpass(resid, 3.0, 9.0, fs, order=2)[:, keep]
        f["fwave_rms_uv"] = float(np.sqrt(np.mean(band ** 2)) * 1000.0)
        total = np.mean(resid[:, keep] ** 2)
        f["fwave_ratio"] = float(np.mean(band ** 2) / total) if total > 0 else np.nan
    return {f"{RECORD_LEVEL}__rhythm__{k}": float(v) for k, v in f.items()}

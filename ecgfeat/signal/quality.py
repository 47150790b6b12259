"""Signal quality: a per-lead and per-record index, and whether the detected beats are credible.

What a cardiologist calls unreadable, measured on the raw signal (its own sampling rate, before any
filter), per lead (`{lead}__quality__<component>`):

- **flat** -- peak-to-peak under 5 uV (a disconnected electrode; as `record.FLAT_PTP_MV`): index 0;
- **flat run with steps** (`flat_fraction`) -- the share of the record spent in runs of exactly
  repeated samples at least 200 ms long: an electrode that drops out and reconnects, a signal held
  by the acquisition. A real ECG does not repeat one ADC value for 200 ms: the TP segment drifts by
  more than one step in that time (real leads: 99.9th percentile 4 % in PTB-XL, 31 % in LUDB);
- **saturated/clipped** (`clipped_fraction`) -- the share of samples stuck at the lead's maximum or
  minimum in runs of >= 3 samples and >= 8 ms: an amplifier at its rails cuts every R (or S) wave
  flat. It counts in full when there are >= 3 such runs (one run at the extreme is a held start);
- **baseline jumps** (`baseline_jump_mv`, `jump_fraction`) -- the steps between the medians of
  consecutive 1 s blocks (a 1 s median is not moved by a QRS, even a wide one at 150 bpm): the
  largest, and the share over 2 mV. A lead is unreadable by jumps when its baseline jumps by more
  than 2 mV at 40 % of the seconds; a jump or two (electrode motion) are removed by the spline
  baseline and the median beat;
- **noisy (out-of-band power)** (`hf_noise_ratio`) -- noise above 40 Hz (mains and harmonics
  excluded), as a robust RMS (1.4826 x median |x|: a pacemaker spike is not noise) scaled to 40 Hz of
  bandwidth, over the lead's in-band 0.5-40 Hz amplitude (1st-99th percentile span): about 0.2
  for white noise at any sampling rate, under 0.05 for every real lead measured;
- **baseline wander (out-of-band power)** (`lf_share`) -- the power under 0.5 Hz as a share of it
  plus the 0.5-40 Hz power: the ECG buried under wander (scored on P_lf / P_band).

Each component c maps to a score 1 / (1 + (c / T)^2): 1 for a perfect lead, 0.5 at its threshold
T (THRESHOLDS); the lead's index is the smallest score (0 for a flat lead), and a lead is of low
quality when its index is under 0.5, i.e. when a component passes its threshold. Thresholds are
where a lead becomes unreadable (flat runs over half the record; clipping over 1 % of samples;
2 mV jumps at 40 % of the seconds; HF noise 10 % of the ECG's amplitude; wander 200 times the
ECG's power), not the edge of one dataset: on PTB-XL (500 records), the Challenge sample (50), LUDB
(100) and CPSC 2018 (4), no record is refused and 1 of 7,848 non-flat leads is flagged (a Challenge
V1 flat but for a 0.1 s burst). The record index is the mean lead index times the beat score.

Beat credibility (`beat_credibility`, on the beat analysis of features/extract.py): QRS complexes
are real when the candidates resemble each other -- the median over the beats of their
second-best QRS correlation (-60..+80 ms, all leads) with another beat, `beat_match_corr`, is at
least 0.6 (pure noise 0.13-0.15, sines of random frequencies 0.44-0.58; real records 0.89 at least)
--, one QRS shape is shared by a third of the beats at least -- the median over the beats of their
correlation with the ceil((n - 1) / 3)-th most similar other beat is at least 0.4 (real records
0.64 at least: AF with intermittent ventricular pacing, flutter with supraventricular ectopy; noise
0.05, sines 0.09-0.23) --, the rate is within 20-300 bpm, and one lead at least is of acceptable
quality (a record of flat runs with steps has beats that match: its steps). The second test is the
rhythm's: a rhythm repeats a dominant QRS (bigeminy: half of the beats; trigeminy: two thirds),
where a periodic signal that is no ECG (sines on a common 2 s period, five candidates a period)
repeats each candidate once a period only, so that its second-best match alone can pass 0.6 (0.71
on the 12 test sines of tests/conftest.py, depending on where the detector's near-equal peaks fall).
Measured on PTB-XL (500 records), LUDB (100), the Challenge sample (50) and CPSC 2018 (4) by
`bench/credibility.py`, which prints both statistics beside those of noise and sines. The match against other beats, not against the median beat
(`beat_qrs_corr`, Templates.qrs_corr, reported too), keeps records credible whose beats fall in two
morphologies or alignments (a flutter record of PTB-XL: 0.52 to the median beat, 0.99 to each
other). `qrs_snr_db` (the median beat's QRS power over the dominant beats' deviation from it) is
reported, not gated on: it follows the median beat into the same trap.

Lead reversal (`la_ra_reversal`, a record-level feature, not a refusal): the left-arm / right-arm
swap -- lead I with P, QRS and T all negative while aVR is not all negative (dextrocardia shows it
too). On real records swapped by hand it fires on 72 % (PTB-XL), 61 % (LUDB), 30 % (Challenge, many
AF: no P wave, no sign) and on none of the 654 unswapped ones.

Why not neurokit2's `ecg_quality`: it works one lead at a time and runs its own peak detection,
13-27 ms per lead (zhao2018, averageQRS, templatematch; measured at 500 Hz, 10 s), i.e. 150-300 ms
per record, where this whole step costs ~3 ms (12 leads, 500 Hz, 10 s; median on real records).
Its zhao2018 pSQI / basSQI are spectral shares of the kind computed here, vectorised over the leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..vocab import LEADS, RECORD_LEVEL

FLAT_PTP_MV = 0.005           # as record.FLAT_PTP_MV
FLAT_RUN_S = 0.2              # a run of one repeated value this long is not an ECG
STUCK_RUN = (3, 0.008)        # samples, seconds: a run at the extreme value this long is clipping
MIN_CLIP_RUNS = 3             # clipping cuts several waves; one run at the extreme is a held start
JUMP_BLOCK_S = 1.0
JUMP_MIN_MV = 2.0
BAND = (0.5, 40.0)
MAINS = (50.0, 60.0)
# threshold T (score 0.5) of each component, on the quantity scored (assess_quality: clipping with
# fewer than 3 runs counts a fifth, wander is scored on P_lf / P_band)
THRESHOLDS = {"flat_fraction": 0.5, "clipped_fraction": 0.01, "jump_fraction": 0.4, "hf_noise_ratio": 0.1,
              "lf_share": 200.0}
REASONS = {"flat_fraction": "flat run with steps", "clipped_fraction": "saturated/clipped",
           "jump_fraction": "baseline jumps", "hf_noise_ratio": "noisy (out-of-band power)",
           "lf_share": "baseline wander (out-of-band power)"}
LOW = 0.5                     # a lead under this index is of low quality
# beat credibility
MIN_MATCH_CORR = 0.6
MIN_SHARED_CORR = 0.4         # with the ceil((n - 1) / 3)-th most similar other beat: one QRS shape for a third
RATE_BPM = (20.0, 300.0)

PER_LEAD = ("index", "flat_fraction", "clipped_fraction", "baseline_jump_mv", "jump_fraction", "hf_noise_ratio",
            "lf_share")
RECORD = ("index", "lead_index_mean", "n_low_leads", "beat_match_corr", "beat_qrs_corr", "qrs_snr_db",
          "n_candidates", "credible_beats", "la_ra_reversal")


def feature_names() -> list[str]:
    return [f"{lead}__quality__{f}" for lead in LEADS for f in PER_LEAD] + [f"{RECORD_LEVEL}__quality__{f}" for f in RECORD]


def score(c, threshold: float):
    """1 / (1 + (c / T)^2): 1 at c = 0, 0.5 at the threshold, towards 0 beyond it."""
    c = np.maximum(np.asarray(c, dtype=float), 0.0)
    return 1.0 / (1.0 + (c / threshold) ** 2)


@dataclass
class Quality:
    """Per-lead quality of a (12, n) record; `components[name]` are (12,) arrays."""
    leads: tuple[str, ...]
    index: np.ndarray                          # (12,) in [0, 1]
    components: dict[str, np.ndarray]
    reasons: list[list[str]]                   # per lead: why it is of low quality (empty: fine)
    record_index: float                        # mean lead index (the feature all__quality__index is it times the beat score)
    low_leads: list[str] = field(default_factory=list)

    @property
    def low_reasons(self) -> dict[str, list[str]]:
        """{lead: reasons} of the low-quality leads."""
        return {lead: r for lead, r in zip(self.leads, self.reasons) if r}


@dataclass
class Credibility:
    credible: bool
    reason: str | None           # one line when not credible
    match_corr: float            # median second-best QRS correlation of each beat with another beat
    qrs_corr: float              # median QRS correlation of the detected beats with their median beat
    qrs_snr_db: float            # median beat's QRS power over the beat-to-beat residual, dB
    rate_bpm: float
    n_candidates: int
    score: float                 # in [0, 1]; < 0.5 exactly when not credible
    shared_corr: float           # median over the beats of their correlation with a third of the others


def _long_runs(mask: np.ndarray, min_len: float) -> tuple[np.ndarray, np.ndarray]:
    """(total length, number) of the runs of True at least `min_len` long in each row of a 2-D mask."""
    rows = mask.shape[0]
    m = np.zeros((rows, mask.shape[1] + 2), dtype=np.int8)
    m[:, 1:-1] = mask
    d = np.diff(m, axis=1)
    r, start = np.nonzero(d == 1)          # row-major: the starts and ends of each row pair up in order
    _, end = np.nonzero(d == -1)
    length = end - start
    keep = length >= min_len
    total = np.bincount(r[keep], weights=length[keep], minlength=rows)
    return total, np.bincount(r[keep], minlength=rows)


def _flat_fraction(x: np.ndarray, fs: float) -> np.ndarray:
    """Per lead: share of the samples in runs of one repeated value lasting >= FLAT_RUN_S."""
    total, count = _long_runs(np.diff(x, axis=-1) == 0, FLAT_RUN_S * fs - 1)   # k equal diffs: k + 1 samples
    return (total + count) / x.shape[-1]


def _clipped(x: np.ndarray, fs: float, ptp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per lead: (share of samples stuck at the lead's maximum or minimum in runs of >= 3 samples and
    >= 8 ms, number of such runs)."""
    tol = (1e-6 * np.maximum(ptp, 1e-3))[:, None]
    need = max(STUCK_RUN[0], int(np.ceil(STUCK_RUN[1] * fs)))
    hi = x >= x.max(axis=-1, keepdims=True) - tol
    lo = x <= x.min(axis=-1, keepdims=True) + tol
    total, count = _long_runs(np.concatenate([hi, lo]), need)
    n = x.shape[0]
    return np.minimum(total[:n] + total[n:], x.shape[-1]) / x.shape[-1], count[:n] + count[n:]


def _spectral(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hf_noise_ratio, lf_share, in-band amplitude in mV) of each lead of a (leads, n) signal."""
    n = x.shape[-1]
    t = np.arange(n) - (n - 1) / 2
    xc = x - x.mean(axis=-1, keepdims=True)
    xc = xc - np.outer((xc @ t) / (t @ t), t)             # linear trend out: it is not baseline wander
    X = np.fft.rfft(xc, axis=-1)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    band = (f >= BAND[0]) & (f <= BAND[1])
    lf = (f > 0) & (f < BAND[0])
    hf = f > BAND[1]
    for m in MAINS:      # mains and its harmonics: interference the 40 Hz low-pass removes anyway
        for h in range(1, int(f[-1] // m) + 1):
            hf &= np.abs(f - h * m) > 1.5
    p = X.real ** 2 + X.imag ** 2
    p_band, p_lf = p[:, band].sum(axis=-1), p[:, lf].sum(axis=-1)
    lf_share = p_lf / (p_lf + p_band + 1e-30)
    # the in-band signal, synthesised at ~100 Hz (it holds nothing above 40 Hz): its 1st-99th
    # percentile span is the lead's ECG amplitude
    m = min(n, max(8, int(round(n * 100.0 / fs))))
    xb = np.fft.irfft(np.where(band, X, 0)[:, : m // 2 + 1], n=m, axis=-1) * (m / n)
    k1, k2 = int(0.01 * (m - 1)), int(0.99 * (m - 1))
    part = np.partition(xb, [k1, k2], axis=-1)
    amp = part[:, k2] - part[:, k1]
    if hf.sum() >= 2:
        xh = np.fft.irfft(np.where(hf, X, 0), n=n, axis=-1)
        # robust RMS (MAD, on <= 2000 samples): sparse spikes (pacemaker, a single artefact) are not
        # continuous noise; scaled to the noise a white spectrum would put in 40 Hz of bandwidth
        ah = np.abs(xh[:, :: max(1, n // 2000)])
        mad = np.partition(ah, ah.shape[1] // 2, axis=-1)[:, ah.shape[1] // 2]
        rms = 1.4826 * mad * np.sqrt(40.0 / (hf.sum() * (f[1] - f[0])))
        hf_ratio = rms / (amp + 1e-9)
    else:
        hf_ratio = np.zeros(x.shape[0])
    return hf_ratio, lf_share, amp


def _jumps(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(largest step in mV, share of steps over 2 mV) between the medians of consecutive 1 s blocks,
    per lead."""
    d = max(1, int(fs // 100))              # medians of 1 s: every d-th sample (~100 Hz) is enough
    x = x[:, ::d]
    w = max(1, int(round(JUMP_BLOCK_S * fs / d)))
    k = x.shape[-1] // w
    if k < 2:
        return np.zeros(x.shape[0]), np.zeros(x.shape[0])
    med = np.median(x[:, : k * w].reshape(x.shape[0], k, w), axis=-1)
    step = np.abs(np.diff(med, axis=-1))
    return step.max(axis=-1), (step > JUMP_MIN_MV).mean(axis=-1)


def assess_quality(signal: np.ndarray, fs: float, leads: tuple[str, ...] = LEADS) -> Quality:
    """Per-lead signal quality of a (leads, n) record in mV at `fs` Hz.

    Parameters
    ----------
    signal : ndarray, shape (n_leads, n_samples)
        The raw record in millivolts (before any filter).
    fs : float
        Its sampling rate, Hz.
    leads : tuple of str
        Lead names of the rows (default: the 12 standard leads).

    Returns
    -------
    Quality
        Per-lead index in [0, 1], the components, per-lead reasons and the low-quality leads.

    Examples
    --------
    >>> import numpy as np
    >>> q = assess_quality(np.random.default_rng(0).normal(0, 0.01, (12, 5000)), 500.0)
    >>> q.low_leads == list(LEADS), q.reasons[0]
    (True, ['noisy (out-of-band power)'])
    """
    x = np.asarray(signal, dtype=np.float64)
    n_leads = x.shape[0]
    ptp = np.ptp(x, axis=-1)
    clipped, clip_runs = _clipped(x, fs, ptp)
    comp = {"flat_fraction": _flat_fraction(x, fs), "clipped_fraction": clipped}
    comp["hf_noise_ratio"], comp["lf_share"], amp = _spectral(x, fs)
    comp["baseline_jump_mv"], comp["jump_fraction"] = _jumps(x, fs)
    scored = {c: comp[c] for c in THRESHOLDS}
    # clipping needs several runs at the extremes; wander is scored on its power ratio P_lf / P_band
    scored["clipped_fraction"] = clipped * np.where(clip_runs >= MIN_CLIP_RUNS, 1.0, 0.2)
    lf = comp["lf_share"]
    scored["lf_share"] = lf / np.maximum(1.0 - lf, 1e-12)
    flat = ptp < FLAT_PTP_MV
    scores = np.stack([score(scored[c], THRESHOLDS[c]) for c in THRESHOLDS])   # (components, leads)
    index = np.where(flat, 0.0, scores.min(axis=0))
    reasons = []
    for k in range(n_leads):
        if flat[k]:
            reasons.append(["flat"])
            continue
        r = [REASONS[c] for c, s in zip(THRESHOLDS, scores[:, k]) if s < LOW]
        if "flat run with steps" in r:   # a held value sits at the extremes and jumps at its steps: one cause
            r = [m for m in r if m not in ("saturated/clipped", "baseline jumps")]
        reasons.append(r)
    low = [lead for lead, r in zip(leads, reasons) if r]
    comp = {c: np.where(flat, np.nan, v) if c != "flat_fraction" else np.where(flat, 1.0, v) for c, v in comp.items()}
    return Quality(tuple(leads), index, comp, reasons, float(index.mean()), low)


def _match_corr(tp) -> tuple[float, float]:
    """(second-best, shared) QRS correlation of the beats with the other beats (all leads): the
    median over the beats of their 2nd-best and of their ceil((n - 1) / 3)-th best correlation."""
    fs, pre = tp.fs, tp.pre
    q = tp.epochs[:, :, max(pre - int(0.06 * fs), 0):pre + int(0.08 * fs)]
    if q.shape[0] < 2:
        return np.nan, np.nan
    q = q - q.mean(axis=-1, keepdims=True)
    v = q.reshape(q.shape[0], -1)
    v = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)
    c = v @ v.T
    np.fill_diagonal(c, -np.inf)
    ranked = -np.sort(-c, axis=1)
    n_other = c.shape[0] - 1
    k2, k3 = min(2, n_other), max(min(2, n_other), -(-n_other // 3))
    return float(np.median(ranked[:, k2 - 1])), float(np.median(ranked[:, k3 - 1]))


def _qrs_snr_db(tp) -> float:
    """Power of the median beat's QRS window over the mean power of the dominant beats' deviation from it."""
    fs = tp.fs
    if tp.epochs.shape[0] < 2:
        return np.nan
    a, b = max(tp.pre - int(0.06 * fs), 0), tp.pre + int(0.08 * fs)
    tq = tp.template[:, a:b]
    sig = float(((tq - tq.mean(axis=-1, keepdims=True)) ** 2).sum())
    dev = tp.epochs[tp.dominant][:, :, a:b] - tq[None]
    dev = dev - dev.mean(axis=-1, keepdims=True)      # a beat's baseline offset is not noise
    res = float((dev ** 2).sum(axis=(1, 2)).mean())
    return float(10 * np.log10((sig + 1e-30) / (res + 1e-30)))


def beat_credibility(tp, quality: Quality | None = None) -> Credibility:
    """Whether the beats of a beat analysis (signal.template.Templates) are real QRS complexes.

    Credible when the candidates' QRS complexes resemble each other -- the median over the beats of
    their second-best correlation with another beat (QRS window, -60..+80 ms, all leads) is >= 0.6
    (`beat_match_corr`; noise <= 0.15, random sines <= 0.58, real records >= 0.89, measured) --, when
    one QRS shape is shared by a third of them (the median of each beat's correlation with its
    ceil((n - 1) / 3)-th most similar other beat is >= 0.4; noise and sines <= 0.23, real records
    >= 0.64), when the rate is within 20-300 bpm, and (given `quality`) when at least one lead is of
    acceptable quality.
    The match against the other beats rather than against the median beat (`beat_qrs_corr`,
    Templates.qrs_corr, reported too) keeps a record credible when its beats fall in two
    morphologies or alignments (bigeminy, flutter waves on the QRS), where the median beat of the
    mixture resembles neither.
    """
    fs = tp.fs
    n = int(tp.fiducials.size)
    corr = tp.qrs_corr[np.isfinite(tp.qrs_corr)]
    qrs_corr = float(np.median(corr)) if corr.size else np.nan
    match, shared = _match_corr(tp)
    rate = 60.0 * fs / float(np.median(np.diff(tp.fiducials))) if n >= 2 else np.nan
    why = []
    if not np.isfinite(match) or match < MIN_MATCH_CORR:
        why.append(f"median QRS correlation {match:.2f} between the {n} candidates (credible >= {MIN_MATCH_CORR:g})")
    elif not np.isfinite(shared) or shared < MIN_SHARED_CORR:
        why.append(f"no QRS shape shared by a third of the {n} candidates (median QRS correlation {shared:.2f} "
                   f"with a third of the others, credible >= {MIN_SHARED_CORR:g})")
    if not (np.isfinite(rate) and RATE_BPM[0] <= rate <= RATE_BPM[1]):
        why.append(f"rate {rate:.0f} bpm over {n} candidates")
    if quality is not None and len(quality.low_leads) == len(quality.leads):
        causes = sorted({r for rs in quality.reasons for r in rs})
        why.append(f"no lead of acceptable quality ({', '.join(causes)})")
    sc = float(score(1.0 - match, 1.0 - MIN_MATCH_CORR)) if np.isfinite(match) else 0.0
    sc = min(sc, 0.49) if why else max(sc, 0.5)
    return Credibility(not why, "; ".join(why) or None, match, qrs_corr, _qrs_snr_db(tp), float(rate), n, sc, shared)


def la_ra_reversal(tp, d) -> float:
    """1.0 when lead I has its P, QRS and T all negative and aVR is not the all-negative lead of a
    normally placed heart (its P or its QRS upright): the left-arm / right-arm reversal (or
    dextrocardia); 0.0 otherwise, also without a P wave (the sign needs it)."""
    i, avr = LEADS.index("I"), LEADS.index("aVR")
    if not d.has_p:
        return 0.0
    rel = tp.template - d.baseline[:, None]
    p = rel[:, d.p_peak]
    qrs = rel[:, d.qrs_on:d.qrs_off + 1].sum(axis=-1)          # net QRS area (sign)
    t = rel[:, d.t_peak]
    lead_i = p[i] < -0.02 and qrs[i] < 0 and t[i] < -0.02
    avr_upright = p[avr] > 0 or qrs[avr] > 0
    return float(lead_i and avr_upright)


def quality_features(q: Quality, cred: Credibility | None = None, reversal: float = np.nan) -> dict[str, float]:
    """The `quality` family: `{lead}__quality__...` and `all__quality__...` (see feature_names)."""
    out = {}
    for k, lead in enumerate(q.leads):
        out[f"{lead}__quality__index"] = float(q.index[k])
        for c in PER_LEAD[1:]:
            out[f"{lead}__quality__{c}"] = float(q.components[c][k])
    mean = float(q.index.mean())
    beat_score = cred.score if cred is not None else 0.0
    rec = {"index": mean * beat_score, "lead_index_mean": mean, "n_low_leads": float(len(q.low_leads)),
           "beat_match_corr": cred.match_corr if cred else np.nan, "beat_qrs_corr": cred.qrs_corr if cred else np.nan, "qrs_snr_db": cred.qrs_snr_db if cred else np.nan,
           "n_candidates": float(cred.n_candidates) if cred else 0.0,
           "credible_beats": float(cred.credible) if cred else 0.0, "la_ra_reversal": float(reversal)}
    out.update({f"{RECORD_LEVEL}__quality__{k}": float(v) for k, v in rec.items()})
    return out


def warnings_of(q: Quality, flat_leads=(), reversal: float = np.nan, refused: str | None = None) -> list[str]:
    """One-line human warnings for a record: flat / low-quality leads, a lead reversal, a refusal."""
    bad = dict(q.low_reasons)
    for lead in flat_leads:
        bad[lead] = ["flat"]
    out = []
    by_reason: dict[str, list[str]] = {}
    for lead in LEADS:
        for r in bad.get(lead, []):
            by_reason.setdefault(r, []).append(lead)
    for r, leads in by_reason.items():
        out.append(f"{r}: {', '.join(leads)}")
    if reversal == 1.0:
        out.append("lead I with inverted P, QRS and T and aVR upright: LA/RA electrode reversal (or dextrocardia)?")
    if refused:
        out.append(refused)
    return out


def quality_entry(q: Quality, flat_leads=(), features: dict | None = None, refused: str | None = None) -> dict:
    """The per-record `quality` object of `predict --json` / explain: record index, flat and
    low-quality leads with their reasons, the LA/RA reversal flag, whether the beats are credible,
    and the one-line warnings. `features`: the record's `quality` family row, when computed."""
    f = features or {}
    rev = f.get(f"{RECORD_LEVEL}__quality__la_ra_reversal", np.nan)
    cred = f.get(f"{RECORD_LEVEL}__quality__credible_beats", np.nan)
    index = f.get(f"{RECORD_LEVEL}__quality__index", q.record_index)
    low = {lead: r for lead, r in q.low_reasons.items() if lead not in flat_leads and r != ["flat"]}
    flat = [lead for lead in LEADS if lead in set(flat_leads) | {k for k, r in q.low_reasons.items() if r == ["flat"]}]
    return {"index": None if not np.isfinite(index) else round(float(index), 3),
            "flat_leads": flat, "low_quality_leads": low,
            "lead_reversal": None if not np.isfinite(rev) else bool(rev),
            "credible_beats": None if not np.isfinite(cred) else bool(cred),
            "warnings": warnings_of(q, flat_leads, rev, refused)}

"""Dictionary text of the `rhythm` and `quality` families: {feature: (unit, definition, method, criterion)}.

The columns come from the code (features/rhythm.py, signal/quality.py); `tests/test_dictionary.py`
fails when the two disagree.
"""

from __future__ import annotations

_RR = "features/rhythm.py, RR intervals between the beat fiducials (signal/beats.py, signal/template.py)"
_PREM = ("features/rhythm.py premature_beats: RR < 80% of the local median RR (up to 4 RR each side), "
         "followed by an RR > 90% of it and 15% longer than the premature RR")
_FW = ("features/rhythm.py: every dominant beat of V1 and II cancelled with the median beat (ectopic beats left out), "
       "residual band-passed to 3-9 Hz")
_AF = "atrial fibrillation: irregularly irregular RR intervals without distinct P waves (ESC 2020 guidelines, Hindricks et al.)"

RHYTHM_RECORD: dict[str, tuple[str, str, str, str]] = {
    "rr_mean_ms": ("ms", "mean RR interval", _RR, "rate (60000 / RR): brady- and tachycardia"),
    "rr_sd_ms": ("ms", "standard deviation of the RR intervals (SDNN over the record)", _RR,
                 f"RR irregularity of {_AF}; sinus arrhythmia"),
    "rr_cv": ("ratio", "coefficient of variation of the RR intervals: rr_sd_ms / rr_mean_ms", _RR,
              f"rate-independent RR irregularity: {_AF}"),
    "rmssd_ms": ("ms", "root mean square of the successive RR differences", _RR,
                 f"beat-to-beat irregularity: {_AF}, ectopy"),
    "pnn50": ("fraction", "share of successive RR differences larger than 50 ms", _RR,
              f"beat-to-beat irregularity: {_AF}"),
    "rr_sampen": ("nats", "sample entropy of the RR series (m = 2, r = 0.2 SD); NaN when undefined on a short series",
                  f"{_RR}; its sample_entropy",
                  f"unpredictability of the RR series: {_AF}"),
    "rr_irregularity": ("ratio", "median |successive RR difference| / median RR", _RR,
                        f"robust RR irregularity (isolated ectopic beats move it little): {_AF}"),
    "premature_count": ("count", "premature beats followed by a pause", _PREM,
                        "premature atrial (PAC) or ventricular (PVC) complexes"),
    "premature_fraction": ("fraction", "premature_count / number of beats", _PREM,
                           "ectopic burden (PAC, PVC; bigeminy near 0.5)"),
    "aberrant_premature_count": ("count", "premature beats whose QRS correlates < 0.8 with the dominant morphology "
                                          "(ventricular or aberrantly conducted; it measures the correlation, not the QRS width); "
                                          "named wide_premature_count before feature version 3",
                                 f"{_PREM}; QRS correlation from signal/template.py",
                                 "PVC: premature wide QRS of different morphology, vs PAC: premature P with a normal QRS"),
    "ectopic_fraction": ("fraction", "share of the beats whose QRS correlates < 0.9 with the median beat",
                         "features/rhythm.py, QRS correlation of each beat (signal/template.py)",
                         "beats off the dominant morphology: PVCs, aberrancy, intermittent bundle branch block"),
    "p_presence": ("fraction", "share of beats whose P window correlates > 0.5 with the median beat's P (all leads); 0 without a P wave",
                   "features/rhythm.py, P window from signal/delineate.py",
                   f"a P wave before every QRS in sinus rhythm; absent P of {_AF}"),
    "fwave_rms_uv": ("µV", "RMS of the 3-9 Hz residual (fibrillatory waves) of V1 and II after beat cancellation", _FW,
                     f"fibrillatory f waves (4-9 Hz atrial activity) of {_AF}"),
    "fwave_ratio": ("ratio", "share of the residual's 0.67-40 Hz power that lies at 3-9 Hz", _FW,
                    f"fibrillatory f waves of {_AF}, relative to the remaining noise"),
    "n_beats": ("count", "number of detected beats in the record", "signal/beats.py (fiducials of signal/template.py)",
                "none by itself (rate over the record length; the number of beats averaged into the median beat)"),
    "paced_share": ("fraction", "share of the beats led by a pacemaker spike; 0 in an unpaced record",
                    "signal/pacing.py: one-sample jumps >= 0.1 mV and 10x the lead's usual sample-to-sample change, out of "
                    "10 ms of quiet baseline, seen in >= 2 independent leads (I, II, V1-V6), on the signal as recorded",
                    "paced rhythm (AHA/ACC/HRS 2009 statements 'atrial / ventricular paced'): a paced QRS is wide by "
                    "stimulus, not by a bundle branch block; the record is treated as paced at >= 0.5"),
}

_QL = "signal/quality.py assess_quality, on the raw signal at its own sampling rate (before any filter)"
_QB = "signal/quality.py beat_credibility, on the beat analysis of features/extract.py"
_READ = "a lead unreadable by its signal (its per-lead features are NaN in every other family)"

QUALITY_PER_LEAD: dict[str, tuple[str, str, str, str]] = {
    "index": ("score 0..1", "lead quality index: the smallest component score 1 / (1 + (c / T)^2), 0.5 at a component's threshold T; 0 for a flat lead (peak-to-peak < 5 µV)",
              _QL, f"{_READ} when under 0.5"),
    "flat_fraction": ("fraction", "share of the record in runs of one exactly repeated sample lasting >= 200 ms (threshold 0.5)",
                      _QL, f"{_READ}: electrode drop-out, held signal"),
    "clipped_fraction": ("fraction", "share of the samples stuck at the lead's maximum or minimum in runs >= 3 samples and >= 8 ms (threshold 1%, counted in full with >= 3 runs)",
                         _QL, f"{_READ}: amplifier saturation cutting the R or S waves"),
    "baseline_jump_mv": ("mV", "largest step between the medians of consecutive 1 s blocks",
                         _QL, "electrode motion; reported, not scored (jump_fraction is)"),
    "jump_fraction": ("fraction", "share of the 1 s block steps larger than 2 mV (threshold 0.4)",
                      _QL, f"{_READ}: baseline jumps"),
    "hf_noise_ratio": ("ratio", "robust RMS of the noise above 40 Hz (mains and harmonics excluded), scaled to 40 Hz of bandwidth, over the lead's 0.5-40 Hz amplitude (1st-99th percentile span); threshold 0.1",
                       _QL, f"{_READ}: muscle noise, out-of-band power"),
    "lf_share": ("fraction", "power under 0.5 Hz as a share of it plus the 0.5-40 Hz power (scored on P_lf / P_band, threshold 200)",
                 _QL, f"{_READ}: baseline wander"),
}

QUALITY_RECORD: dict[str, tuple[str, str, str, str]] = {
    "index": ("score 0..1", "record quality index: the mean lead index times the beat credibility score",
              f"{_QL}; {_QB}", "whether the record can be read at all"),
    "lead_index_mean": ("score 0..1", "mean of the 12 lead quality indices", _QL, "overall signal quality"),
    "n_low_leads": ("count", "number of leads of low quality (index < 0.5)", _QL,
                    "how many leads are unreadable (left out of the beat analysis)"),
    "beat_match_corr": ("correlation", "median over the beats of their second-best QRS correlation (-60..+80 ms, all leads) with another beat",
                        _QB, "credible QRS complexes when >= 0.6 (noise <= 0.15, random sines <= 0.58, real records >= 0.89)"),
    "beat_qrs_corr": ("correlation", "median QRS correlation of the detected beats with their median beat (reported, not gated on)",
                      _QB, "stability of the QRS morphology; low in bigeminy, intermittent BBB"),
    "qrs_snr_db": ("dB", "power of the median beat's QRS window over the mean power of the dominant beats' deviation from it",
                   _QB, "signal-to-noise of the median beat (reported, not gated on)"),
    "n_candidates": ("count", "number of beat candidates found by the beat detector", _QB,
                     "none by itself (input of the rate check, 20-300 bpm)"),
    "credible_beats": ("flag", "1 when the beats are credible (beat_match_corr >= 0.6, one QRS shape shared by a third of the beats, rate 20-300 bpm, at least one lead of acceptable quality), else 0; expert and rhythm are NaN when 0",
                       _QB, "whether intervals and rhythm can be measured on this record"),
    "la_ra_reversal": ("flag", "1 when lead I has its P, QRS and T all negative and aVR has an upright P or QRS, else 0 (also without a P wave)",
                       "signal/quality.py la_ra_reversal, on the median beat",
                       "left-arm / right-arm electrode reversal, or dextrocardia"),
}

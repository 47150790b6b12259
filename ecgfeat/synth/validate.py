"""Check the synthetic physiology against an independent delineator (neurokit2) on one lead.

Used by the test suite (thresholds) and by `bench/synth_check.py` (figures for the README).

PR uses neurokit2's `prominence` delineator (Emrich et al. 2023). Its `dwt` R onsets are not a
usable reference: on real PTB-XL normal records (ptbxl-500 ids 1-40, lead II) they give PR of
50-80 ms and R onsets 100+ ms before the R peak; its `peak` method looks only 0.35 RR before the
R peak, so it cannot see the P wave of a first-degree AV block.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def neurokit_agreement(folder: str | Path, lead: str = "II", tolerance_ms: float = 20.0) -> dict:
    """R peaks found per true beat, and |PR(neurokit2) - PR(params)| <= tolerance per record."""
    import wfdb

    from ..optional import require

    nk = require("neurokit2", "validate", "the synthetic set's neurokit2 check")

    from ..vocab import LEADS
    from . import read_params

    folder = Path(folder)
    params = read_params(folder)
    found = total = pr_ok = pr_n = 0
    pr_errors = []
    for rid, row in params.iterrows():
        sig, fields = wfdb.rdsamp(str(folder / rid))
        fs = fields["fs"]
        clean = nk.ecg_clean(sig[:, LEADS.index(lead)], sampling_rate=fs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.ecg_peaks(clean, sampling_rate=fs)
        peaks = np.asarray(info["ECG_R_Peaks"]) / fs
        inside = (row.qrs_on_s >= 0) & (row.qrs_off_s <= len(clean) / fs)
        for a, b in zip(row.qrs_on_s[inside], row.qrs_off_s[inside]):
            total += 1
            found += bool(np.any((peaks >= a - 0.02) & (peaks <= b + 0.02)))
        if np.isfinite(row.pr_ms):
            pr_n += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    _, waves = nk.ecg_delineate(clean, info["ECG_R_Peaks"], sampling_rate=fs, method="prominence")
                    pr = np.nanmedian(np.asarray(waves["ECG_R_Onsets"], float)
                                      - np.asarray(waves["ECG_P_Onsets"], float)) / fs * 1000
                except Exception:  # neurokit2 raises on records it cannot delineate: a miss
                    pr = np.nan
            err = pr - row.pr_ms
            pr_errors.append(err)
            pr_ok += bool(abs(err) <= tolerance_ms)
    e = np.asarray(pr_errors, dtype=float)
    return {"records": len(params), "beats": total, "beats_found": found, "r_peak_recall": found / max(total, 1),
            "records_with_p": pr_n, "pr_within_tol": pr_ok, "pr_fraction": pr_ok / max(pr_n, 1),
            "pr_error_median_ms": float(np.nanmedian(e)) if e.size else float("nan"),
            "pr_abs_error_median_ms": float(np.nanmedian(np.abs(e))) if e.size else float("nan"),
            "tolerance_ms": tolerance_ms, "lead": lead}

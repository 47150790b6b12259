"""One in-memory ECG record, whatever file it came from.

signal: float32, shape (12, n_samples), millivolts, leads in `vocab.LEADS` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from .vocab import LEADS

MIN_SECONDS = 2.0      # shorter records are refused: too few beats to measure anything
FLAT_PTP_MV = 0.005    # a lead whose peak-to-peak stays under 5 uV carries no signal
MIN_FS = 50.0          # Hz; below this a QRS (~100 ms) is a handful of samples


class RecordError(Exception):
    """A record that cannot be used; the message is one line naming the file and the reason."""


@dataclass
class Record:
    record_id: str
    signal: np.ndarray                 # (12, n) float32, mV
    fs: float                          # Hz
    age: float | None = None
    sex: str | None = None             # "M" / "F" / None
    codes: tuple[str, ...] = ()        # label codes as the source writes them
    code_system: str = "none"          # "cpsc" (1-9), "snomed", "scp" (PTB-XL), "cpsc9" (class names), "none"
    source: str = ""                   # path of the signal file
    dataset: str = ""                  # dataset name (folder name unless given)
    meta: dict = field(default_factory=dict)  # e.g. {"strat_fold": 3, "patient_id": 123, "scp_codes": {...}}
    leads: tuple[str, ...] = LEADS

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead(self, name: str) -> np.ndarray:
        return self.signal[self.leads.index(name)]

    def resampled(self, fs: float) -> "Record":
        """The record at sampling rate `fs` (polyphase, scipy.signal.resample_poly)."""
        if float(fs) == float(self.fs):
            return self
        ratio = Fraction(float(fs) / float(self.fs)).limit_denominator(1000)
        from scipy.signal import resample_poly   # here: planning a dataset needs no scipy.signal

        sig = resample_poly(self.signal.astype(np.float64), ratio.numerator, ratio.denominator,
                            axis=1, padtype="line")
        return replace(self, signal=sig.astype(np.float32), fs=float(fs))


def check_signal(signal: np.ndarray, fs: float, where: str) -> list[str]:
    """Raise RecordError when a decoded 12-lead signal is unusable (named after `where`).

    Returns the leads that are flat (peak-to-peak under 5 uV): a disconnected electrode, as in
    some Challenge records whose V1-V6 are recorded as zeros. Such a record stays usable (its other
    leads carry the diagnosis; features of the flat leads become NaN); only a record whose every
    lead is flat is refused.
    """
    if signal.ndim != 2 or signal.shape[0] != len(LEADS):
        raise RecordError(f"{where}: expected 12 leads, got shape {signal.shape}")
    if signal.shape[1] == 0:
        raise RecordError(f"{where}: empty signal (0 samples)")
    if not fs or not np.isfinite(fs) or fs <= 0:
        raise RecordError(f"{where}: invalid sampling rate {fs!r}")
    if fs < MIN_FS:
        raise RecordError(f"{where}: sampling rate {fs:g} Hz is under {MIN_FS:g} Hz, too low to see a QRS")
    dur = signal.shape[1] / fs
    if dur < MIN_SECONDS:
        raise RecordError(f"{where}: record is {dur:.2f} s long, under the {MIN_SECONDS:g} s minimum")
    finite = np.isfinite(signal)
    if not finite.all():
        bad = [LEADS[i] for i in np.flatnonzero(~finite.all(axis=1))]
        raise RecordError(f"{where}: NaN/Inf samples in lead(s) {', '.join(bad)}")
    ptp = np.ptp(signal, axis=1)
    flat = [LEADS[i] for i in np.flatnonzero(ptp < FLAT_PTP_MV)]
    if len(flat) == len(LEADS):
        raise RecordError(f"{where}: every lead is flat (peak-to-peak < {FLAT_PTP_MV * 1000:g} uV)")
    return flat


def order_leads(signal: np.ndarray, names: list[str], where: str) -> np.ndarray:
    """Reorder a (n_leads, n) signal with file lead `names` into the standard 12-lead order.

    Names match case-insensitively; extra leads (e.g. Frank vx, vy, vz) are dropped;
    a missing or duplicated standard lead raises RecordError.
    """
    from .vocab import canonical_lead

    index: dict[str, int] = {}
    for i, name in enumerate(names):
        lead = canonical_lead(name)
        if lead is None:
            continue
        if lead in index:
            raise RecordError(f"{where}: lead {lead} appears twice")
        index[lead] = i
    missing = [lead for lead in LEADS if lead not in index]
    if missing:
        raise RecordError(f"{where}: missing lead(s) {', '.join(missing)} (has {', '.join(map(str, names))})")
    return signal[[index[lead] for lead in LEADS]].astype(np.float32, copy=False)

"""Features of ECG arrays: ``extract_features`` (arrays -> DataFrame) and ``ECGFeatures`` (its
scikit-learn transformer), over the record extraction of ``ecgfeat extract`` (features/extract.py).

One record ``(leads, samples)`` or a batch ``(records, leads, samples)``, 12 leads or any subset
of them (a single-lead wearable strip, a 3-lead Holter). Column names are those of the feature
store: ``{lead}__{family}__{feature}``, record-level ones under the lead ``all``.

Leads that are not given are *absent*: the signal is analysed as a 12-lead record whose absent
leads carry nothing (the way a disconnected electrode is handled: left out of the beat analysis),
their columns are left out of the result, and a record-level feature that is computed from a
lead that is absent is NaN: the axes need I and aVF, Sokolow-Lyon V1, V5 and V6, Cornell aVL and
V3, the f-wave measures V1 and II (``RECORD_LEVEL_LEADS``); the intervals and rate
(``EXPERT_ANY_LEADS``) are measured on the leads given; any other record-level expert feature
needs all 12 leads. The record-level quality summary (``all__quality__index``,
``lead_index_mean``, ``n_low_leads``) is taken over the leads given.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..record import Record, RecordError, check_signal
from ..vocab import LEADS, RECORD_LEVEL, canonical_lead
from .settings import DEFAULT_FAMILIES, FeatureSettings

# record-level features measured on named leads: NaN when one of them is absent
RECORD_LEVEL_LEADS: dict[str, tuple[str, ...]] = {
    "all__expert__axis_deg": ("I", "aVF"),
    "all__expert__p_axis_deg": ("I", "aVF"),
    "all__expert__t_axis_deg": ("I", "aVF"),
    "all__expert__qrst_angle_deg": ("I", "aVF"),
    "all__expert__sokolow_lyon_mv": ("V1", "V5", "V6"),   # S(V1) + max(R(V5), R(V6))
    "all__expert__cornell_mv": ("aVL", "V3"),              # R(aVL) + S(V3)
    "all__rhythm__fwave_rms_uv": ("V1", "II"),             # f-waves: the residual of V1 and II
    "all__rhythm__fwave_ratio": ("V1", "II"),
}

# record-level expert features measured on whichever leads are present (global intervals, rate)
EXPERT_ANY_LEADS = frozenset(f"{RECORD_LEVEL}__expert__{n}" for n in (
    "hr_bpm", "pr_ms", "p_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "p_present"))


def parse_lead_names(leads: str | Sequence[str] | None, n_rows: int | None = None) -> tuple[str, ...]:
    """The standard names of ``leads`` (one per signal row; None: the 12 leads in standard order).

    ``leads`` is a sequence of names or a comma-separated string; names match case-insensitively
    (``"avr"`` is aVR). Raises ValueError for an unknown or repeated lead, or a count that does
    not match ``n_rows``.
    """
    if leads is None:
        names: tuple[str, ...] = LEADS
    else:
        parts = leads.split(",") if isinstance(leads, str) else list(leads)
        out = []
        for part in parts:
            lead = canonical_lead(part)
            if lead is None:
                raise ValueError(f"unknown lead {str(part).strip()!r}; leads are {', '.join(LEADS)}")
            if lead in out:
                raise ValueError(f"lead {lead} is given twice")
            out.append(lead)
        names = tuple(out)
    if n_rows is not None and n_rows != len(names):
        raise ValueError(f"the signal has {n_rows} lead row(s) but {len(names)} lead name(s) "
                         f"({', '.join(names)}); pass leads=[...] naming each row")
    return names


def _records(signals) -> list[np.ndarray]:
    """The records of `signals` as 2-D float arrays (leads, samples)."""
    if isinstance(signals, (list, tuple)) and signals and np.ndim(signals[0]) == 2:
        recs = [np.asarray(s, dtype=np.float64) for s in signals]      # records of any lengths
    else:
        a = np.asarray(signals, dtype=np.float64)
        if a.ndim == 1:
            a = a[None, :]           # one lead of one record
        if a.ndim == 2:
            recs = [a]
        elif a.ndim == 3:
            recs = list(a)
        else:
            raise ValueError(f"signals must be (leads, samples) or (records, leads, samples), got shape {a.shape}")
    if not recs:
        raise ValueError("signals holds no record")
    rows = {r.shape[0] for r in recs}
    if len(rows) > 1:
        raise ValueError(f"every record must have the same leads, got {sorted(rows)} lead rows")
    return recs


def as_record(signal: np.ndarray, fs: float, leads: Sequence[str] = LEADS, record_id: str = "0") -> Record:
    """A 12-lead :class:`~ecgfeat.record.Record` of a (len(leads), samples) mV array; absent leads
    are zero rows listed in ``meta["flat_leads"]`` (left out of the beat analysis, NaN features).
    Raises RecordError (one line) for a signal that cannot be used (too short, NaN, fs too low)."""
    sig = np.zeros((len(LEADS), signal.shape[1]), dtype=np.float32)
    for row, lead in enumerate(leads):
        sig[LEADS.index(lead)] = signal[row]
    where = f"record {record_id}"
    if signal.shape[1] and not np.isfinite(signal).all():   # named by the caller's lead rows
        bad = [lead for lead, ok in zip(leads, np.isfinite(signal).all(axis=1)) if not ok]
        raise RecordError(f"{where}: NaN/Inf samples in lead(s) {', '.join(bad)}")
    flat = check_signal(sig, float(fs), where)
    return Record(record_id=record_id, signal=sig, fs=float(fs), source=where, meta={"flat_leads": flat})


def _fix_record_level(row: dict[str, float], present: set[str]) -> None:
    absent = set(LEADS) - present
    if not absent:
        return
    for name in row:
        if name in EXPERT_ANY_LEADS:
            continue
        if name in RECORD_LEVEL_LEADS or name.startswith(f"{RECORD_LEVEL}__expert__"):
            if absent.intersection(RECORD_LEVEL_LEADS.get(name, LEADS)):
                row[name] = np.nan
    if "all__quality__lead_index_mean" in row:
        mean12 = row["all__quality__lead_index_mean"]
        idx = [row.get(f"{lead}__quality__index", np.nan) for lead in LEADS if lead in present]
        mean = float(np.nanmean(idx)) if np.isfinite(idx).any() else np.nan
        beat = row["all__quality__index"] / mean12 if mean12 else 0.0   # the beat credibility score
        row["all__quality__lead_index_mean"] = mean
        row["all__quality__index"] = mean * beat
        row["all__quality__n_low_leads"] -= len(absent)     # absent leads were counted as flat


def _one(signal: np.ndarray, fs: float, leads: tuple[str, ...], settings: FeatureSettings,
         record_id: str) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
    from .extract import extract_features as extract_record

    try:
        rec = as_record(signal, fs, leads, record_id)
    except RecordError as err:
        return {}, [(record_id, "record", str(err))]
    tables, errors = extract_record(rec, settings)
    row: dict[str, float] = {}
    for table in tables.values():
        row.update(table)
    present = set(leads)
    keep = {name: v for name, v in row.items() if name.split("__", 1)[0] in present or
            name.startswith(f"{RECORD_LEVEL}__")}
    _fix_record_level(keep, present)
    return keep, [(record_id, fam, reason) for fam, reason in errors]


def extract_features(signals, fs: float, leads: str | Sequence[str] | None = None,
                     families: Iterable[str] = DEFAULT_FAMILIES, n_jobs: int = 1,
                     tsfresh_set: str = "fast", ids: Sequence | None = None) -> pd.DataFrame:
    """Features of one ECG record or a batch, as a DataFrame (one row per record).

    Parameters
    ----------
    signals : array-like
        Millivolts. One record ``(leads, samples)``, a batch ``(records, leads, samples)``, a list
        of ``(leads, samples)`` records of any lengths, or one lead ``(samples,)``.
    fs : float
        Sampling rate in Hz (at least 50; records are at least 2 s long).
    leads : sequence of str or str, optional
        The lead of each signal row (``["II"]``, ``"I,II,V2"``; case-insensitive). Default: the
        12 standard leads I, II, III, aVR, aVL, aVF, V1-V6 in that order.
    families : iterable of str, default=("expert", "rhythm", "tsfresh", "quality")
        Feature families (``ecgfeat.features.FAMILIES``).
    n_jobs : int, default=1
        Records extracted in parallel (joblib processes; -1: all cores).
    tsfresh_set : {"fast", "efficient"}, default="fast"
        The tsfresh feature set (``extract --tsfresh-set``).
    ids : sequence, optional
        Row index of the result (default 0..n-1).

    Returns
    -------
    pandas.DataFrame
        float64 columns ``{lead}__{family}__{feature}`` for the leads given and ``all__...``
        record-level ones; NaN where a feature is undefined (no P wave, no credible beats, a lead
        of low quality). ``df.attrs["errors"]`` lists ``(record, family, reason)`` for families
        that could not be computed and records that were refused (their row is all NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from ecgfeat import extract_features, feature_names
    >>> from ecgfeat.synth.assemble import make_record
    >>> ecg, _, _ = make_record(["Normal"], 500, 10, np.random.default_rng(0))   # (12, 5000) mV
    >>> df = extract_features(ecg, fs=500, families=["expert", "rhythm"])
    >>> df.shape == (1, len(feature_names(["expert", "rhythm"])))
    True
    >>> df.columns[0]
    'I__expert__p_amp_mv'
    >>> bool(55 < df.loc[0, "all__expert__hr_bpm"] < 100)
    True
    >>> strip = extract_features(ecg[1], fs=500, leads=["II"], families=["rhythm"])   # one lead
    >>> round(strip.loc[0, "all__rhythm__rr_mean_ms"]) == round(df.loc[0, "all__rhythm__rr_mean_ms"])
    True
    """
    recs = _records(signals)
    names = parse_lead_names(leads, recs[0].shape[0])
    settings = FeatureSettings(families=tuple(families), tsfresh_set=tsfresh_set)
    ids = list(range(len(recs))) if ids is None else list(ids)
    if len(ids) != len(recs):
        raise ValueError(f"{len(ids)} ids for {len(recs)} records")
    if n_jobs == 1 or len(recs) == 1:
        results = [_one(r, fs, names, settings, str(i)) for r, i in zip(recs, ids)]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_one)(r, fs, names, settings, str(i)) for r, i in zip(recs, ids))
    columns = feature_names(settings, names) if settings.tsfresh_set == "fast" else None
    df = pd.DataFrame([row for row, _ in results], index=pd.Index(ids), columns=columns, dtype=np.float64)
    df.attrs["errors"] = [e for _, errs in results for e in errs]
    return df


def feature_names(settings: FeatureSettings | Iterable[str] = DEFAULT_FAMILIES,
                  leads: Sequence[str] = LEADS) -> list[str]:
    """The columns ``extract_features`` gives for these families and leads, in its order.

    The efficient tsfresh set's names depend on tsfresh and are not listed (ValueError).

    Examples
    --------
    >>> from ecgfeat import feature_names
    >>> feature_names(["rhythm"], leads=["II"])[:2]
    ['all__rhythm__rr_mean_ms', 'all__rhythm__rr_sd_ms']
    """
    from . import expert, rhythm
    from ..signal.quality import feature_names as quality_names
    from .tsfresh_fast import FAST_SET
    from .tsfresh_fast import feature_names as tsfresh_names

    if not isinstance(settings, FeatureSettings):
        settings = FeatureSettings(families=tuple(settings))
    if "tsfresh" in settings.families and settings.tsfresh_set != "fast":
        raise ValueError("the names of the efficient tsfresh set depend on tsfresh: extract a record to see them")
    by_family = {"expert": expert.feature_names, "rhythm": rhythm.feature_names, "quality": quality_names,
                 "tsfresh": lambda: [f"{lead}__tsfresh__{n}" for lead in LEADS for n in tsfresh_names(FAST_SET)]}
    keep = set(leads) | {RECORD_LEVEL}
    return [n for fam in settings.families for n in by_family[fam]() if n.split("__", 1)[0] in keep]



class ECGFeatures(TransformerMixin, BaseEstimator):
    """Raw ECG signals -> the ``{lead}__{family}__{feature}`` features of ``ecgfeat extract``.

    Stateless (``fit`` learns nothing but the output columns), so it can sit first in a
    pipeline before any classifier: ``make_pipeline(ECGFeatures(fs=500), HistGradientBoostingClassifier())``.

    Input: scikit-learn estimators take 2-D ``X``; signals are 3-D. ``X`` may be either

    - a 3-D array ``(records, leads, samples)`` (or a list of ``(leads, samples)`` records of
      any lengths), or
    - its flattened 2-D form ``(records, leads * samples)`` (``X3.reshape(len(X3), -1)``), split
      back into ``len(leads)`` rows (12 by default).

    Values are millivolts at ``fs`` Hz, leads in the order of ``leads`` (default the 12 standard
    leads I, II, III, aVR, aVL, aVF, V1-V6). Leads not listed are absent: their columns are left
    out (see ``ecgfeat.extract_features``).

    Parameters
    ----------
    fs : float, default=500
        Sampling rate of the signals (Hz).
    families : sequence of str, default=("expert", "rhythm", "tsfresh", "quality")
        Feature families.
    leads : sequence of str or str, optional
        Lead of each signal row; default the 12 standard leads.
    n_jobs : int, default=1
        Records extracted in parallel (joblib).
    tsfresh_set : {"fast", "efficient"}, default="fast"
        The tsfresh feature set.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        The output columns.
    n_features_in_ : int
        Only set for a 2-D (flattened) ``X``.
    errors_ : list of (record, family, reason)
        Families that could not be computed in the last ``transform`` (their columns are NaN).

    Notes
    -----
    ``check_estimator`` does not apply: its checks feed small random 2-D matrices (e.g. 20 x 3),
    which are not ECG records (a record needs >= 2 s at >= 50 Hz). The transformer contract is
    tested instead in tests/test_api.py (clone, get/set_params, set_output, pipelines).

    Examples
    --------
    >>> import numpy as np
    >>> from ecgfeat import ECGFeatures
    >>> from ecgfeat.synth.assemble import make_record
    >>> X = np.stack([make_record([c], 500, 10, np.random.default_rng(i))[0]
    ...               for i, c in enumerate(["Normal", "AF"])])            # (2, 12, 5000)
    >>> fe = ECGFeatures(fs=500, families=["rhythm"]).set_output(transform="pandas")
    >>> F = fe.fit_transform(X)
    >>> F.shape, F.columns[0]
    ((2, 16), 'all__rhythm__rr_mean_ms')
    >>> bool(F["all__rhythm__rr_irregularity"].iloc[1] > F["all__rhythm__rr_irregularity"].iloc[0])
    True
    """

    def __init__(self, fs: float = 500, families: Sequence[str] = DEFAULT_FAMILIES,
                 leads: Sequence[str] | str | None = None, n_jobs: int = 1, tsfresh_set: str = "fast"):
        self.fs = fs
        self.families = families
        self.leads = leads
        self.n_jobs = n_jobs
        self.tsfresh_set = tsfresh_set

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    def _lead_names(self) -> tuple[str, ...]:
        return parse_lead_names(self.leads)

    def _signals(self, X, fitting: bool):
        names = self._lead_names()
        if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 2:
            return list(X)
        A = np.asarray(X, dtype=np.float64)
        if A.ndim == 2:
            if fitting:
                self.n_features_in_ = A.shape[1]
            elif getattr(self, "n_features_in_", A.shape[1]) != A.shape[1]:
                raise ValueError(f"X has {A.shape[1]} columns, ECGFeatures was fitted with {self.n_features_in_}")
            if A.shape[1] % len(names):
                raise ValueError(f"a 2-D X of {A.shape[1]} columns does not split into {len(names)} leads: "
                                 "pass (records, leads, samples) or (records, leads * samples)")
            return A.reshape(A.shape[0], len(names), -1)
        if A.ndim != 3:
            raise ValueError(f"X must be (records, leads, samples) or (records, leads * samples), got shape {A.shape}")
        if fitting and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return A

    def fit(self, X, y=None) -> "ECGFeatures":
        """Check ``X`` and the settings; set ``feature_names_out_``. Returns self."""
        names = self._lead_names()
        self._signals(X, fitting=True)
        settings = FeatureSettings(families=tuple(self.families), tsfresh_set=self.tsfresh_set)
        if settings.tsfresh_set == "fast":
            self.feature_names_out_ = np.asarray(feature_names(settings, names), dtype=object)
        else:   # the efficient set's names come from tsfresh: from the first record
            first = self._extract(X[:1] if not isinstance(X, list) else X[:1])
            self.feature_names_out_ = np.asarray(first.columns, dtype=object)
        return self

    def _extract(self, X):
        return extract_features(self._signals(X, fitting=False), self.fs, leads=self._lead_names(),
                                families=tuple(self.families), n_jobs=self.n_jobs, tsfresh_set=self.tsfresh_set)

    def transform(self, X) -> np.ndarray:
        """(records, features) float64 array (a DataFrame after ``set_output(transform="pandas")``)."""
        check_is_fitted(self, "feature_names_out_")
        df = self._extract(X)
        self.errors_ = df.attrs.get("errors", [])
        return df.reindex(columns=list(self.feature_names_out_)).to_numpy(dtype=np.float64)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output column names ``{lead}__{family}__{feature}``."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

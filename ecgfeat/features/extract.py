"""One record -> every requested feature family (one beat analysis shared by all of them).

Never raises for a bad signal: a family that cannot be computed gives NaN columns and an error
entry (family, one-line reason) that the store keeps.

Preprocessing per family: expert and rhythm read the beat analysis (`analyse`: 40 Hz low-pass,
spline baseline through the PR segments, median beats); tsfresh always reads the record resampled
to 100 Hz and band-passed to the diagnostic 0.67-40 Hz (`tsfresh_input`, `signal.filters.diagnostic`),
whether or not beats were found, so each tsfresh column comes from one pipeline; quality reads the
raw record (signal/quality.py) and gates the others: leads of low quality are left out of the beat
analysis with NaN per-lead features, and a record without credible beats has NaN expert and rhythm
features and an error entry per family ("<file>: no credible beats: <why>").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..vocab import LEADS
from .settings import TSFRESH_FS, FeatureSettings

if TYPE_CHECKING:
    import numpy as np

    from ..record import Record
    from ..signal.delineate import Delineation
    from ..signal.template import Templates

# The signal stack (scipy.signal, numpy) is imported by the functions that run it, not by this
# module: `ecgfeat.features` (whose settings every command reads) then loads in milliseconds, and
# a warm `ecgfeat extract` that has nothing to compute never loads scipy (extraction.py).
MIN_BEATS = 2


@dataclass
class BeatAnalysis:
    xf: np.ndarray            # (12, n) at FS: 40 Hz low-passed, spline baseline removed
    templates: Templates
    delineation: Delineation
    rr_mean_s: float
    rr_median_s: float
    paced_share: float = 0.0  # share of the beats led by a pacing spike (signal/pacing.py)
    spikes: np.ndarray | None = None   # sample indices (at FS) of the pacing spikes, removed from xf


def analyse(record: Record) -> BeatAnalysis:
    """Filter, detect beats on all leads, build median beats, delineate. Raises ValueError if no rhythm.

    Pacing spikes are found on the signal as recorded (before any filter smears them); in a paced
    record (spikes leading at least half of the beats) they are bridged over before the 40 Hz
    low-pass, so that no QRS or P onset is read at a smeared spike.
    """
    import numpy as np

    from ..signal.baseline import spline_baseline
    from ..signal.beats import detect_beats
    from ..signal.delineate import P_CONSISTENCY_MIN, delineate, p_consistency, without_p
    from ..signal.filters import DIAG_BAND, FS, bandpass
    from ..signal.pacing import PACED_SHARE, VENTRICULAR_LEAD_MS, paced_share, pacing_spikes, remove_spikes, spike_floor
    from ..signal.template import build_templates

    rec = record.resampled(FS)
    beats = detect_beats(rec.signal, FS)
    if beats.size < MIN_BEATS:
        raise ValueError(f"{beats.size} beat(s) detected, need {MIN_BEATS}")
    spikes = pacing_spikes(record.signal, record.fs, tuple(record.leads))
    paced = paced_share(np.round(spikes * (FS / record.fs)).astype(int), beats, FS) if spikes.size else 0.0
    if paced >= PACED_SHARE:
        rec = replace(record, signal=remove_spikes(record.signal, spikes, record.fs).astype(record.signal.dtype)).resampled(FS)
        spikes = np.round(spikes * (FS / record.fs)).astype(int)
    else:
        spikes = spikes[:0]
    rr = np.diff(beats) / FS
    # pass 1, on a high-passed signal: aligned fiducials and where the QRS starts relative to them
    xl = bandpass(rec.signal, None, DIAG_BAND[1], FS, order=2)
    # (only its QRS onset is used: a median beat of +-300 ms, delineated without P and T)
    first = build_templates(bandpass(xl, DIAG_BAND[0], None, FS, order=2), beats, FS, window_s=(0.3, 0.3))
    d0 = delineate(first.template, first.pre, FS, float(np.median(rr)), waves=False)
    floor = spike_floor(spikes, first.fiducials, first.pre, FS)
    # a ventricular spike, not an atrial one: it leads the QRS by less than VENTRICULAR_LEAD_MS (an
    # atrial spike is separated from it by the P wave and the PR segment)
    if floor is not None and floor >= d0.qrs_on - int(VENTRICULAR_LEAD_MS * FS / 1000):
        d0 = delineate(first.template, first.pre, FS, float(np.median(rr)), waves=False, qrs_floor=floor)
    else:
        floor = None
    # pass 2: spline baseline through each beat's PR segment (15 ms before the QRS onset)
    knots = first.fiducials + (d0.qrs_on - first.pre) - int(0.015 * FS)
    xf = xl - spline_baseline(xl, knots, FS)
    tp = build_templates(xf, first.fiducials, FS, max_shift_s=0.0)
    d = delineate(tp.template, tp.pre, FS, float(np.median(rr)),
                  qrs_floor=None if floor is None else floor - first.pre + tp.pre)
    if d.has_p and p_consistency(tp.epochs[tp.dominant], d.p_on, d.p_off) < P_CONSISTENCY_MIN:
        d = without_p(d)   # a hump made by averaging fibrillatory waves or noise, not a P wave
    return BeatAnalysis(xf, tp, d, float(rr.mean()), float(np.median(rr)), paced, spikes)


def _nan(names) -> dict[str, float]:
    return dict.fromkeys(names, float("nan"))


def _tsfresh_names(settings: FeatureSettings) -> list[str] | None:
    if settings.tsfresh_set != "fast":
        return None  # the efficient set's names depend on tsfresh; NaN rows simply lack columns
    from .tsfresh_fast import FAST_SET, feature_names
    return [f"{lead}__tsfresh__{n}" for lead in LEADS for n in feature_names(FAST_SET)]


def tsfresh_input(record: Record) -> np.ndarray:
    """What the tsfresh family reads, for every record: the diagnostic 0.67-40 Hz band-pass of the
    record resampled to 100 Hz (resampled first: filtering 100 Hz costs a fifth of 500 Hz)."""
    from ..signal.filters import diagnostic

    return diagnostic(record.resampled(TSFRESH_FS).signal, TSFRESH_FS)


def tsfresh_family(xf: np.ndarray, settings: FeatureSettings, fs: float | None = None) -> dict[str, float]:
    """The tsfresh columns of a (12, n) signal at `fs` (default signal.filters.FS; resampled to
    TSFRESH_FS when it is not)."""
    from scipy.signal import resample_poly

    from ..signal.filters import FS

    fs = FS if fs is None else fs

    x = xf if float(fs) == TSFRESH_FS else resample_poly(xf, int(TSFRESH_FS), int(fs), axis=-1)
    if settings.tsfresh_set == "efficient":
        from .tsfresh_fast import tsfresh_efficient
        return tsfresh_efficient(x, list(LEADS))
    from .tsfresh_fast import tsfresh_fast
    values = tsfresh_fast(x)
    return {f"{lead}__tsfresh__{name}": float(v[k]) for k, lead in enumerate(LEADS) for name, v in values.items()}


def _blanked(record: Record, leads: list[str]) -> Record:
    """The record with `leads` zeroed (what a flat lead already is): a lead of low quality must not
    make beats or shape the median beat. Unchanged when no lead would be left."""
    rows = [record.leads.index(lead) for lead in leads if lead in record.leads]
    if not rows or len(rows) >= len(record.leads):
        return record
    sig = record.signal.copy()
    sig[rows] = 0.0
    return replace(record, signal=sig)


def extract_features(record: Record, settings: FeatureSettings) -> tuple[dict[str, dict[str, float]], list[tuple[str, str]]]:
    """({table: {column: value}}, [(family, reason)]) for one record.

    The signal-quality step (signal/quality.py) runs on every record whatever the selection, since it
    gates the others: leads of low quality (and flat leads) are left out of the beat analysis and get
    NaN per-lead features in every family but `quality`; a record without credible beats gets NaN
    expert and rhythm features and, per family, the reason ("<file>: no credible beats: ...").
    """
    import numpy as np

    from ..signal.quality import assess_quality, beat_credibility, la_ra_reversal, quality_features
    from ..signal.quality import feature_names as quality_feature_names
    from . import expert, rhythm

    out: dict[str, dict[str, float]] = {}
    errors: list[tuple[str, str]] = []
    tables = dict(zip(settings.families, settings.tables()))
    where = record.source or record.record_id
    quality = assess_quality(record.signal, record.fs, tuple(record.leads))
    flat = list(record.meta.get("flat_leads") or [])
    bad = [lead for lead in record.leads if lead in flat or lead in quality.low_leads]
    analysis = cred = None
    reversal = np.nan
    if any(f in tables for f in ("expert", "rhythm", "quality")):
        # every beat family reads the same beat analysis, whatever else is requested in this run: a
        # family computed alone (added later) must equal it computed beside the others; tsfresh reads
        # no beats (the diagnostic band-pass below), so a tsfresh-only run skips the analysis
        refusal = None
        try:
            analysis = analyse(_blanked(record, bad))
        except ValueError as err:  # no usable rhythm: both beat-based families are NaN
            refusal = f"{where}: no credible beats: {err}"
        except Exception as err:   # a failure of the analysis itself, said as such
            refusal = f"{where}: beat analysis failed: {type(err).__name__}: {err}"
        else:
            cred = beat_credibility(analysis.templates, quality)
            if cred.credible:
                reversal = la_ra_reversal(analysis.templates, analysis.delineation)
            else:  # beats made of noise: no rhythm, no intervals are measured from them
                refusal = f"{where}: no credible beats: {cred.reason}"
                analysis = None
        if refusal:
            for fam, names in (("expert", expert.feature_names()), ("rhythm", rhythm.feature_names())):
                if fam in tables:
                    out[fam] = _nan(names)
                    errors.append((fam, refusal))
    for fam, table in tables.items():
        if table in out:
            continue
        try:
            if fam == "expert":
                out[table] = expert.expert_features(analysis.templates, analysis.delineation, analysis.rr_mean_s, analysis.rr_median_s)
            elif fam == "rhythm":
                out[table] = rhythm.rhythm_features(analysis.xf, analysis.templates, analysis.delineation,
                                                     analysis.paced_share)
            elif fam == "quality":
                out[table] = quality_features(quality, cred, reversal)
            else:
                # one preprocessing for every record, beats or none: the diagnostic band-pass
                out[table] = tsfresh_family(tsfresh_input(record), settings, TSFRESH_FS)
        except Exception as err:
            names = {"expert": expert.feature_names, "rhythm": rhythm.feature_names,
                     "quality": quality_feature_names}.get(fam, lambda: _tsfresh_names(settings) or [])()
            out[table] = _nan(names)
            errors.append((fam, f"{where}: {type(err).__name__}: {err}"))
    if bad:  # a disconnected or unreadable electrode measures nothing: its lead's features are NaN, not artefacts
        prefixes = tuple(f"{lead}__" for lead in bad)
        for table, row in out.items():
            if table == "quality":
                continue
            for name in row:
                if name.startswith(prefixes):
                    row[name] = np.nan
    return out, errors

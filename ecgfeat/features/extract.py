"""One record -> every requested feature family (one beat analysis shared by all of them).

Never raises for a bad signal: a family that cannot be computed gives NaN columns and an error
entry (family, one-line reason) that the store keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..record import Record
from ..signal.beats import detect_beats
from ..signal.delineate import Delineation, delineate
from ..signal.baseline import spline_baseline
from ..signal.filters import DIAG_BAND, FS, bandpass, diagnostic
from ..signal.template import Templates, build_templates
from ..vocab import LEADS
from . import expert, rhythm
from .settings import TSFRESH_FS, FeatureSettings

MIN_BEATS = 2


@dataclass
class BeatAnalysis:
    xf: np.ndarray            # (12, n) at FS: 40 Hz low-passed, spline baseline removed
    templates: Templates
    delineation: Delineation
    rr_mean_s: float
    rr_median_s: float


def analyse(record: Record) -> BeatAnalysis:
    """Filter, detect beats on all leads, build median beats, delineate. Raises ValueError if no rhythm."""
    rec = record.resampled(FS)
    beats = detect_beats(rec.signal, FS)
    if beats.size < MIN_BEATS:
        raise ValueError(f"{beats.size} beat(s) detected, need {MIN_BEATS}")
    rr = np.diff(beats) / FS
    # pass 1, on a high-passed signal: aligned fiducials and where the QRS starts relative to them
    xl = bandpass(rec.signal, None, DIAG_BAND[1], FS, order=2)
    first = build_templates(bandpass(xl, DIAG_BAND[0], None, FS, order=2), beats, FS)
    d0 = delineate(first.template, first.pre, FS, float(np.median(rr)))
    # pass 2: spline baseline through each beat's PR segment (15 ms before the QRS onset)
    knots = first.fiducials + (d0.qrs_on - first.pre) - int(0.015 * FS)
    xf = xl - spline_baseline(xl, knots, FS)
    tp = build_templates(xf, first.fiducials, FS, max_shift_s=0.0)
    d = delineate(tp.template, tp.pre, FS, float(np.median(rr)))
    return BeatAnalysis(xf, tp, d, float(rr.mean()), float(np.median(rr)))


def _nan(names) -> dict[str, float]:
    return dict.fromkeys(names, np.nan)


def _tsfresh_names(settings: FeatureSettings) -> list[str] | None:
    if settings.tsfresh_set != "fast":
        return None  # the efficient set's names depend on tsfresh; NaN rows simply lack columns
    from .tsfresh_fast import FAST_SET, feature_names
    return [f"{lead}__tsfresh__{n}" for lead in LEADS for n in feature_names(FAST_SET)]


def tsfresh_family(xf: np.ndarray, settings: FeatureSettings) -> dict[str, float]:
    from scipy.signal import resample_poly

    x = resample_poly(xf, int(TSFRESH_FS), int(FS), axis=-1)
    if settings.tsfresh_set == "efficient":
        from .tsfresh_fast import tsfresh_efficient
        return tsfresh_efficient(x, list(LEADS))
    from .tsfresh_fast import tsfresh_fast
    values = tsfresh_fast(x)
    return {f"{lead}__tsfresh__{name}": float(v[k]) for k, lead in enumerate(LEADS) for name, v in values.items()}


def extract_features(record: Record, settings: FeatureSettings) -> tuple[dict[str, dict[str, float]], list[tuple[str, str]]]:
    """({table: {column: value}}, [(family, reason)]) for one record."""
    out: dict[str, dict[str, float]] = {}
    errors: list[tuple[str, str]] = []
    tables = dict(zip(settings.families, settings.tables()))
    analysis = None
    if tables:
        # every family reads the same beat analysis, whatever else is requested in this run: tsfresh
        # computed alone (a family added later) must equal tsfresh computed beside expert/rhythm
        try:
            analysis = analyse(record)
        except Exception as err:  # no usable rhythm: both beat-based families are NaN
            reason = f"{record.source or record.record_id}: {err}"
            for fam, names in (("expert", expert.feature_names()), ("rhythm", rhythm.feature_names())):
                if fam in tables:
                    out[fam] = _nan(names)
                    errors.append((fam, reason))
    for fam, table in tables.items():
        if table in out:
            continue
        try:
            if fam == "expert":
                out[table] = expert.expert_features(analysis.templates, analysis.delineation, analysis.rr_mean_s, analysis.rr_median_s)
            elif fam == "rhythm":
                out[table] = rhythm.rhythm_features(analysis.xf, analysis.templates, analysis.delineation)
            else:
                # no beats (no spline baseline): the diagnostic band, the same on every path
                xf = analysis.xf if analysis is not None else diagnostic(record.resampled(FS).signal, FS)
                out[table] = tsfresh_family(xf, settings)
        except Exception as err:
            names = {"expert": expert.feature_names, "rhythm": rhythm.feature_names}.get(fam, lambda: _tsfresh_names(settings) or [])()
            out[table] = _nan(names)
            errors.append((fam, f"{record.source or record.record_id}: {type(err).__name__}: {err}"))
    flat = record.meta.get("flat_leads") or []
    if flat:  # a disconnected electrode measures nothing: its lead's features are NaN, not artefacts
        prefixes = tuple(f"{lead}__" for lead in flat)
        for table in out.values():
            for name in table:
                if name.startswith(prefixes):
                    table[name] = np.nan
    return out, errors

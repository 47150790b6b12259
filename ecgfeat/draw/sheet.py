"""The data of one ECG sheet: a record analysed for `draw.cart.draw_sheet` (`ecgfeat show`).

`prepare_sheet` runs the beat analysis once and keeps what the drawing needs: the baseline-corrected
signal, the median beat's fiducials placed on every beat (ecgfeat's marks), the cardiologists' marks
where the dataset has LUDB-style annotations, the measurements of the header and the signal quality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


ECGFEAT = "#1746a2"        # ecgfeat's fiducials (blue: distinct from the red grid and the green annotations)
ANNOT = "#0b8a3e"          # cardiologists' annotations


# ------------------------------------------------------------------------------------------- signals

def baseline_corrected(signal: np.ndarray, fs: float, hi: float | None = 40.0) -> np.ndarray:
    """0.67 Hz zero-phase high-pass (plus a 40 Hz low-pass when `hi`), NaN-safe, for drawing."""
    from ..signal.filters import bandpass

    x = np.nan_to_num(np.asarray(signal, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if x.shape[-1] < 30:
        return x - np.median(x, axis=-1, keepdims=True)
    hi = hi if hi and hi < 0.45 * fs else None
    try:
        return bandpass(x, 0.67, hi, fs, order=2)
    except ValueError:          # too short for filtfilt's padding
        return x - np.median(x, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------- the sheet

@dataclass
class Marks:
    """Wave brackets of one source, in seconds: [(kind, on, peak, off, faint)] for one lead or all."""
    label: str
    colour: str
    waves: list = field(default_factory=list)


@dataclass
class Sheet:
    """Everything `draw_sheet` needs, computed once from a record (see `prepare_sheet`)."""
    record_id: str
    dataset: str
    fs: float                       # the record's own rate
    duration_s: float
    signal: np.ndarray              # (12, n) mV, baseline corrected, at `signal_fs`
    signal_fs: float
    age: float | None = None
    sex: str | None = None
    labels: tuple = ()
    measurements: dict = field(default_factory=dict)  # record-level expert features, short names
    ecgfeat: Marks | None = None                      # median-beat fiducials on every beat (all leads)
    annotations: dict | None = None                   # {lead: Marks} (the dataset's annotations)
    template: np.ndarray | None = None                # (12, L) median beat, PR segment = 0
    template_fs: float = 500.0
    template_marks: dict = field(default_factory=dict)  # {"P on": s, ...} relative to the template start
    annotation_marks: dict = field(default_factory=dict)  # the annotations' global boundaries, same time base
    delta_ms: dict = field(default_factory=dict)        # ecgfeat - annotation per boundary (ms)
    beat_times: np.ndarray | None = None                # fiducial of every beat (s)
    template_pre_s: float = 0.0                         # template time of the fiducial (s)
    n_beats: int = 0
    n_dominant: int = 0
    quality: dict | None = None     # {"index": float | None, "flagged": [leads], "reasons": {lead: [...]}}
    note: str = ""                  # e.g. "no beats measured: <reason>"
    source: str = ""                # the record's file (printed in the footer)
    filtering: str = ""


def _short(name: str) -> str:
    return name.split("__")[-1]


def record_measurements(feats: dict) -> dict:
    """The record-level expert features (`all__expert__*`) under their short names."""
    return {_short(k): (None if v is None or not np.isfinite(v) else float(v))
            for k, v in feats.items() if k.startswith("all__expert__")}


def quality_of(signal: np.ndarray, fs: float) -> dict:
    """Record-level quality index, low-quality leads and their reasons (`signal.quality.assess_quality`)."""
    from ..signal.quality import assess_quality

    try:
        q = assess_quality(signal, fs)
    except Exception as err:  # a quality failure must not stop the drawing
        return {"index": None, "flagged": [], "error": f"{type(err).__name__}: {err}"}
    return {"index": float(q.record_index), "flagged": [str(lead) for lead in q.low_leads],
            "reasons": {str(k): [str(r) for r in v] for k, v in q.low_reasons.items()}}


def _ecgfeat_marks(ana) -> tuple[Marks, dict, int, int]:
    """The median beat's fiducials placed on every beat: record sample fiducials[b] + (i - pre)."""
    tp, d = ana.templates, ana.delineation
    fs = float(tp.fs)
    fid = np.asarray(tp.fiducials, dtype=float)
    in_median = None
    eb, dom = getattr(tp, "epoch_beats", None), getattr(tp, "dominant", None)
    if eb is not None and dom is not None and len(eb) == len(dom):
        in_median = set(np.asarray(eb)[np.asarray(dom, dtype=bool)].tolist())
    waves = []
    pairs = [("P", d.p_on, d.p_peak, d.p_off), ("QRS", d.qrs_on, None, d.qrs_off), ("T", d.t_peak, d.t_peak, d.t_end)]
    for kind, on, peak, off in pairs:
        if on is None or off is None:
            continue
        for b, f in enumerate(fid):
            faint = in_median is not None and b not in in_median     # a beat the median leaves out
            s = lambda i, f=f: None if i is None else (f + (i - tp.pre)) / fs  # noqa: E731
            # ecgfeat has no T onset: its T bracket runs from the T peak to the T end
            waves.append((kind, s(on), s(peak), s(off), faint))
    names = (("P on", d.p_on), ("P off", d.p_off), ("QRS on", d.qrs_on), ("QRS off", d.qrs_off),
             ("T peak", d.t_peak), ("T end", d.t_end))
    glob = {k: i / fs for k, i in names if i is not None}
    n_dom = int(np.sum(tp.dominant)) if getattr(tp, "dominant", None) is not None else len(fid)
    return Marks("ecgfeat", ECGFEAT, waves), glob, len(fid), n_dom


def annotation_marks(ann: dict, fs: float) -> dict[str, Marks]:
    """{lead: Marks} from `datasets.ludb.read_annotations` output (sample indices at `fs`)."""
    out = {}
    for lead, waves in ann.items():
        s = lambda i: None if i is None else i / fs  # noqa: E731
        out[lead] = Marks("annotation", ANNOT, [(w.kind, s(w.on), s(w.peak), s(w.off), False) for w in waves])
    return out


BOUNDARIES = (("P on", "P", "on"), ("P off", "P", "off"), ("QRS on", "QRS", "on"), ("QRS off", "QRS", "off"),
              ("T end", "T", "off"))


def annotation_global(marks: dict, beat_times: np.ndarray, pre_s: float, length_s: float) -> dict:
    """The annotations' global boundaries on the median beat's time base (s from the template start).

    Each annotated wave goes to the beat whose template window holds it (P: the next fiducial, QRS:
    the nearest, T: the previous one); per beat the global onset is the earliest over the leads and
    the global offset the latest (as carts build global intervals); the median over beats is taken.
    """
    beats = np.sort(np.asarray(beat_times, dtype=float))
    if beats.size == 0:
        return {}
    per_beat: dict[tuple[str, int], list[float]] = {}
    for m in marks.values():
        for kind, on, peak, off, _ in m.waves:
            if peak is None:
                continue
            if kind == "P":
                b = int(np.searchsorted(beats, peak))
            elif kind == "T":
                b = int(np.searchsorted(beats, peak)) - 1
            else:
                b = int(np.argmin(np.abs(beats - peak)))
            if not 0 <= b < beats.size:
                continue
            for name, k, side in BOUNDARIES:
                v = on if side == "on" else off
                if k != kind or v is None:
                    continue
                tau = v - beats[b] + pre_s
                if 0 <= tau < length_s:
                    per_beat.setdefault((name, b), []).append(tau)
    out: dict[str, list[float]] = {}
    for (name, _beat), vals in per_beat.items():
        out.setdefault(name, []).append(min(vals) if name.endswith("on") else max(vals))
    return {name: float(np.median(v)) for name, v in out.items() if v}


def prepare_sheet(record, annotations: dict | None = None) -> Sheet:
    """Analyse a `Record` (beats, median beat, delineation, measurements, quality) for `draw_sheet`.

    Never raises for a record without beats: the sheet then carries the high-passed raw signal and a
    note `no beats measured: <reason>`.
    """
    from ..features.expert import expert_features
    from ..features.extract import analyse

    sig = np.asarray(record.signal, dtype=np.float64)
    fs = float(record.fs)
    sheet = Sheet(record_id=str(record.record_id), dataset=str(getattr(record, "dataset", "") or ""), fs=fs,
                  source=str(getattr(record, "source", "") or ""),
                  duration_s=sig.shape[1] / fs, signal=sig, signal_fs=fs, age=getattr(record, "age", None),
                  sex=getattr(record, "sex", None), labels=tuple(getattr(record, "codes", ()) or ()))
    sheet.quality = quality_of(record.signal, fs)
    if annotations:
        sheet.annotations = annotation_marks(annotations, fs)
    try:
        ana = analyse(record)
    except Exception as err:     # ValueError: no beats, or a record refused as not credible
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        sheet.note = (f"no beats measured: {reason}" if isinstance(err, ValueError)
                      else f"no beats measured: analysis failed ({type(err).__name__}: {reason})")
        sheet.signal, sheet.filtering = baseline_corrected(sig, fs), "0.67-40 Hz (no beats: raw, high-passed)"
        return sheet
    sheet.signal, sheet.signal_fs = np.asarray(ana.xf, dtype=np.float64), float(ana.templates.fs)
    sheet.filtering = "40 Hz low-pass, spline baseline through the PR segments"
    try:
        sheet.ecgfeat, sheet.template_marks, sheet.n_beats, sheet.n_dominant = _ecgfeat_marks(ana)
        d, tp = ana.delineation, ana.templates
        sheet.template = np.asarray(tp.template, dtype=np.float64) - np.asarray(d.baseline, dtype=np.float64)[:, None]
        sheet.template_fs = float(tp.fs)
        sheet.beat_times = np.asarray(tp.fiducials, dtype=float) / float(tp.fs)
        sheet.template_pre_s = tp.pre / float(tp.fs)
        if sheet.annotations:
            sheet.annotation_marks = annotation_global(sheet.annotations, sheet.beat_times, sheet.template_pre_s,
                                                       sheet.template.shape[1] / sheet.template_fs)
            sheet.delta_ms = {k: round(1000.0 * (sheet.template_marks[k] - sheet.annotation_marks[k]), 1)
                              for k, _, _ in BOUNDARIES if k in sheet.template_marks and k in sheet.annotation_marks}
        feats = expert_features(tp, d, ana.rr_mean_s, ana.rr_median_s)
        sheet.measurements = record_measurements(feats)
    except Exception as err:  # a delineation the measurements cannot use: still draw the beats
        sheet.note = f"measurements failed: {type(err).__name__}: {err}"
    return sheet

"""Delineation against cardiologists' wave annotations (LUDB format), as `bench/ludb.py` reports it.

The reference, per record: for each lead, the annotated onsets/offsets of P, QRS and T relative to
that beat's anchor (the median over leads of the annotated QRS onsets of the beat), median over the
beats; the record's global onset of a wave is the earliest of the 12 leads, its global offset the
latest, the way carts build global intervals from per-lead median beats. Intervals: PR = QRS on - P on,
QRS = QRS off - QRS on, QT = T end - QRS on, P = P off - P on.

A method's fiducials are placed on the same beats (its beat nearest to each annotated beat, within
100 ms) and taken relative to the same anchors, median over the beats, so fiducial errors and
interval errors are both per record. The CSE tolerances (CSE Working Party, Circulation 1985;
Willems et al. 1987) are 2 SD of the referees' spread: 10.2 (P on), 12.7 (P off), 6.5 (QRS on),
11.6 (QRS off) and 30.6 ms (T end); a method meets one when the SD of its errors is within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datasets.ludb import Wave
from ..vocab import LEADS

FIDUCIALS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_end")
CSE_2SD_MS = {"p_on": 10.2, "p_off": 12.7, "qrs_on": 6.5, "qrs_off": 11.6, "t_end": 30.6}
INTERVALS = ("pr", "qrs", "qt", "p")
WITHIN_MS = {"pr": 20.0, "qrs": 15.0, "qt": 30.0, "p": 20.0}
TARGET_MAE_MS = {"pr": 10.0, "qrs": 10.0, "qt": 20.0}
MATCH_MS = 100.0


@dataclass
class Reference:
    """One record's annotated reference, in ms relative to each beat's anchor."""
    anchors: np.ndarray                                  # (beats,) sample index of each beat's anchor
    per_lead: dict[str, dict[str, float]]                # lead -> fiducial -> median ms (NaN if absent)
    glob: dict[str, float]                               # fiducial -> global ms (earliest on / latest off)
    has_p: bool                                          # a P wave annotated in any lead
    beats_with_p: float                                  # share of beats with an annotated P (any lead)

    def intervals(self) -> dict[str, float]:
        return intervals(self.glob)

    def lead_qrs_ms(self) -> dict[str, float]:
        return {lead: f["qrs_off"] - f["qrs_on"] for lead, f in self.per_lead.items()}


def intervals(fid: dict[str, float]) -> dict[str, float]:
    g = lambda k: fid.get(k, np.nan)  # noqa: E731
    return {"pr": g("qrs_on") - g("p_on"), "qrs": g("qrs_off") - g("qrs_on"),
            "qt": g("t_end") - g("qrs_on"), "p": g("p_off") - g("p_on")}


def _beat_clusters(ann: dict[str, list[Wave]], fs: float) -> list[dict[str, Wave]]:
    """QRS complexes of all leads grouped into beats: {lead: QRS wave} per beat, in time order."""
    items = sorted((w.peak, lead, w) for lead, waves in ann.items() for w in waves if w.kind == "QRS")
    beats: list[dict[str, Wave]] = []
    last = -np.inf
    for peak, lead, w in items:
        if peak - last > 0.15 * fs or lead in beats[-1]:
            beats.append({})
        beats[-1][lead] = w
        last = peak
    return beats


def build_reference(ann: dict[str, list[Wave]], fs: float) -> Reference | None:
    """The reference of one record from its per-lead annotations (None without annotated QRS)."""
    ms = 1000.0 / fs
    beats = [b for b in _beat_clusters(ann, fs) if any(w.on is not None for w in b.values())]
    if not beats:
        return None
    anchors = np.array([np.median([w.on for w in b.values() if w.on is not None]) for b in beats])
    rel: dict[str, dict[str, list[float]]] = {lead: {f: [] for f in FIDUCIALS} for lead in ann}
    with_p = np.zeros(len(beats), dtype=bool)
    for lead, waves in ann.items():
        ps = [w for w in waves if w.kind == "P" and w.on is not None and w.off is not None]
        ts = [w for w in waves if w.kind == "T" and w.off is not None]
        for k, b in enumerate(beats):
            q = b.get(lead)
            if q is None or q.on is None or q.off is None:
                continue
            a = anchors[k]
            rel[lead]["qrs_on"].append((q.on - a) * ms)
            rel[lead]["qrs_off"].append((q.off - a) * ms)
            p = [w for w in ps if w.off <= q.on + 0.01 * fs and q.on - w.on <= 0.5 * fs]
            if p:
                rel[lead]["p_on"].append((p[-1].on - a) * ms)
                rel[lead]["p_off"].append((p[-1].off - a) * ms)
                with_p[k] = True
            t = [w for w in ts if w.peak > q.off and w.off - q.on <= 0.8 * fs]
            if t:
                rel[lead]["t_end"].append((t[0].off - a) * ms)
    per_lead = {lead: {f: float(np.median(v)) if v else np.nan for f, v in d.items()} for lead, d in rel.items()}
    glob = {}
    for f in FIDUCIALS:
        vals = [per_lead[lead][f] for lead in per_lead if np.isfinite(per_lead[lead][f])]
        glob[f] = (min(vals) if f.endswith("_on") else max(vals)) if vals else np.nan
    return Reference(anchors, per_lead, glob, bool(with_p.any()), float(with_p.mean()))


def place_on_beats(ref: Reference, beat_samples: np.ndarray, offsets_ms: dict[str, float | np.ndarray],
                   fs: float) -> dict[str, float]:
    """A method's fiducials relative to the reference anchors, median over matched beats.

    `beat_samples` are the method's beat positions; `offsets_ms` gives each fiducial relative to the
    beat position, either one number (a median-beat method) or one value per beat (beat by beat,
    NaN where missing).
    """
    beat_samples = np.asarray(beat_samples, dtype=float)
    out = dict.fromkeys(FIDUCIALS, np.nan)
    if beat_samples.size == 0:
        return out
    ms = 1000.0 / fs
    idx = np.abs(beat_samples[None, :] - ref.anchors[:, None]).argmin(axis=1)
    ok = np.abs(beat_samples[idx] - ref.anchors) <= MATCH_MS / ms
    if not ok.any():
        return out
    for f, v in offsets_ms.items():
        v = np.broadcast_to(np.asarray(v, dtype=float), beat_samples.shape)
        vals = (beat_samples[idx[ok]] - ref.anchors[ok]) * ms + v[idx[ok]]
        vals = vals[np.isfinite(vals)]
        if vals.size:
            out[f] = float(np.median(vals))
    return out


@dataclass
class MethodRow:
    """One method on one record: global fiducials (ms vs anchors), intervals, per-lead QRS, P presence."""
    fiducials: dict[str, float]
    intervals: dict[str, float]
    lead_qrs_ms: dict[str, float] = field(default_factory=dict)
    p_present: float = np.nan


def summarise_fiducials(errors: dict[str, list[float]]) -> dict[str, dict]:
    out = {}
    for f in FIDUCIALS:
        e = np.asarray([x for x in errors.get(f, []) if np.isfinite(x)])
        out[f] = {"n": int(e.size), "bias": float(e.mean()) if e.size else np.nan,
                  "sd": float(e.std(ddof=1)) if e.size > 1 else np.nan, "cse_2sd": CSE_2SD_MS[f],
                  "meets_cse": bool(e.size > 1 and e.std(ddof=1) <= CSE_2SD_MS[f])}
    return out


def summarise_intervals(pairs: dict[str, list[tuple[float, float]]]) -> dict[str, dict]:
    """pairs: interval -> [(method, reference)] -> n, bias, MAE, share within the interval's tolerance."""
    out = {}
    for k in INTERVALS:
        p = np.asarray([(m, r) for m, r in pairs.get(k, []) if np.isfinite(m) and np.isfinite(r)]).reshape(-1, 2)
        e = p[:, 0] - p[:, 1]
        out[k] = {"n": int(e.size), "ref_mean": float(p[:, 1].mean()) if e.size else np.nan,
                  "bias": float(e.mean()) if e.size else np.nan,
                  "mae": float(np.abs(e).mean()) if e.size else np.nan,
                  "within": float(np.mean(np.abs(e) <= WITHIN_MS[k])) if e.size else np.nan,
                  "tolerance_ms": WITHIN_MS[k]}
    return out


def diagnosis_groups(row: dict) -> list[str]:
    """LUDB's free-text diagnoses (one ludb.csv row) -> the bench's groups (a record may be in several)."""
    text = {k: str(v or "").lower() for k, v in row.items()}
    rhythm, cond = text.get("rhythms", ""), text.get("conduction abnormalities", "")
    groups = []
    if "fibrillation" in rhythm or "flutter" in rhythm:
        groups.append("AF/flutter")
    if "bundle branch block" in cond:
        groups.append("bundle branch block")
    if "av block" in cond or "av-block" in cond:
        groups.append("AV block")
    if "left ventricular hypertrophy" in text.get("hypertrophies", ""):
        groups.append("LVH")
    if text.get("ischemia", "").strip() not in ("", "nan"):
        groups.append("ischaemia")
    if text.get("cardiac pacing", "").strip() not in ("", "nan"):
        groups.append("pacing")
    others = ("conduction abnormalities", "extrasystolies", "hypertrophies", "cardiac pacing", "ischemia")
    if rhythm.strip() == "sinus rhythm" and all(text.get(c, "").strip() in ("", "nan") for c in others):
        groups.append("normal sinus")
    return groups



# --------------------------------------------------------------------------------------------
# methods: ecgfeat's median-beat delineation and neurokit2's beat-by-beat delineators on lead II

def ecgfeat_row(record, ref: Reference) -> MethodRow:
    """ecgfeat on one record: fiducials placed on its beats, its stored record-level intervals."""
    from ..features import expert
    from ..features.extract import analyse

    a = analyse(record)
    tp, d = a.templates, a.delineation
    feats = expert.expert_features(tp, d, a.rr_mean_s, a.rr_median_s)
    ms = 1000.0 / tp.fs
    off = {"qrs_on": (d.qrs_on - tp.pre) * ms, "qrs_off": (d.qrs_off - tp.pre) * ms,
           "t_end": (d.t_end - tp.pre) * ms}
    if d.has_p:
        off.update(p_on=(d.p_on - tp.pre) * ms, p_off=(d.p_off - tp.pre) * ms)
    beats = tp.fiducials * (record.fs / tp.fs)
    fid = place_on_beats(ref, beats, off, record.fs)
    g = lambda k: feats[f"all__expert__{k}"]  # noqa: E731
    iv = {"pr": g("pr_ms"), "qrs": g("qrs_ms"), "qt": g("qt_ms"), "p": g("p_ms")}
    lead_qrs = {lead: feats[f"{lead}__expert__qrs_ms"] for lead in LEADS}
    return MethodRow(fid, iv, lead_qrs, float(g("p_present")))


NK_KEYS = {"p_on": "ECG_P_Onsets", "p_off": "ECG_P_Offsets", "qrs_on": "ECG_R_Onsets",
           "qrs_off": "ECG_R_Offsets", "t_end": "ECG_T_Offsets"}


def neurokit_row(record, ref: Reference, method: str, lead: str = "II") -> MethodRow:
    """neurokit2 (`ecg_clean`, `ecg_peaks`, `ecg_delineate(method=...)`) on one lead, beat by beat."""
    import warnings

    from ..optional import require

    nk = require("neurokit2", "validate", "the neurokit2 comparison")
    fs = record.fs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(record.lead(lead).astype(float), sampling_rate=fs)
        _, info = nk.ecg_peaks(clean, sampling_rate=fs)
        rpeaks = np.asarray(info["ECG_R_Peaks"], dtype=float)
        _, waves = nk.ecg_delineate(clean, info, sampling_rate=fs, method=method)
    ms = 1000.0 / fs
    off = {}
    for f, key in NK_KEYS.items():
        v = np.asarray(waves.get(key, []), dtype=float)
        if v.size == rpeaks.size:
            off[f] = (v - rpeaks) * ms
    fid = place_on_beats(ref, rpeaks, off, fs)
    p_share = float(np.mean(np.isfinite(off["p_on"]))) if "p_on" in off and rpeaks.size else 0.0
    return MethodRow(fid, intervals(fid), {}, float(p_share >= 0.5))


METHODS = {"ecgfeat": ecgfeat_row,
           "nk-dwt": lambda rec, ref: neurokit_row(rec, ref, "dwt"),
           "nk-prominence": lambda rec, ref: neurokit_row(rec, ref, "prominence")}


def evaluate_folder(folder, methods=("ecgfeat",), limit: int | None = None, ids=None, progress=None) -> dict:
    """Every method on every annotated record of a LUDB-format folder -> per-record rows.

    Returns {"records": [{"record", "groups", "reference": {...}, method: {...} | {"error": ...}}]}.
    """
    import csv
    import os
    from pathlib import Path

    from ..datasets import open_dataset
    from ..datasets.ludb import has_annotations, read_annotations

    folder = Path(folder)
    ds = open_dataset(folder)
    diag = {}
    csv_path = folder / "ludb.csv"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                diag[str(row.get("ID", "")).strip()] = diagnosis_groups({k.lower(): v for k, v in row.items()})
    refs = [r for r in ds.refs() if has_annotations(os.path.splitext(r.path)[0])]
    refs.sort(key=lambda r: (len(r.record_id), r.record_id))
    if ids is not None:
        refs = [r for r in refs if r.record_id in set(map(str, ids))]
    if limit is not None:
        refs = refs[:limit]
    rows = []
    for ref in refs:
        rec = ds.read(ref)
        reference = build_reference(read_annotations(os.path.splitext(ref.path)[0]), rec.fs)
        if reference is None:
            continue
        row = {"record": ref.record_id, "groups": diag.get(ref.record_id, []),
               "reference": {"fiducials": reference.glob, "intervals": reference.intervals(),
                             "lead_qrs_ms": reference.lead_qrs_ms(), "has_p": reference.has_p,
                             "beats_with_p": reference.beats_with_p}}
        for m in methods:
            try:
                r = METHODS[m](rec, reference)
                row[m] = {"fiducials": r.fiducials, "intervals": r.intervals, "lead_qrs_ms": r.lead_qrs_ms,
                          "p_present": r.p_present}
            except Exception as err:  # a method that fails on a record counts as missing there
                row[m] = {"error": f"{type(err).__name__}: {err}"}
        rows.append(row)
        if progress:
            progress(ref.record_id)
    return {"folder": str(folder), "records": rows}


def summarise(result: dict, method: str, records: list[dict] | None = None) -> dict:
    """Fiducial bias/SD vs CSE, interval n/bias/MAE/within, per-lead QRS, P presence by rhythm."""
    rows = [r for r in (records if records is not None else result["records"]) if "error" not in r.get(method, {"error": 1})]
    fid_err = {f: [r[method]["fiducials"][f] - r["reference"]["fiducials"][f] for r in rows] for f in FIDUCIALS}
    pairs = {k: [(r[method]["intervals"][k], r["reference"]["intervals"][k]) for r in rows] for k in INTERVALS}
    out = {"method": method, "records": len(rows), "fiducials": summarise_fiducials(fid_err),
           "intervals": summarise_intervals(pairs)}
    lead_e = [r[method]["lead_qrs_ms"][lead] - r["reference"]["lead_qrs_ms"].get(lead, np.nan)
              for r in rows for lead in r[method].get("lead_qrs_ms", {})]
    lead_e = np.asarray([e for e in lead_e if np.isfinite(e)])
    out["lead_qrs"] = {"n": int(lead_e.size), "bias": float(lead_e.mean()) if lead_e.size else np.nan,
                       "mae": float(np.abs(lead_e).mean()) if lead_e.size else np.nan}
    af = [r for r in rows if "AF/flutter" in r["groups"]]
    sinus = [r for r in rows if "AF/flutter" not in r["groups"] and r["reference"]["has_p"]]
    share = lambda rs: float(np.mean([r[method]["p_present"] >= 0.5 for r in rs])) if rs else np.nan  # noqa: E731
    out["p_presence"] = {"af_flutter": {"n": len(af), "reported_present": share(af)},
                         "sinus_with_p": {"n": len(sinus), "reported_present": share(sinus)}}
    return out

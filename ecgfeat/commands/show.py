"""`ecgfeat show`: one record on ECG paper, with its fiducials and a cart-style header."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import STATE, UserError, console, emit_json, progress_bar

SHOW_EXAMPLES = """Examples:

  ecgfeat show data/ludb/data/1.hea                 # -> reports/show/1.png, annotations drawn

  ecgfeat show 1 --data data/ludb --out lvh.pdf     # a record id within a dataset folder

  ecgfeat show data/ptbxl/records500/00000/00001_hr --out 00001.svg --json

  ecgfeat show A0001 --data data/challenge2021 --start 20   # 10 s from second 20"""

RECORD_EXT = (".hea", ".dat", ".mat")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "record"


def resolve_record(record: str, data: Optional[Path]):
    """(dataset, ref) of RECORD: a record file, a WFDB base path, or (with --data) a record id."""
    from ..datasets import open_dataset

    if data is not None:
        if not data.exists():
            raise UserError(f"--data {data}: no such file or folder")
        ds = open_dataset(data)
        refs = ds.refs()
        for ref in refs:
            if ref.record_id == record:
                return ds, ref
        p = Path(record)   # a path to one of its files also names the record
        wanted = {(data / p).with_suffix("").resolve(), p.with_suffix("").resolve()}
        for ref in refs:
            if Path(ref.path).with_suffix("").resolve() in wanted:
                return ds, ref
        example = ", ".join(r.record_id for r in refs[:3])
        raise UserError(f"--data {data}: no record {record!r} among its {len(refs)} records"
                        + (f" (e.g. {example})" if example else ""))
    p = Path(record)
    if p.is_dir():
        raise UserError(f"{p}: a folder, not a record; give a record file (.hea, .dat, .mat) "
                        f"or a record id with --data {p}")
    if p.is_file():
        if p.suffix.lower() not in RECORD_EXT:
            raise UserError(f"{p}: not an ECG record file (expected .hea, .dat or .mat, or a WFDB base path "
                            "without extension)")
        ds = open_dataset(p)
    elif Path(f"{p}.hea").is_file():
        ds = open_dataset(Path(f"{p}.hea"))
    elif Path(f"{p}.mat").is_file():
        ds = open_dataset(Path(f"{p}.mat"))
    else:
        raise UserError(f"{record}: no such record file (give a .hea, .dat or .mat path, a WFDB base path, "
                        "or a record id with --data FOLDER)")
    refs = ds.refs()
    if not refs:
        reason = ds.index_errors[0][1] if ds.index_errors else f"{p}: no record found"
        raise UserError(reason)
    return ds, refs[0]


def header_comments(path: str) -> dict:
    """Age, sex and free-text diagnoses from a WFDB header's comments (LUDB writes them there)."""
    hea = Path(path).with_suffix(".hea")
    out: dict = {}
    try:
        lines = [ln.strip() for ln in hea.read_text(errors="replace").splitlines() if ln.startswith("#")]
    except OSError:
        return out
    diagnoses, in_dx = [], False
    for ln in lines:
        body = ln.lstrip("#").strip()
        m = re.match(r"<?(age|sex)>?\s*:\s*(.*)$", body, re.I)
        if m:
            key, val = m.group(1).lower(), m.group(2).strip()
            if key == "age":
                try:
                    out["age"] = float(val)
                except ValueError:
                    pass
            elif val:
                out["sex"] = {"male": "M", "female": "F"}.get(val.lower(), val[:1].upper())
            in_dx = False
            continue
        if re.match(r"<diagnoses>\s*:?", body, re.I):
            in_dx = True
            rest = re.sub(r"<diagnoses>\s*:?", "", body, flags=re.I).strip()
            if rest:
                diagnoses.append(rest)
            continue
        if in_dx and body:
            diagnoses.append(body.rstrip(". "))
    if diagnoses:
        out["diagnoses"] = diagnoses
    return out


def show(
    record: str = typer.Argument(..., help="A record file (.hea, .dat, .mat), a WFDB base path without extension, "
                                           "or with --data a record id within that dataset."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset folder in which RECORD is a record id."),
    out: Optional[Path] = typer.Option(None, "--out", help="Figure file: .png, .svg or .pdf "
                                                           "(default: <workspace>/reports/show/<record>.png)."),
    start: float = typer.Option(0.0, "--start", help="First second drawn (records longer than 10 s)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """The record on ECG paper: 25 mm/s, 10 mm/mV, 1 mm / 5 mm grid, the standard 4 x 3 layout (2.5 s per
    lead) and a 10 s lead II rhythm strip, a 1 mV calibration pulse on each row. Under each lead: the
    median beat's fiducials (P on/off, QRS on/off, T end) on every beat, and where the dataset has them
    (LUDB-format per-lead annotation files) the cardiologists' annotations, with the difference of the
    global boundaries in ms. Header: HR (bpm), PR, QRS, QT/QTc (ms), P/QRS/T axes (deg), signal quality.
    A record without detectable beats is drawn anyway, its header saying why nothing was measured."""
    from ..datasets.ludb import has_annotations, read_annotations
    from ..draw import FORMATS, draw_sheet, prepare_sheet, save
    from ..vocab import LEADS

    if out is not None and out.suffix.lower() not in FORMATS:
        raise UserError(f"--out {out}: unsupported figure format {out.suffix or '(none)'!r}; use .png, .svg or .pdf")
    if start < 0:
        raise UserError(f"--start {start:g}: must be 0 or more seconds")
    con = console(as_json)
    ds, ref = resolve_record(record, data)
    rec = ds.read(ref)       # before the progress bar: a user error stays the only line printed
    base = os.path.splitext(ref.path)[0]
    ann, ann_note = None, ""
    if has_annotations(base):
        try:
            ann = read_annotations(base)
        except Exception as err:      # a broken annotation file must not hide the record
            ann_note = f"annotations unreadable: {type(err).__name__}: {err}"
    with progress_bar(f"show {ref.record_id}: analysing", 2, unit="steps") as advance:
        sheet = prepare_sheet(rec, ann)
        meta = header_comments(ref.path) if ref.path.lower().endswith((".hea", ".dat", ".mat")) else {}
        if sheet.age is None and "age" in meta:
            sheet.age = meta["age"]
        if not sheet.sex and "sex" in meta:
            sheet.sex = meta["sex"]
        if not sheet.labels and meta.get("diagnoses"):
            sheet.labels = tuple(meta["diagnoses"])
        sheet.dataset = ds.name if data is not None else ""
        sheet.source = sheet.source or ref.path
        if ann_note:
            sheet.note = (sheet.note + "; " if sheet.note else "") + ann_note
        advance(1, description=f"show {ref.record_id}: drawing")
        target = out or STATE.workspace / "reports" / "show" / f"{_safe(ref.record_id)}.png"
        save(draw_sheet(sheet, start_s=start), target)
        advance(1)
    m = sheet.measurements
    fmt = lambda k, u="": "-" if m.get(k) is None else f"{m[k]:.0f}{u}"  # noqa: E731
    if m:
        con.print(escape(f"record {ref.record_id}: HR {fmt('hr_bpm', ' bpm')}, PR {fmt('pr_ms', ' ms')}, "
                         f"QRS {fmt('qrs_ms', ' ms')}, QT/QTc {fmt('qt_ms')}/{fmt('qtc_bazett_ms', ' ms')}, "
                         f"axes P/QRS/T {fmt('p_axis_deg')}/{fmt('axis_deg')}/{fmt('t_axis_deg')} deg"))
    if sheet.note:
        con.print(f"[yellow]{escape(sheet.note)}[/yellow]")
    if sheet.delta_ms:
        con.print(escape("ecgfeat - annotation (ms): "
                         + ", ".join(f"{k} {v:+.0f}" for k, v in sheet.delta_ms.items())))
    con.print(f"written to {escape(str(target))}")
    if as_json:
        emit_json({"record": ref.record_id, "out": str(target), "measurements": m, "source": ref.path,
                   "dataset": ds.name, "fs": rec.fs, "duration_s": round(rec.duration_s, 3),
                   "beats": sheet.n_beats, "note": sheet.note or None, "quality": sheet.quality,
                   "annotations": [lead for lead in LEADS if lead in (ann or {})],
                   "annotation_delta_ms": sheet.delta_ms})

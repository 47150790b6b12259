"""WFDB headers parsed, and format-16 signal files decoded, without importing wfdb.

Why our own: ``import wfdb`` imports pandas (wfdb keeps its field tables as DataFrames), 0.7 of the
~2 s that the extraction workers' fork server spends importing on the 2-core development VM, all
of it before the first record of a ``--jobs 2`` run can start; and wfdb's decoding of a record
(a deep copy of the header object, its checks, its digital-to-analogue step) costs ~1.5 ms of a
record's ~45. Nothing here is new grammar: the two line patterns are wfdb-python's own
(``wfdb.io.header.rx_record`` / ``rx_signal``, MIT licence), with its read defaults and type
casts, and tests/test_readers.py checks every field against wfdb's parsers on every header of the
shared datasets and on hand-made lines, and the decoded samples against ``wfdb.rdrecord``.

Only the common case is decoded here: a single-segment record whose signals are all format 16
(PTB-XL, LUDB, most 12-lead exports), one sample per frame, no skew. Anything else goes to wfdb's
own reader (``Header.to_wfdb``), imported then.
"""

from __future__ import annotations

import datetime
import os
import re

import numpy as np

from ..record import RecordError

# wfdb-python 4.x, wfdb/io/header.py (MIT licence): the record line and the signal line
RX_RECORD = re.compile(
    r"""
    [ \t]* (?P<record_name>[-\w]+)
           /?(?P<n_seg>\d*)
    [ \t]+ (?P<n_sig>\d+)
    [ \t]* (?P<fs>\d*\.?\d*)
           /*(?P<counter_freq>-?\d*\.?\d*)
           \(?(?P<base_counter>-?\d*\.?\d*)\)?
    [ \t]* (?P<sig_len>\d*)
    [ \t]* (?P<base_time>\d{,2}:?\d{,2}:?\d{,2}\.?\d{,6})
    [ \t]* (?P<base_date>\d{,2}/?\d{,2}/?\d{,4})
    """,
    re.VERBOSE,
)
RX_SIGNAL = re.compile(
    r"""
    [ \t]* (?P<file_name>~?[-\w]*\.?[\w]*)
    [ \t]+ (?P<fmt>\d+)
           x?(?P<samps_per_frame>\d*)
           :?(?P<skew>\d*)
           \+?(?P<byte_offset>\d*)
    [ \t]* (?P<adc_gain>-?\d*\.?\d*e?[\+-]?\d*)
           \(?(?P<baseline>-?\d*)\)?
           /?(?P<units>[\w\^\-\?%\/]*)
    [ \t]* (?P<adc_res>\d*)
    [ \t]* (?P<adc_zero>-?\d*)
    [ \t]* (?P<init_value>-?\d*)
    [ \t]* (?P<checksum>-?\d*)
    [ \t]* (?P<block_size>\d*)
    [ \t]* (?P<sig_name>[\S]?[^\t\n\r\f\v]*)
    """,
    re.VERBOSE,
)

# (field, type, read default): wfdb.io._header.RECORD_SPECS / SIGNAL_SPECS, in pattern order
RECORD_FIELDS = (("record_name", "str", None), ("n_seg", "int", None), ("n_sig", "int", None),
                 ("fs", "float", 250), ("counter_freq", "float", None), ("base_counter", "float", None),
                 ("sig_len", "int", None), ("base_time", "time", None), ("base_date", "date", None))
SIGNAL_FIELDS = (("file_name", "str", None), ("fmt", "str", None), ("samps_per_frame", "int", 1),
                 ("skew", "int", None), ("byte_offset", "int", None), ("adc_gain", "float", 200.0),
                 ("baseline", "int", 0), ("units", "str", "mV"), ("adc_res", "int", None),
                 ("adc_zero", "int", None), ("init_value", "int", None), ("checksum", "int", None),
                 ("block_size", "int", None), ("sig_name", "str", None))


class HeaderSyntaxError(ValueError):
    """A record or signal line that the WFDB grammar does not match (wfdb's message)."""


class Header:
    """A single-segment WFDB header: wfdb.Record's field names (``fs``, ``sig_len``, ``fmt``,
    ``adc_gain``, ``sig_name``... one list entry per signal for the signal fields) and
    ``comments`` (the ``#`` lines, without the ``#``)."""

    def __init__(self):
        for name, _, _ in RECORD_FIELDS:
            setattr(self, name, None)
        for name, _, _ in SIGNAL_FIELDS:
            setattr(self, name, None)
        self.base_datetime = None
        self.comments: list[str] = []

    def __repr__(self) -> str:
        return f"Header({self.record_name!r}, n_sig={self.n_sig}, fs={self.fs}, sig_len={self.sig_len})"

    def to_wfdb(self):
        """The same header as a wfdb.Record (imports wfdb), for wfdb's own decoder."""
        import wfdb

        rec = wfdb.Record()
        for name in [f for f, _, _ in RECORD_FIELDS if f != "n_seg"] + [f for f, _, _ in SIGNAL_FIELDS] + ["comments"]:
            value = getattr(self, name)
            setattr(rec, name, list(value) if isinstance(value, list) else value)
        return rec


def _strptime(text: str) -> datetime.time:
    """wfdb.io.header.wfdb_strptime: SS, MM:SS or HH:MM:SS, each with optional microseconds."""
    fmt = ("%S", "%M:%S", "%H:%M:%S")[text.count(":")]
    return datetime.datetime.strptime(text, fmt + (".%f" if "." in text else "")).time()


def parse_record_line(line: str) -> dict:
    """wfdb.io._header._parse_record_line: {field: value} of a record line."""
    match = RX_RECORD.match(line)
    if match is None:
        raise HeaderSyntaxError("invalid syntax in record line")
    out = {}
    for (field, kind, default), value in zip(RECORD_FIELDS, match.groups()):
        if value == "":
            value = default
        elif kind == "int":
            value = int(value)
        elif kind == "float":
            value = float(value)
            if field == "fs" and round(value, 8) == float(int(value)):   # wfdb: an integral rate is an int
                value = int(value)
        elif kind == "time":
            value = _strptime(value)
        elif kind == "date":
            value = datetime.datetime.strptime(value, "%d/%m/%Y").date()
        out[field] = value
    if out["base_date"] and out["base_time"]:   # wfdb adds it, "not a standard WFDB field"
        out["base_datetime"] = datetime.datetime.combine(out["base_date"], out["base_time"])
    return out


def parse_signal_lines(lines: list[str]) -> dict[str, list]:
    """wfdb.io._header._parse_signal_lines: {field: [value per signal line]}, the same defaults
    (a baseline defaults to the ADC zero when that is given; a gain of 0 means 200)."""
    out: dict[str, list] = {field: [None] * len(lines) for field, _, _ in SIGNAL_FIELDS}
    for ch, line in enumerate(lines):
        match = RX_SIGNAL.match(line)
        if match is None:
            raise HeaderSyntaxError("invalid syntax in signal line")
        groups = match.groups()
        adc_zero = groups[9]
        for (field, kind, default), value in zip(SIGNAL_FIELDS, groups):
            if value == "":
                value = default
                if field == "baseline" and adc_zero != "":
                    value = int(adc_zero)
            elif kind == "int":
                value = int(value)
            elif kind == "float":
                value = float(value)
                if field == "adc_gain" and value == 0:
                    value = 200.0
            out[field][ch] = value
    return out


def parse_header_text(text: str) -> Header:
    """The Header of a header file's text, as wfdb.rdheader reads it. RecordError (without a path)
    for a multi-segment header or one without a record line; HeaderSyntaxError for a line the
    grammar does not match."""
    lines, comments = [], []
    for line in text.splitlines():   # wfdb.io.header.parse_header_content
        line = line.strip()
        if line.startswith("#"):
            comments.append(line)
        elif line:
            lines.append(line)
    if not lines:
        raise RecordError("unreadable WFDB header (no record line)")
    record = parse_record_line(lines[0])
    if record["n_seg"] is not None:
        raise RecordError("multi-segment WFDB records are not supported")
    h = Header()
    if len(lines) > 1:
        for name, value in parse_signal_lines(lines[1:]).items():
            setattr(h, name, value)
    for name, value in record.items():
        if name != "n_seg":
            setattr(h, name, value)
    h.comments = [line.strip(" \t#") for line in comments]
    return h


def decode_fmt16(folder: str, h: Header) -> np.ndarray | None:
    """(n_sig, sig_len) float64 physical signal of a record whose signals are all format 16, the
    values wfdb.rdrecord gives: (sample - baseline) / gain, NaN for the invalid sample -32768.
    None when the record is not that simple case (another format, frames, skew, no length, a
    file shorter than the header says): wfdb decodes it then."""
    n = h.sig_len
    if (not n or any(str(f) != "16" for f in h.fmt) or any((s or 1) != 1 for s in h.samps_per_frame)
            or any(s for s in (h.skew or [])) or len(h.file_name) != h.n_sig):
        return None
    out = np.empty((h.n_sig, n), dtype=np.float64)
    for fname in dict.fromkeys(h.file_name):
        idx = [i for i, f in enumerate(h.file_name) if f == fname]
        offset = (h.byte_offset[idx[0]] or 0) if h.byte_offset else 0
        data = np.fromfile(os.path.join(folder, fname), dtype="<i2", count=n * len(idx), offset=offset)
        if data.size < n * len(idx):
            return None
        data = data.reshape(n, len(idx)).T
        out[idx] = data
        base = np.array([h.baseline[i] for i in idx], dtype=np.float64)[:, None]
        gain = np.array([h.adc_gain[i] for i in idx], dtype=np.float64)[:, None]
        rows = out[idx]
        np.subtract(rows, base, rows)
        np.divide(rows, gain, rows)
        rows[data == -32768] = np.nan
        out[idx] = rows
    return out

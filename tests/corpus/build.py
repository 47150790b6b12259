"""The hardening corpus: bad and odd records of every supported format, written by code.

Nothing here is committed data: `build(root)` writes, under `root`, one dataset folder per format
(wfdb, challenge, cpsc2018, ptbxl) holding a few good records and one record of each kind that
applies to the format, plus one empty dataset folder per format. It returns the `Corpus`: every
kind with what must come out of reading it, `expect == "ok"` (odd but valid input, read right)
or the exact one-line reason of its error row, which names the file at fault.

`KINDS` is the table of kinds (name -> one-line description); `NOT_APPLICABLE` says, for each
(kind, format) that is not built, why the format cannot hold that defect. Every kind is either
built or explained for every format (tests/corpus/test_corpus.py checks it).

Signals are the embedded simulator's (`ecgfeat.synth.assemble.make_record`): physiologic
12-lead ECGs with a known heart rate, so a record read right must also measure right.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from ecgfeat.vocab import CPSC9, LEADS

FORMATS = ("wfdb", "challenge", "cpsc2018", "ptbxl")
FS, SECONDS = 500.0, 10.0
GAIN = 1000.0               # ADC units per mV of every written record
PTB15 = [*LEADS, "vx", "vy", "vz"]
GOOD = 3                    # good records per folder, beside the kinds

KINDS: dict[str, str] = {
    "truncated_signal": "signal file (.dat / .mat) cut short in the middle of its samples",
    "zero_byte_signal": "signal file (.dat / .mat) of 0 bytes",
    "zero_byte_header": "header (.hea) of 0 bytes",
    "missing_signal_file": "header names a signal file that is not there",
    "signal_path_escapes": "header's signal file name points outside the record's folder (../x.dat)",
    "wrong_mat_content": ".mat file without the expected variable (no `val` / no `ECG` struct)",
    "header_more_samples": "header declares more samples than the signal file holds",
    "header_fewer_samples": "header declares fewer samples than the file holds: the header's count is read",
    "transposed_matrix": ".mat matrix stored samples x leads instead of leads x samples: read transposed",
    "gain_zero": "ADC gain 0 in the header (WFDB's 'uncalibrated': the amplitude in mV is unknown)",
    "gain_negative": "negative ADC gain in the header",
    "gain_malformed": "unparsable gain / baseline field in a signal line (e.g. 1000(x)/mV)",
    "baseline_offset": "non-zero ADC baseline in the header, samples offset to match: read in mV",
    "non_utf8_header_comment": "Latin-1 (non-UTF-8) bytes in a header comment: ignored",
    "record_name_with_extension": "record line naming the record with its signal file's extension and a date "
                                  "(`E00271.mat 12 500 5000 05-May-2020 14:50:55`, every header of the 2020 "
                                  "Challenge release of Georgia): read",
    "record_line_date_time": "base date before the time, month by name, on the record line "
                             "(`A0001 12 500 5000 05-May-2020 14:50:55`, as the Challenge 2020/2021 headers write it): read",
    "float_header_fields": "gain, baseline and the integer fields of the signal lines written as floats "
                           "(`1000.0(0.0)/mV 16.0 0.0 136.0 0.0`): read",
    "unknown_demographics": "`#Age: NaN` and `#Sex: Unknown` header comments (the Challenge's missing demographics): "
                            "read, age and sex unknown",
    "lead_name_case": "lead names in another letter case (`i`, `avr`, `v1` as LUDB writes them): read in the standard order",
    "non_utf8_lead_name": "Latin-1 (non-UTF-8) byte in a lead name of the header",
    "micro_sign_units": "units written 'µV' (UTF-8) in a signal line: refused (wfdb drops the µ and would read volts, 10^6 too big)",
    "non_utf8_index_file": "Latin-1 (non-UTF-8) text in the index file (labels.csv, REFERENCE.csv, ptbxl_database.csv): only that cell is garbled",
    "nan_samples": "NaN samples (WFDB's invalid-sample value, or NaN in a float matrix) in one lead",
    "inf_samples": "+/-Inf samples in a float matrix",
    "all_zero": "every lead all zeros",
    "all_constant": "every lead constant (a DC level, no signal)",
    "constant_leads": "three leads constant (disconnected electrodes): read, with a warning, their features NaN",
    "saturated_lead": "one lead clipped at the ADC rails (amplifier saturation): read, features computed, that lead's NaN (low quality)",
    "six_leads": "only the 6 limb leads",
    "fifteen_leads": "15 leads (12 standard + Frank vx, vy, vz, as in PTB): the 12 standard leads are read",
    "duplicate_lead_name": "the same lead name twice in one record",
    "shuffled_leads": "leads stored in a non-standard order: reordered to I, II, III, aVR, ..., V6",
    "one_second": "1 s record (under the 2 s minimum)",
    "five_minutes": "5 min record: read whole",
    "fs_40": "sampled at 40 Hz (under the 50 Hz minimum)",
    "fs_100": "sampled at 100 Hz",
    "fs_257": "sampled at 257 Hz (not a multiple of the 500 Hz processing rate)",
    "fs_1000": "sampled at 1,000 Hz",
    "unknown_label_code": "a label code the format's vocabulary does not know (a numeric but unknown SNOMED code is kept as a raw code)",
    "malformed_label_code": "a label code that cannot be a code of the format (e.g. '4267x83006' in #Dx)",
    "duplicate_record_id": "the same record id in two subfolders (or twice in ptbxl_database.csv): the second is an error",
    "symlink_loop": "a directory symlink loop inside the dataset folder: indexing terminates, nothing lost",
    "empty_subfolder": "an empty subfolder inside the dataset folder: ignored",
    "empty_dataset": "a dataset folder with no record at all: every command exits 1 saying what was looked for",
    "markup_in_path": "the dataset's path holds a space and rich-markup-like text (`odd [/b] folder`): printed verbatim",
}
# quirks of the SPH (HDF5) and LUDB (WFDB + ludb.csv) releases: built in their own folders (EXTRA_FORMATS)
EXTRA_KINDS: dict[str, str] = {
    "sph_no_ecg_dataset": "SPH .h5 file without the `ecg` dataset (another name, e.g. `signal`)",
    "sph_wrong_shape": "SPH `ecg` dataset that is not a (12, N) matrix (1-D, samples only)",
    "sph_transposed": "SPH `ecg` stored (N, 12) instead of (12, N): read transposed",
    "sph_float16_nan": "float16 NaN samples in one lead of an SPH `ecg` (float16 holds NaN, int16 WFDB cannot)",
    "sph_malformed_aha_code": "an AHA_Code in metadata.csv that is not an AHA statement (`5O+x`)",
    "ludb_csv_missing_row": "a LUDB record whose ludb.csv has no row: read, without labels",
    "ludb_unparseable_diagnosis": "a ludb.csv diagnosis no vocabulary knows (free text of another kind): read, "
                                  "kept as a raw statement, no cpsc9 class (and not Normal)",
}
KINDS.update(EXTRA_KINDS)
EXTRA_FORMATS = ("sph", "ludb")
ODD_DIR = "odd [/b] folder"   # every corpus folder lives below it

_NO_HEADER = "a CPSC 2018 record is one .mat file without a header"
_NO_NAMES = "CPSC 2018's ECG.data has no lead names: its 12 rows are the standard leads in order"
_FIXED_FS = "CPSC 2018 is 500 Hz by definition: the .mat holds no sampling rate"
_NO_MAT = "a PTB-XL record is a WFDB .hea + .dat pair, no .mat"
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("zero_byte_header", "cpsc2018"): _NO_HEADER,
    ("missing_signal_file", "cpsc2018"): _NO_HEADER + " (a REFERENCE.csv row without its .mat is counted in notes, as in a partial download)",
    ("signal_path_escapes", "cpsc2018"): _NO_HEADER,
    ("header_more_samples", "cpsc2018"): _NO_HEADER,
    ("header_fewer_samples", "cpsc2018"): _NO_HEADER,
    ("gain_zero", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("gain_negative", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("gain_malformed", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("baseline_offset", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("non_utf8_header_comment", "cpsc2018"): _NO_HEADER,
    ("record_name_with_extension", "cpsc2018"): _NO_HEADER,
    ("record_line_date_time", "cpsc2018"): _NO_HEADER,
    ("float_header_fields", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("unknown_demographics", "cpsc2018"): _NO_HEADER + " (age and sex are ECG struct fields)",
    ("unknown_demographics", "ptbxl"): "PTB-XL's age and sex are ptbxl_database.csv columns, not header comments",
    ("lead_name_case", "cpsc2018"): _NO_NAMES,
    ("non_utf8_index_file", "challenge"): "a Challenge folder has no index file: its labels are in the headers (non_utf8_header_comment)",
    ("non_utf8_lead_name", "cpsc2018"): _NO_NAMES,
    ("micro_sign_units", "cpsc2018"): _NO_HEADER + " (ECG.data is in mV)",
    ("duplicate_lead_name", "cpsc2018"): _NO_NAMES,
    ("shuffled_leads", "cpsc2018"): _NO_NAMES,
    ("fs_40", "cpsc2018"): _FIXED_FS,
    ("fs_100", "cpsc2018"): _FIXED_FS,
    ("fs_257", "cpsc2018"): _FIXED_FS,
    ("fs_1000", "cpsc2018"): _FIXED_FS,
    ("wrong_mat_content", "wfdb"): "the wfdb folder's records are .dat files (the challenge folder has the .mat kind)",
    ("transposed_matrix", "wfdb"): "a .dat file is interleaved samples, it has no matrix shape to transpose",
    ("wrong_mat_content", "ptbxl"): _NO_MAT,
    ("transposed_matrix", "ptbxl"): _NO_MAT,
    ("inf_samples", "wfdb"): "WFDB .dat samples are integers: they cannot hold Inf (nan_samples covers invalid samples)",
    ("inf_samples", "ptbxl"): "WFDB .dat samples are integers: they cannot hold Inf (nan_samples covers invalid samples)",
}

for _kind in EXTRA_KINDS:   # an SPH / LUDB quirk cannot be a defect of the four other formats' files
    for _fmt in FORMATS:
        NOT_APPLICABLE[(_kind, _fmt)] = f"a quirk of the {_kind.split('_')[0].upper()} release format only"


@dataclass
class Kind:
    """One record of the corpus and what reading it must give."""

    name: str                       # key of KINDS
    format: str
    record: str                     # record id as the dataset reports it
    file: str                       # the file at fault (or the record's main file when ok)
    expect: str                     # "ok", or the exact error reason (it starts with the file at fault)
    prefix: bool = False            # expect is only the start of the reason (a library's message follows)
    fs: float | None = None         # ok: sampling rate read
    n_samples: int | None = None    # ok: samples per lead read
    signal: np.ndarray | None = field(default=None, repr=False)  # ok: the 12 standard leads in mV, standard order
    atol: float = 1e-3              # ok: tolerance of the decoded signal (ADC quantisation)
    hr_bpm: float | None = None     # ok: the simulator's heart rate
    warning: str | None = None      # ok: the exact `data info` warning
    nan_leads: tuple[str, ...] = ()  # ok: leads whose features must be NaN
    low_quality_leads: tuple[str, ...] = ()  # ok: leads of low signal quality (signal/quality.py): features NaN too
    raw_codes: tuple[str, ...] | None = None  # ok: the record's raw label codes
    demographics: tuple | None = None  # ok: (age, sex) read, when the kind is about them
    single: bool = True             # the defect is in the record's own files: `FILE` alone gives the same outcome
    entry: str = ""                 # the file a user names to read this record alone (.hea, or the CPSC .mat)

    @property
    def id(self) -> str:
        return f"{self.format}-{self.name}"


@dataclass
class Corpus:
    root: Path
    folders: dict[str, Path]        # format -> dataset folder
    empty: dict[str, Path]          # format -> a folder of that format holding no record
    kinds: list[Kind]
    good: dict[str, list[Kind]]     # format -> its good records (expect "ok", kind name "good")
    folder_kinds: dict[str, list[str]]  # format -> folder-level kinds built into its folder

    def of(self, fmt: str) -> list[Kind]:
        return [k for k in self.kinds if k.format == fmt]

    def records(self, fmt: str) -> list[Kind]:
        """Every record (good ones first) of a format's folder."""
        return self.good[fmt] + [k for k in self.of(fmt) if k.record]


# ------------------------------------------------------------------ signals


class Signals:
    """Physiologic test signals (mV, float64), one simulator draw per (fs, seconds, seed)."""

    def __init__(self, seed: int = 1234):
        self.seed = seed
        self._cache: dict = {}

    def get(self, fs: float = FS, seconds: float = SECONDS, k: int = 0) -> tuple[np.ndarray, float]:
        key = (fs, seconds, k)
        if key not in self._cache:
            from ecgfeat.synth.assemble import make_record

            sig, params, _ = make_record(["Normal"], fs, seconds, np.random.default_rng([self.seed, k]))
            self._cache[key] = (sig, float(params["hr_bpm"]))
        sig, hr = self._cache[key]
        return sig.copy(), hr


def quantised(sig: np.ndarray, gain: float = GAIN) -> np.ndarray:
    return np.round(sig * gain) / gain


# ------------------------------------------------------------------ writers


def write_dat(folder: Path, name: str, sig: np.ndarray, fs: float, names=LEADS, gain=None,
              baseline=None, comments=(), sig_len: int | None = None, digital: np.ndarray | None = None) -> tuple[Path, Path]:
    """A WFDB format-16 record written byte by byte, so every header field is ours to choose.

    `sig` (n_leads, n) mV; `gain` / `baseline` are header tokens per lead (default 1000 and 0);
    NaN samples become WFDB's invalid value -32768. Returns (.hea, .dat).
    """
    folder.mkdir(parents=True, exist_ok=True)
    n_sig, n = sig.shape
    gains = list(gain) if gain is not None else [f"{GAIN:g}"] * n_sig
    bases = list(baseline) if baseline is not None else [0] * n_sig
    if digital is None:
        b = np.array([int(x) for x in bases], dtype=np.float64)[:, None]
        with np.errstate(invalid="ignore"):
            digital = np.round(sig * GAIN) + b
        digital = np.where(np.isfinite(digital), np.clip(digital, -32767, 32767), -32768).astype("<i2")
    digital.T.astype("<i2").tofile(folder / f"{name}.dat")
    lines = [f"{name} {n_sig} {fs:g} {n if sig_len is None else sig_len}"]
    for i, lead in enumerate(names):
        lines.append(f"{name}.dat 16 {gains[i]}({bases[i]})/mV 16 0 {int(digital[i, 0])} 0 0 {lead}")
    lines += [f"#{c}" for c in comments]
    hea = folder / f"{name}.hea"
    hea.write_text("\n".join(lines) + "\n")
    return hea, folder / f"{name}.dat"


def write_mat(folder: Path, name: str, val: np.ndarray, fs: float, names=LEADS, dx: str = "426783006",
              gains=None, n_header: int | None = None, variable: str = "val") -> tuple[Path, Path]:
    """A Challenge 2020/2021 record: MATLAB v4 `.mat` holding `val` + a header with #Dx."""
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / f"{name}.mat", {variable: val}, format="4")
    rows = val.shape[0] if val.shape[0] == len(names) else val.shape[1]
    n = val.shape[1] if val.shape[0] == len(names) else val.shape[0]
    gains = list(gains) if gains is not None else [f"{GAIN:g}"] * len(names)
    lines = [f"{name} {len(names)} {fs:g} {n if n_header is None else n_header}"]
    first = np.asarray(val if val.shape[0] == rows else val.T)[:, 0]
    for i, lead in enumerate(names):
        v0 = int(first[i]) if np.isfinite(first[i]) else 0
        lines.append(f"{name}.mat 16+24 {gains[i]}/mV 16 0 {v0} 0 0 {lead}")
    lines += ["#Age: 61", "#Sex: Male", f"#Dx: {dx}", "#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
    hea = folder / f"{name}.hea"
    hea.write_text("\n".join(lines) + "\n")
    return hea, folder / f"{name}.mat"


def edit_record_line(hea: Path, edit) -> None:
    """Rewrite the record line (first line) of header `hea` as `edit(fields) -> fields`."""
    first, rest = hea.read_text().split("\n", 1)
    hea.write_text(" ".join(edit(first.split())) + "\n" + rest)


def floats_in_signal_lines(hea: Path) -> None:
    """Gain and baseline as floats (`1000.0(0.0)/mV`) and the ADC resolution, zero, initial value
    and checksum as integral floats, on every signal line of `hea`."""
    import re

    lines = hea.read_text().split("\n")
    for i in range(1, len(lines)):
        f = lines[i].split()
        if len(f) < 9 or lines[i].startswith("#"):
            continue
        m = re.match(r"^([-\d.]+)(?:\(([-\d]+)\))?/(\S+)$", f[2])
        f[2] = f"{float(m.group(1)):.1f}({float(m.group(2) or 0):.1f})/{m.group(3)}"
        f[3:7] = [f"{int(x)}.0" for x in f[3:7]]
        lines[i] = " ".join(f)
    hea.write_text("\n".join(lines))


def to_val(sig: np.ndarray) -> np.ndarray:
    return np.round(sig * GAIN).astype(np.int16)


def write_cpsc_mat(folder: Path, name: str, data: np.ndarray, age=52, sex="Male") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.mat"
    scipy.io.savemat(path, {"ECG": {"sex": sex, "age": age, "data": data}})
    return path


SCP_STATEMENTS = (",description,diagnostic,rhythm,diagnostic_class\n"
                  "NORM,normal ECG,1.0,,NORM\nIMI,inferior myocardial infarction,1.0,,MI\n"
                  "SR,sinus rhythm,,1.0,\nAFIB,atrial fibrillation,,1.0,\n")


# ------------------------------------------------------------------ the builder


class Builder:
    """Writes one format's folder; `record()` writes one record the format's way."""

    def __init__(self, fmt: str, root: Path, signals: Signals):
        self.fmt, self.root, self.s = fmt, root, signals
        self.kinds: list[Kind] = []
        self.labels: dict[str, str] = {}       # wfdb: labels.csv rows
        self.reference: dict[str, list[str]] = {}   # cpsc2018: REFERENCE.csv rows
        self.ptb_rows: list[dict] = []          # ptbxl: ptbxl_database.csv rows
        self._next_id = 1
        self.entry = ""                         # the last record's entry file
        root.mkdir(parents=True, exist_ok=True)

    # --- one record, the format's way: returns (record id, header or None, signal file)
    def record(self, name: str, sig: np.ndarray, fs: float = FS, names=LEADS, sub: str = "",
               label: str | None = None, **kw) -> tuple[str, Path | None, Path]:
        rid, hea, sigfile = self._record(name, sig, fs, names, sub, label, **kw)
        self.entry = str(hea if hea is not None else sigfile)
        return rid, hea, sigfile

    def _record(self, name, sig, fs, names, sub, label, **kw):
        folder = self.root / sub if sub else self.root
        if self.fmt == "wfdb":
            hea, dat = write_dat(folder, name, sig, fs, names, **kw)
            self.labels[name] = "Normal" if label is None else label
            return name, hea, dat
        if self.fmt == "challenge":
            val = kw.pop("val", None)
            hea, mat = write_mat(folder, name, to_val(sig) if val is None else val, fs, names,
                                 dx="426783006" if label is None else label, **kw)
            return name, hea, mat
        if self.fmt == "cpsc2018":
            mat = write_cpsc_mat(folder, name, sig)
            self.reference[name] = ["1"] if label is None else [label]
            return name, None, mat
        # ptbxl: records500/00000/<id>_hr, ids in order of writing
        rid = kw.pop("ecg_id", None) or self._next_id
        self._next_id = max(self._next_id, rid) + 1
        folder = self.root / "records500" / "00000"
        stem = f"{rid:05d}_hr"
        hea, dat = write_dat(folder, stem, sig, fs, [str(n).upper() for n in names] if names is LEADS else names, **kw)
        self.ptb_rows.append({"ecg_id": rid, "patient_id": 1000 + rid, "age": 60, "sex": rid % 2,
                              "scp_codes": "{'NORM': 100.0, 'SR': 0.0}" if label is None else label,
                              "strat_fold": 1 + rid % 10, "filename_lr": f"records100/00000/{rid:05d}_lr",
                              "filename_hr": f"records500/00000/{stem}"})
        return str(rid), hea, dat

    def ok(self, name: str, sig12: np.ndarray, hr: float | None, fs: float = FS, names=LEADS, atol=None,
           **kw) -> Kind:
        """A record that must read as `sig12` (the 12 standard leads, standard order) at `fs`."""
        written = kw.pop("write_sig", sig12)
        rid, hea, sigfile = self.record(name, written, fs, names, **kw)
        gain_q = quantised(sig12) if self.fmt != "cpsc2018" else sig12
        k = Kind(name, self.fmt, rid, str(sigfile), "ok", entry=self.entry, fs=fs, n_samples=sig12.shape[1],
                 signal=gain_q.astype(np.float32), hr_bpm=hr, atol=atol or (1e-6 if self.fmt == "cpsc2018" else 1.5e-3))
        self.kinds.append(k)
        return k

    def err(self, name: str, rid: str, file: Path | str, reason: str, prefix: bool = False, single: bool = True,
            sep: str = ": ") -> Kind:
        k = Kind(name, self.fmt, rid, str(file), f"{file}{sep}{reason}", prefix=prefix, single=single,
                 entry=self.entry)
        self.kinds.append(k)
        return k

    def finish(self, latin1: str | None = None) -> None:
        """Write the index file; the row of record `latin1` (or the header line, for REFERENCE.csv)
        carries Latin-1 text: the file is not valid UTF-8."""
        text = "Übelkeit, überdrehte Linkslage"
        if self.fmt == "wfdb":
            rows = "".join(f"{r},{lab},{text if r == latin1 else ''}\n" for r, lab in self.labels.items())
            (self.root / "labels.csv").write_bytes(("record,labels,comment\n" + rows).encode("latin-1"))
        elif self.fmt == "cpsc2018":
            lines = ["Recording,First_label,Second_label,Third_label" + (f",{text}" if latin1 else "")]
            lines += [",".join([rid, *codes] + [""] * (3 - len(codes))) for rid, codes in self.reference.items()]
            lines.append("A9999,1,,")  # a label whose .mat is absent: a partial download, a note
            (self.root / "REFERENCE.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
        elif self.fmt == "ptbxl":
            import csv

            with open(self.root / "ptbxl_database.csv", "w", newline="", encoding="latin-1") as fh:
                w = csv.DictWriter(fh, fieldnames=[*self.ptb_rows[0], "report"])
                w.writeheader()
                w.writerows([dict(r, report=text if str(r["ecg_id"]) == latin1 else "sinusrhythmus") for r in self.ptb_rows])
            (self.root / "scp_statements.csv").write_text(SCP_STATEMENTS)


def build_format(fmt: str, root: Path, s: Signals) -> tuple[list[Kind], list[Kind], list[str]]:
    """Write `root` (one format's folder); returns (kinds, good records, folder-level kinds)."""
    b = Builder(fmt, root, s)
    cpsc, ptb, chal = fmt == "cpsc2018", fmt == "ptbxl", fmt == "challenge"
    for i in range(GOOD):
        b.ok(f"good{i}", *s.get(k=i)).name = "good"
    good, b.kinds = b.kinds, []
    base, base_hr = s.get(k=10)

    def na(kind):
        return (kind, fmt) in NOT_APPLICABLE

    # -- broken files
    rid, hea, f = b.record("truncated_signal", base)
    if cpsc or chal:
        f.write_bytes(f.read_bytes()[:5000])
        b.err("truncated_signal", rid, f, "unreadable or truncated .mat file (", prefix=True)
    else:
        with open(f, "r+b") as fh:
            fh.truncate(10_000)
        b.err("truncated_signal", rid, f, "truncated signal file (10000 bytes, header needs 120000)")

    rid, hea, f = b.record("zero_byte_signal", base)
    f.write_bytes(b"")
    b.err("zero_byte_signal", rid, f, "empty file (0 bytes)")

    if not na("zero_byte_header"):
        rid, hea, f = b.record("zero_byte_header", base)
        hea.write_bytes(b"")
        b.err("zero_byte_header", rid, hea, "empty file (0 bytes)")

    if not na("missing_signal_file"):
        rid, hea, f = b.record("missing_signal_file", base)
        f.unlink()
        b.err("missing_signal_file", rid, f, f"signal file named in {hea.name} is missing")

    if not na("signal_path_escapes"):
        rid, hea, f = b.record("signal_path_escapes", base)
        hea.write_text(hea.read_text().replace(f"{f.name} ", f"../{f.name} "))
        b.err("signal_path_escapes", rid, hea, f"signal file name '../{f.name}' points outside the record's folder")

    if chal:
        rid, hea, f = b.record("wrong_mat_content", base, val=to_val(base), variable="data")
        b.err("wrong_mat_content", rid, f, "no 'val' matrix in the .mat file")
    elif cpsc:
        scipy.io.savemat(root / "wrong_mat_content.mat", {"val": to_val(base)})
        b.reference["wrong_mat_content"] = ["1"]
        b.entry = str(root / "wrong_mat_content.mat")
        b.err("wrong_mat_content", "wrong_mat_content", root / "wrong_mat_content.mat",
              "no ECG struct with a data field (not a CPSC 2018 .mat file)")

    n = base.shape[1]
    if not na("header_more_samples"):
        rid, hea, f = b.record("header_more_samples", base, **({"n_header": n + 500} if chal else {"sig_len": n + 500}))
        b.err("header_more_samples", rid, f, f"truncated ({n} samples per lead, header says {n + 500})" if chal
              else f"truncated signal file ({n * 24} bytes, header needs {(n + 500) * 24})")

    if not na("header_fewer_samples"):
        b.ok("header_fewer_samples", base[:, :n - 500], base_hr, write_sig=base,
             **({"n_header": n - 500} if chal else {"sig_len": n - 500}))

    if chal or cpsc:
        val = to_val(base).T if chal else base.T
        b.ok("transposed_matrix", base, base_hr, **({"val": val} if chal else {"write_sig": val}))

    # -- header fields
    if not cpsc:
        bad_gain = {"gain_zero": ("0", "ADC gain 0 of lead II: uncalibrated, its amplitude in mV is unknown"),
                    "gain_negative": ("-1000", "negative ADC gain -1000 of lead II"),
                    "gain_malformed": ("1000(x)", "malformed gain/baseline/units field '1000(x)/mV' of lead II")}
        for kind, (tok, why) in bad_gain.items():
            gains = [f"{GAIN:g}"] * 12
            gains[1] = tok
            if chal:
                rid, hea, f = b.record(kind, base, gains=gains)
            else:
                rid, hea, f = b.record(kind, base, gain=gains)
                if tok == "1000(x)":  # write_dat adds "(baseline)": make the field exactly 1000(x)/mV
                    hea.write_text(hea.read_text().replace("1000(x)(0)/mV", "1000(x)/mV"))
            b.err(kind, rid, hea, why)

        # a baseline of 2000 ADC units with the samples offset by it: the same mV signal
        if chal:
            val = to_val(base).astype(np.int32) + 2000
            gains = [f"{GAIN:g}(2000)"] * 12
            b.ok("baseline_offset", base, base_hr, val=val.astype(np.int16), gains=gains)
        else:
            b.ok("baseline_offset", base, base_hr, baseline=[2000] * 12)

        k = b.ok("non_utf8_header_comment", base, base_hr)
        hea = Path(k.file).with_suffix(".hea")
        hea.write_bytes(hea.read_bytes() + "#Sx: Übelkeit, Brustschmerz (ärztlich)\n".encode("latin-1"))

        rid, hea, f = b.record("non_utf8_lead_name", base)
        raw = hea.read_bytes()
        hea.write_bytes(raw.replace(b" V1\n", " V1\xe9\n".encode("latin-1"), 1))
        b.err("non_utf8_lead_name", rid, hea, "non-ASCII byte 0xe9 in line 8; WFDB headers are ASCII outside # comments")

        rid, hea, f = b.record("micro_sign_units", base)
        hea.write_bytes(hea.read_bytes().replace(b"/mV", "/µV".encode(), 1))
        b.err("micro_sign_units", rid, hea, "non-ASCII byte 0xc2 in line 2; WFDB headers are ASCII outside # comments")

    # -- header quirks of the official releases (Challenge 2020/2021, LUDB)
    if not cpsc:
        k = b.ok("record_name_with_extension", base, base_hr)
        hea = Path(k.entry)
        edit_record_line(hea, lambda f: [f[0] + Path(k.file).suffix, *f[1:4], "05-May-2020", "14:50:55"])
        k = b.ok("record_line_date_time", base, base_hr)
        edit_record_line(Path(k.entry), lambda f: [*f[:4], "05-May-2020", "14:50:55"])
        k = b.ok("float_header_fields", base, base_hr)
        floats_in_signal_lines(Path(k.entry))
        low = [n.lower() for n in LEADS]
        b.ok("lead_name_case", base, base_hr, names=low)
    if not na("unknown_demographics"):
        if chal:
            k = b.ok("unknown_demographics", base, base_hr)
            hea = Path(k.entry)
            hea.write_text(hea.read_text().replace("#Age: 61", "#Age: NaN").replace("#Sex: Male", "#Sex: Unknown"))
        else:
            k = b.ok("unknown_demographics", base, base_hr, comments=("Age: NaN", "Sex: Unknown"))
        k.demographics = (None, None)

    latin1 = None
    if not na("non_utf8_index_file"):   # written by b.finish(): the record's row (or the csv header) in Latin-1
        latin1 = b.ok("non_utf8_index_file", base, base_hr).record

    # -- sample values
    nan = base.copy()
    nan[8, 1000:1100] = np.nan
    if chal:
        val = to_val(np.nan_to_num(nan))
        val[8, 1000:1100] = -32768   # WFDB's invalid sample of format 16
        rid, hea, f = b.record("nan_samples", base, val=val)
    else:
        rid, hea, f = b.record("nan_samples", nan)
    b.err("nan_samples", rid, f, "NaN/Inf samples in lead(s) V3")

    if chal or cpsc:
        inf = base.copy()
        inf[4, 10] = np.inf
        inf[11, 20] = -np.inf
        rid, hea, f = b.record("inf_samples", inf, **({"val": inf * GAIN} if chal else {}))
        b.err("inf_samples", rid, f, "NaN/Inf samples in lead(s) aVL, V6")

    rid, hea, f = b.record("all_zero", np.zeros_like(base))
    b.err("all_zero", rid, f, "every lead is flat (peak-to-peak < 5 uV)")
    rid, hea, f = b.record("all_constant", np.full_like(base, 0.7))
    b.err("all_constant", rid, f, "every lead is flat (peak-to-peak < 5 uV)")

    const = base.copy()
    const[[2, 7, 9]] = np.array([0.2, -0.35, 1.1])[:, None]
    k = b.ok("constant_leads", const, base_hr)
    k.warning = f"{k.file}: flat lead(s) III, V2, V4 (peak-to-peak < 5 uV); their features will be NaN"
    k.nan_leads = ("III", "V2", "V4")

    sat = base.copy()
    sat[7] = np.clip(base[7] * 60.0, -32.767, 32.767)  # V2 amplified into the int16 rails at gain 1000
    k = b.ok("saturated_lead", sat, base_hr)
    k.low_quality_leads = ("V2",)

    # -- leads
    rid, hea, f = b.record("six_leads", base[:6], names=LEADS[:6])
    if cpsc:
        b.err("six_leads", rid, f, "6 leads in ECG.data, need the 12 standard leads")
    else:
        b.err("six_leads", rid, hea, f"6 leads ({', '.join(LEADS[:6])}), need the 12 standard leads")

    frank = np.vstack([base, 0.8 * base[[0]], 0.8 * base[[5]], -0.6 * base[[7]]])
    if cpsc:
        rid, hea, f = b.record("fifteen_leads", frank)
        b.err("fifteen_leads", rid, f, "15 leads in ECG.data, need the 12 standard leads")
    else:
        b.ok("fifteen_leads", base, base_hr, names=PTB15, write_sig=frank)

    if not cpsc:
        names = list(LEADS)
        names[9] = "V2"     # V4 labelled V2: V2 twice, V4 missing
        rid, hea, f = b.record("duplicate_lead_name", base, names=names)
        b.err("duplicate_lead_name", rid, hea, "lead V2 appears twice")

        order = [11, 3, 0, 7, 5, 1, 9, 2, 10, 4, 8, 6]
        b.ok("shuffled_leads", base, base_hr, names=[LEADS[i] for i in order], write_sig=base[order])

    # -- durations and rates
    short, _ = s.get(seconds=1.0, k=11)
    rid, hea, f = b.record("one_second", short)
    b.err("one_second", rid, f, "record is 1.00 s long, under the 2 s minimum")
    long, long_hr = s.get(seconds=300.0, k=12)
    b.ok("five_minutes", long, long_hr)
    if not cpsc:
        slow, _ = s.get(fs=40.0, k=13)
        rid, hea, f = b.record("fs_40", slow, fs=40.0)
        b.err("fs_40", rid, f, "sampling rate 40 Hz is under 50 Hz, too low to see a QRS")
        for rate in (100, 257, 1000):
            sig, hr = s.get(fs=float(rate), k=14)
            b.ok(f"fs_{rate}", sig, hr, fs=float(rate))

    # -- labels
    if fmt == "wfdb":
        rid, hea, f = b.record("unknown_label_code", base, label="Nope")
        b.err("unknown_label_code", rid, root / "labels.csv",
              f"row unknown_label_code: unknown class 'Nope' (expected one of {', '.join(CPSC9)})", sep=" ")
        rid, hea, f = b.record("malformed_label_code", base, label="AF|RBBB")
        b.err("malformed_label_code", rid, root / "labels.csv",
              f"row malformed_label_code: unknown class 'AF|RBBB' (expected one of {', '.join(CPSC9)})", sep=" ")
    elif chal:
        k = b.ok("unknown_label_code", base, base_hr, label="999999999,426783006")
        k.raw_codes = ("999999999", "426783006")
        rid, hea, f = b.record("malformed_label_code", base, label="4267x83006")
        b.err("malformed_label_code", rid, hea, "malformed SNOMED code '4267x83006' in #Dx")
    elif cpsc:
        rid, hea, f = b.record("unknown_label_code", base, label="12")
        b.err("unknown_label_code", rid, root / "REFERENCE.csv", "row unknown_label_code: unknown CPSC label code '12' (expected 1-9)", sep=" ")
        rid, hea, f = b.record("malformed_label_code", base, label="x1")
        b.err("malformed_label_code", rid, root / "REFERENCE.csv", "row malformed_label_code: unknown CPSC label code 'x1' (expected 1-9)", sep=" ")
    else:
        db = root / "ptbxl_database.csv"
        rid, hea, f = b.record("unknown_label_code", base, label="{'XYZ': 100.0}")
        b.kinds.append(Kind("unknown_label_code", fmt, rid, str(db),
                            f"{db} row ecg_id={rid}: unknown SCP statement 'XYZ' (not in scp_statements.csv)", single=False))
        rid, hea, f = b.record("malformed_label_code", base, label="{'NORM': 100.0")
        b.kinds.append(Kind("malformed_label_code", fmt, rid, str(db), f"{db} row ecg_id={rid}: malformed scp_codes (",
                            prefix=True, single=False))

    # -- the folder itself
    if ptb:
        # the same ecg_id on two rows of ptbxl_database.csv: the first row is read, the second is an error
        first = b.ok("duplicate_record_id", base, base_hr)
        b.ptb_rows.append(dict(b.ptb_rows[-1], patient_id=9999))
        db = root / "ptbxl_database.csv"
        line = len(b.ptb_rows) + 1        # csv lines: the header is line 1
        b.kinds.append(Kind("duplicate_record_id", fmt, f"{first.record} (line {line})", str(db),
                            f"{db} line {line}: duplicate ecg_id {first.record} (also on line {line - 1})", single=False))
    else:
        b.ok("duplicate_record_id", base, base_hr, sub="dup_a")
        rid, hea, f = b.record("duplicate_record_id", base, sub="dup_b")
        shown = hea if hea is not None else f
        first_file = (root / "dup_a" / shown.name)
        b.kinds.append(Kind("duplicate_record_id", fmt, f"dup_b/{rid}", str(shown),
                            f"{shown}: duplicate record id duplicate_record_id (also {first_file})", single=False))
    loop_dir = (root / "records500" / "00000") if ptb else root / "dup_a"
    os.symlink(root, loop_dir / "loop_to_root")
    (root / "nested" / "deeper").mkdir(parents=True)
    os.symlink(root / "nested", root / "nested" / "deeper" / "loop_up")
    (root / "empty_subfolder").mkdir()
    b.finish(latin1)
    return b.kinds, good, ["symlink_loop", "empty_subfolder"]


def build_empty(fmt: str, root: Path) -> Path:
    """A folder of format `fmt` holding no record."""
    root.mkdir(parents=True)
    if fmt == "cpsc2018":
        (root / "REFERENCE.csv").write_text("Recording,First_label,Second_label,Third_label\r\nA0001,1,,\r\n")
    elif fmt == "ptbxl":
        (root / "records500" / "00000").mkdir(parents=True)
        (root / "ptbxl_database.csv").write_text(
            "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n"
            "1,1,60,0,\"{'NORM': 100.0}\",1,records100/00000/00001_lr,records500/00000/00001_hr\n")
        (root / "scp_statements.csv").write_text(SCP_STATEMENTS)
    elif fmt == "challenge":
        (root / "sub").mkdir()
    return root


def build(root: str | Path) -> Corpus:
    """Write the whole corpus under `root` (created) and return what it holds."""
    root = Path(root) / ODD_DIR
    s = Signals()
    folders, empty, kinds, good, folder_kinds = {}, {}, [], {}, {}
    for fmt in FORMATS:
        folders[fmt] = root / fmt
        ks, gd, fk = build_format(fmt, folders[fmt], s)
        kinds += ks
        good[fmt] = gd
        folder_kinds[fmt] = fk + ["empty_dataset", "markup_in_path"]
        empty[fmt] = build_empty(fmt, root / f"{fmt}-empty")
    (root / "kinds.json").write_text(json.dumps(
        [{"kind": k.name, "format": k.format, "record": k.record, "expect": k.expect} for k in kinds], indent=1))
    return Corpus(root, folders, empty, kinds, good, folder_kinds)

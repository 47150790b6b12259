"""Shared test helpers: the real-data folder beside the repo, and writers of hand-made records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from ecgfeat.vocab import LEADS

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
SKIP_REASON = "../shared/data not present: real-data tests need the shared folder beside the repo"


def shared_data_path() -> Path:
    """../shared/data relative to the repo root, or skip the calling test."""
    if not SHARED_DATA.is_dir():
        pytest.skip(SKIP_REASON)
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth200(tmp_path_factory) -> Path:
    """200 records of the embedded synthetic dataset (seed 0), written once per test session."""
    from ecgfeat.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "s200"
    synthesize(out, n=200, seed=0, jobs=2)
    return out


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


class Ecg:
    """Writers of small records. Lead k of a test signal is amp(k) * sin(2 pi freq(k) t)."""

    @staticmethod
    def amp(k: int) -> float:
        return 0.1 * (k + 1)          # mV: 0.1 .. 1.5, distinct per lead

    @staticmethod
    def freq(k: int) -> float:
        return 1.0 + 0.5 * k          # Hz: all far below the Nyquist rate of any test fs

    @classmethod
    def sines(cls, n_leads: int, fs: float, seconds: float, leads=None) -> np.ndarray:
        """(n_leads, n) mV; `leads` picks which k each row uses (default 0..n_leads-1)."""
        t = np.arange(int(round(fs * seconds))) / fs
        ks = range(n_leads) if leads is None else leads
        return np.stack([cls.amp(k) * np.sin(2 * np.pi * cls.freq(k) * t) for k in ks])

    @staticmethod
    def write_wfdb(folder: Path, name: str, sig: np.ndarray, fs: float, names=LEADS,
                   units: str = "mV", comments=None) -> Path:
        """A `.hea` + `.dat` (format 16) record; `sig` is (n_leads, n) in `units`."""
        folder.mkdir(parents=True, exist_ok=True)
        n = sig.shape[0]
        gain = 1000.0 if units == "mV" else 1.0
        wfdb.wrsamp(name, fs=fs, units=[units] * n, sig_name=list(names), p_signal=sig.T.astype(np.float64),
                    fmt=["16"] * n, adc_gain=[gain] * n, baseline=[0] * n, write_dir=str(folder),
                    comments=comments or [])
        return folder / f"{name}.hea"

    @staticmethod
    def write_challenge(folder: Path, name: str, sig_mv: np.ndarray, fs: float = 500, names=LEADS,
                        dx: str = "426783006", age="56", sex="Female", mat_format: str = "4") -> Path:
        """A Challenge 2020/2021 record: `.mat` with `val` int16 (gain 1000/mV) + header with #Dx."""
        folder.mkdir(parents=True, exist_ok=True)
        val = np.round(sig_mv * 1000).astype(np.int16)
        scipy.io.savemat(folder / f"{name}.mat", {"val": val}, format=mat_format)
        lines = [f"{name} {len(names)} {fs:g} {val.shape[1]}"]
        lines += [f"{name}.mat 16+24 1000/mV 16 0 {val[i, 0]} 0 0 {lead}" for i, lead in enumerate(names)]
        lines += [f"#Age: {age}", f"#Sex: {sex}", f"#Dx: {dx}", "#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
        (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
        return folder / f"{name}.hea"

    @staticmethod
    def write_cpsc(folder: Path, name: str, data_mv: np.ndarray, age=52, sex="Male") -> Path:
        """A CPSC 2018 original `.mat`: struct ECG with sex, age, data (12 x N, mV)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.mat"
        scipy.io.savemat(path, {"ECG": {"sex": sex, "age": age, "data": data_mv}})
        return path

    @staticmethod
    def write_reference(folder: Path, rows: dict[str, list[str]]) -> Path:
        lines = ["Recording,First_label,Second_label,Third_label"]
        for rid, codes in rows.items():
            lines.append(",".join([rid] + list(codes) + [""] * (3 - len(codes))))
        path = folder / "REFERENCE.csv"
        path.write_text("\r\n".join(lines) + "\r\n")
        return path

    @classmethod
    def bad_wfdb_folder(cls, root: Path) -> dict[str, str]:
        """Two good records and one of each bad kind; returns {record: expected start of reason}."""
        sig = cls.sines(12, 500, 4)
        cls.write_wfdb(root, "good_dat", sig, 500)
        cls.write_challenge(root / "sub", "good_mat", sig)
        cls.write_wfdb(root, "trunc", sig, 500)
        with open(root / "trunc.dat", "r+b") as fh:
            fh.truncate(10_000)
        cls.write_challenge(root, "zero", sig)
        (root / "zero.mat").write_bytes(b"")
        cls.write_challenge(root, "cut", sig)
        (root / "cut.mat").write_bytes((root / "cut.mat").read_bytes()[:5000])
        cls.write_wfdb(root, "nodat", sig, 500)
        (root / "nodat.dat").unlink()
        nan = sig.copy()
        nan[8, 100:200] = np.nan
        cls.write_wfdb(root, "nanlead", nan, 500)
        cls.write_wfdb(root, "flat", np.zeros_like(sig), 500)
        cls.write_wfdb(root, "eight", sig[[0, 1, 6, 7, 8, 9, 10, 11]], 500,
                       names=["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"])
        cls.write_challenge(root, "baddx", sig, dx="abc")
        cls.write_wfdb(root, "short", cls.sines(12, 500, 1.5), 500)
        cls.write_wfdb(root, "escape", sig, 500)
        text = (root / "escape.hea").read_text().replace("escape.dat", "../escape.dat")
        (root / "escape.hea").write_text(text)
        return {
            "trunc": f"{root / 'trunc.dat'}: truncated signal file (10000 bytes, header needs 48000)",
            "zero": f"{root / 'zero.mat'}: empty file (0 bytes)",
            "cut": f"{root / 'cut.mat'}: unreadable or truncated .mat file",
            "nodat": f"{root / 'nodat.dat'}: signal file named in nodat.hea is missing",
            "nanlead": f"{root / 'nanlead.dat'}: NaN/Inf samples in lead(s) V3",
            "flat": f"{root / 'flat.dat'}: every lead is flat (peak-to-peak < 5 uV)",
            "eight": f"{root / 'eight.hea'}: 8 leads (I, II, V1, V2, V3, V4, V5, V6), need the 12 standard leads",
            "baddx": f"{root / 'baddx.hea'}: malformed SNOMED code 'abc' in #Dx",
            "short": f"{root / 'short.dat'}: record is 1.50 s long, under the 2 s minimum",
            "escape": f"{root / 'escape.hea'}: signal file name '../escape.dat' points outside the record's folder",
        }

    @classmethod
    def cpsc_folder(cls, root: Path) -> dict[str, str]:
        """CPSC 2018 records, good and bad; returns {record: exact reason}."""
        data = cls.sines(12, 500, 10)
        cls.write_cpsc(root, "A0001", data, age=61, sex="Female")
        cls.write_cpsc(root, "A0002", data)
        cls.write_cpsc(root, "A0003", data)
        (root / "A0004.mat").write_bytes(b"")
        cls.write_cpsc(root, "A0005", data[:8])
        cls.write_cpsc(root, "A0006", data)  # no REFERENCE row: a record without codes
        cls.write_reference(root, {"A0001": ["2", "5"], "A0002": ["1"], "A0003": ["12"], "A0004": ["3"],
                                   "A0005": ["4"], "A0100": ["1"], "A0101": ["9"]})
        return {
            "A0003": f"{root / 'REFERENCE.csv'} row A0003: unknown CPSC label code '12' (expected 1-9)",
            "A0004": f"{root / 'A0004.mat'}: empty file (0 bytes)",
            "A0005": f"{root / 'A0005.mat'}: 8 leads in ECG.data, need the 12 standard leads",
        }


@pytest.fixture
def ecg() -> type[Ecg]:
    return Ecg


# ----------------------------------------------------------------------------- fault-trial tally

TRIALS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def trial_log(request) -> dict:
    """{kind: {"run": n, "ok": n, "phases": {phase: n}}}: the kill / concurrency trials of
    test_faults.py count themselves here; the terminal summary prints the tally."""
    return request.config.stash.setdefault(TRIALS, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    log = config.stash.get(TRIALS, None)
    if not log:
        return

    def part(kind: str, label: str) -> str | None:
        t = log.get(kind)
        if not t:
            return None
        phases = ", ".join(f"{n} {p}" for p, n in t.get("phases", {}).items() if n)
        return f"{t['run']} {label} ({t['ok']} ok{'; ' + phases if phases else ''})"

    kills = [p for p in (part("extract", "extract"), part("train", "train")) if p]
    line = []
    if kills:
        line.append("kill trials: " + ", ".join(kills))
    conc = part("concurrency", "runs of two extracts at once")
    if conc:
        line.append("concurrency trials: " + conc)
    terminalreporter.write_line("; ".join(line))

"""The SPH and LUDB part of the hardening corpus: the quirks of those releases (`EXTRA_KINDS`).

`build_extra(root)` writes one SPH folder (records/<id>.h5 with a float16 `ecg` in mV, metadata.csv)
and one LUDB folder (data/N.hea + .dat with lower-case lead names, ludb.csv with multi-line cells as
the release writes them), each with good records and one record of each of its kinds, and returns
what reading each must give, as `build.build` does for the other formats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgfeat.vocab import LEADS

from .build import FS, GOOD, ODD_DIR, Kind, Signals, quantised, write_dat


def write_h5(path: Path, **datasets) -> Path:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


def build_sph(root: Path, s: Signals) -> tuple[list[Kind], list[Kind]]:
    """An SPH folder (records/<id>.h5 holding float16 `ecg` in mV, metadata.csv): good records and
    each SPH kind; returns (kinds, good records)."""
    base, hr = s.get(k=10)
    f16 = base.astype(np.float16)
    rows: list[tuple[str, str, int]] = []     # (ECG_ID, AHA_Code, N)
    kinds, good = [], []

    def ok(name: str, written: np.ndarray, read: np.ndarray, hr_bpm: float) -> Kind:
        path = write_h5(root / "records" / f"{name}.h5", ecg=written)
        rows.append((name, "1", read.shape[1]))
        return Kind(name, "sph", name, str(path), "ok", entry=str(path), fs=FS, n_samples=read.shape[1],
                    signal=read.astype(np.float16).astype(np.float32), atol=1e-6, hr_bpm=hr_bpm)

    def err(name: str, reason: str, code: str = "1", **datasets) -> Kind:
        path = write_h5(root / "records" / f"{name}.h5", **datasets)
        rows.append((name, code, base.shape[1]))
        file = root / METADATA_SPH if code != "1" else path
        return Kind(name, "sph", name, str(file), f"{file}{' row ' + name if code != '1' else ''}: {reason}",
                    entry=str(path))

    for i in range(GOOD):
        sig, h = s.get(k=i)
        k = ok(f"good{i}", sig.astype(np.float16), sig, h)
        k.name = "good"
        good.append(k)
    kinds.append(err("sph_no_ecg_dataset", "no 'ecg' dataset in the HDF5 file", signal=f16))
    kinds.append(err("sph_wrong_shape", f"'ecg' is not a 2-D numeric matrix (shape ({base.shape[1]},))", ecg=f16[1]))
    kinds.append(ok("sph_transposed", f16.T, base, hr))
    nan = f16.copy()
    nan[8, 1000:1100] = np.nan
    kinds.append(err("sph_float16_nan", "NaN/Inf samples in lead(s) V3", ecg=nan))
    kinds.append(err("sph_malformed_aha_code", "malformed AHA statement '5O+x' (expected codes like 50 or 50+346)",
                     code="5O+x", ecg=f16))
    lines = ["ECG_ID,AHA_Code,Patient_ID,Age,Sex,N,Date"]
    lines += [f'{rid},"{code}",P{i:03d},60,M,{n},2020-01-01' for i, (rid, code, n) in enumerate(rows)]
    (root / METADATA_SPH).write_text("\n".join(lines) + "\n")
    return kinds, good


LUDB_COLUMNS = ("ID,Sex,Age,Rhythms,Electric axis of the heart,Conduction abnormalities,Extrasystolies,"
                "Hypertrophies,Cardiac pacing,Ischemia,Non-specific repolarization abnormalities,Other states")


def build_ludb(root: Path, s: Signals) -> tuple[list[Kind], list[Kind]]:
    """A LUDB folder (data/N.hea + .dat with lower-case lead names, ludb.csv at the root, its cells
    multi-line like the release's): good records and each LUDB kind."""
    base, hr = s.get(k=10)
    low = [n.lower() for n in LEADS]
    rows, kinds, good = [], [], []

    def ok(name: str, sig: np.ndarray, hr_bpm: float, row: str | None, codes=None) -> Kind:
        hea, dat = write_dat(root / "data", name, sig, FS, low)
        if row is not None:
            rows.append(f'{name},"M\n","60\n",{row}')
        return Kind(name, "ludb", name, str(dat), "ok", entry=str(hea), fs=FS, n_samples=sig.shape[1],
                    signal=quantised(sig).astype(np.float32), hr_bpm=hr_bpm, atol=1.5e-3, raw_codes=codes)

    normal = 'Sinus rhythm,"Electric axis of the heart: normal",,,,,,,'
    for i in range(GOOD):
        sig, h = s.get(k=i)
        k = ok(str(i + 1), sig, h, normal, ("Sinus rhythm", "Electric axis of the heart: normal"))
        k.name = "good"
        good.append(k)
    k = ok("7", base, hr, None, ())
    k.name = "ludb_csv_missing_row"
    kinds.append(k)
    k = ok("9", base, hr, 'Sinus rhythm,,"Ritmo ignoto 17\nQRS ☃",,,,,,',
           ("Sinus rhythm", "Ritmo ignoto 17", "QRS ☃"))
    k.name = "ludb_unparseable_diagnosis"
    kinds.append(k)
    (root / "ludb.csv").write_text(LUDB_COLUMNS + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return kinds, good


METADATA_SPH = "metadata.csv"


def build_extra(root: str | Path) -> dict[str, tuple[Path, list[Kind], list[Kind]]]:
    """The SPH and LUDB corpus folders under `root`: {format: (folder, kinds, good records)}."""
    root = Path(root) / ODD_DIR
    s = Signals()
    out = {}
    for fmt, builder in (("sph", build_sph), ("ludb", build_ludb)):
        folder = root / fmt
        folder.mkdir(parents=True)
        kinds, good = builder(folder, s)
        out[fmt] = (folder, kinds, good)
    return out

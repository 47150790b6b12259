"""Property-based tests (hypothesis): the readers and feature extraction on random valid input.

Readers: any valid WFDB / Challenge / CPSC 2018 record written with random rates, lengths, gains,
baselines, units, lead orders, lead-name spellings and extra leads reads back as its 12 standard
leads in the standard order, in mV within the ADC quantisation, at its own rate. Damaged copies of
a valid record (a header or signal file cut or with bytes changed) give a Record or a one-line
RecordError naming a file of the record, never another exception.

Features: `extract_features` on random valid 12-lead signals (random rate and length, synthetic
beats at a random heart rate, baseline wander, mains, noise; or no beats at all) never raises and
returns exactly the declared columns, with values in their units: intervals in ms within what the
delineator can measure, amplitudes in mV within the lead's own range, rates, angles, fractions and
counts in their ranges; the heart rate and beat count are those of the synthetic beats.

Examples are bounded (see SETTINGS) so that the file runs in well under a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import scipy.io
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ecgfeat.datasets import open_dataset
from ecgfeat.features import expert, rhythm
from ecgfeat.features.extract import extract_features
from ecgfeat.features.settings import FeatureSettings
from ecgfeat.features.tsfresh_fast import FAST_SET, feature_names as tsfresh_names
from ecgfeat.labels import labels_for
from ecgfeat.signal.quality import feature_names as quality_names
from ecgfeat.record import Record, RecordError
from ecgfeat.vocab import LEADS, SNOMED_TO_CPSC9

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FRANK = ["vx", "vy", "vz"]
seeds = st.integers(0, 2**32 - 1)


def spellings(lead: str) -> list[str]:
    return [lead, lead.upper(), lead.lower()]


def random_signal(rng, n_leads: int, n: int, fs: float) -> np.ndarray:
    """(n_leads, n) mV: a few sines per lead (0.5-20 Hz, under Nyquist) plus noise, peak-to-peak >= 0.1 mV."""
    t = np.arange(n) / fs
    out = np.empty((n_leads, n))
    for k in range(n_leads):
        freqs = rng.uniform(0.5, min(20.0, fs / 4), size=3)
        amps = rng.uniform(0.05, 2.0, size=3)
        out[k] = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for a, f in zip(amps, freqs))
        out[k] += rng.normal(0, 0.01, n)
    return out


# ------------------------------------------------------------------ readers: round trips


@st.composite
def wfdb_records(draw):
    fs = draw(st.sampled_from([50.0, 100.0, 125.0, 250.0, 257.0, 360.0, 500.0, 1000.0]) | st.floats(50, 1000).map(lambda x: round(x, 1)))
    seconds = draw(st.floats(2.0, 12.0))
    extra = draw(st.lists(st.sampled_from(FRANK), unique=True, max_size=3))
    names = draw(st.permutations([*LEADS, *extra]))
    spelled = [draw(st.sampled_from(spellings(n))) for n in names]
    gain = draw(st.sampled_from([100.0, 200.0, 400.0, 1000.0, 2000.0, 6.25]))
    baseline = draw(st.integers(-1000, 1000))
    unit = draw(st.sampled_from(["mV", "uV"]))
    return fs, max(2.0, seconds), names, spelled, gain, baseline, unit, draw(seeds)


def write_wfdb(folder: Path, name: str, phys: np.ndarray, fs: float, names, gain, baseline, unit) -> np.ndarray:
    """Format-16 record of `phys` (in `unit`); returns what it must read as, in mV, per file lead."""
    digital = np.clip(np.round(phys * gain) + baseline, -32767, 32767).astype("<i2")
    digital.T.tofile(folder / f"{name}.dat")
    lines = [f"{name} {len(names)} {fs:g} {phys.shape[1]}"]
    lines += [f"{name}.dat 16 {gain:g}({baseline})/{unit} 16 0 {digital[i, 0]} 0 0 {lead}" for i, lead in enumerate(names)]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n#Age: 50\n")
    return (digital.astype(np.float64) - baseline) / gain * (1e-3 if unit == "uV" else 1.0)


@SETTINGS
@given(wfdb_records())
def test_any_valid_wfdb_record_reads_back(params):
    fs, seconds, names, spelled, gain, baseline, unit, seed = params
    rng = np.random.default_rng(seed)
    n = int(round(fs * seconds)) + 1
    scale = 1000.0 if unit == "uV" else 1.0
    phys = random_signal(rng, len(names), n, fs) * scale * min(1.0, 30000 / (6 * scale * gain))  # fits int16
    with tempfile.TemporaryDirectory() as tmp:
        want = write_wfdb(Path(tmp), "r1", phys, fs, spelled, gain, baseline, unit)
        ds = open_dataset(Path(tmp) / "r1.hea")
        rec = ds.read(ds.refs()[0])
    order = [names.index(lead) for lead in LEADS]
    assert (rec.fs, rec.signal.shape, rec.signal.dtype, rec.leads) == (fs, (12, n), np.float32, LEADS)
    np.testing.assert_allclose(rec.signal, want[order], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rec.signal, phys[order] / scale, rtol=0, atol=0.5 / gain / scale * 1.001 + 1e-6)
    res = rec.resampled(500.0)
    assert res.fs == 500.0 and abs(res.duration_s - rec.duration_s) <= 2 / 500 + 1e-3 * rec.duration_s


@st.composite
def challenge_records(draw):
    fs = draw(st.sampled_from([100.0, 257.0, 500.0, 1000.0]))
    seconds = draw(st.floats(2.0, 12.0))
    names = draw(st.permutations([*LEADS, *draw(st.lists(st.sampled_from(FRANK), unique=True, max_size=3))]))
    gain = draw(st.sampled_from([200.0, 1000.0, 4880.0]))
    baseline = draw(st.integers(-500, 500))
    known = sorted(SNOMED_TO_CPSC9)
    dx = draw(st.lists(st.sampled_from(known) | st.integers(10**5, 10**12).map(str), min_size=1, max_size=4, unique=True))
    return fs, seconds, names, gain, baseline, dx, draw(st.sampled_from(["4", "5"])), draw(st.booleans()), draw(seeds)


@SETTINGS
@given(challenge_records())
def test_any_valid_challenge_record_reads_back(params):
    fs, seconds, names, gain, baseline, dx, mat_format, transposed, seed = params
    rng = np.random.default_rng(seed)
    n = int(round(fs * seconds)) + 1
    phys = random_signal(rng, len(names), n, fs) * min(1.0, 30000 / (gain * 6))
    val = (np.round(phys * gain) + baseline).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        scipy.io.savemat(Path(tmp) / "C1.mat", {"val": val.T if transposed else val}, format=mat_format)
        lines = [f"C1 {len(names)} {fs:g} {n}"]
        lines += [f"C1.mat 16+24 {gain:g}({baseline})/mV 16 0 {val[i, 0]} 0 0 {lead}" for i, lead in enumerate(names)]
        lines += ["#Age: 70", "#Sex: Female", f"#Dx: {','.join(dx)}"]
        (Path(tmp) / "C1.hea").write_text("\n".join(lines) + "\n")
        ds = open_dataset(Path(tmp))
        rec = ds.read(ds.refs()[0])
    assert ds.format == "challenge"
    order = [names.index(lead) for lead in LEADS]
    assert (rec.fs, rec.signal.shape, rec.leads, rec.age, rec.sex) == (fs, (12, n), LEADS, 70.0, "F")
    np.testing.assert_allclose(rec.signal, (val[order] - baseline) / gain, rtol=1e-6, atol=1e-6)
    # every code is kept, known or not; the cpsc9 classes are those of the known ones
    assert rec.codes == tuple(dx) and labels_for(rec, "raw") == dx
    classes = {SNOMED_TO_CPSC9[c] for c in dx if c in SNOMED_TO_CPSC9}
    if len(classes) > 1:
        classes.discard("Normal")
    assert set(labels_for(rec, "cpsc9")) == classes


@SETTINGS
@given(st.floats(2.0, 20.0), st.booleans(), st.integers(0, 120), st.sampled_from(["Male", "Female"]), seeds)
def test_any_valid_cpsc_record_reads_back(seconds, transposed, age, sex, seed):
    rng = np.random.default_rng(seed)
    data = random_signal(rng, 12, int(500 * seconds), 500.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "A0001.mat"
        scipy.io.savemat(path, {"ECG": {"sex": sex, "age": age, "data": data.T if transposed else data}})
        (Path(tmp) / "REFERENCE.csv").write_text("Recording,First_label,Second_label,Third_label\nA0001,2,5,\n")
        ds = open_dataset(Path(tmp))
        rec = ds.read(ds.refs()[0])
    assert ds.format == "cpsc2018"
    assert (rec.fs, rec.signal.shape, rec.leads, rec.age, rec.sex) == (500.0, data.shape, LEADS, float(age), sex[0])
    np.testing.assert_array_equal(rec.signal, data.astype(np.float32))
    assert labels_for(rec, "cpsc9") == ["AF", "RBBB"]


# ------------------------------------------------------------------ readers: damaged files


def _valid_record(folder: Path, kind: str, rng) -> tuple[Path, Path]:
    sig = random_signal(rng, 12, 2000, 500.0)
    val = np.round(sig * 1000).astype(np.int16)
    if kind == "wfdb":
        write_wfdb(folder, "d1", sig, 500.0, list(LEADS), 1000.0, 0, "mV")
        return folder / "d1.hea", folder / "d1.dat"
    if kind == "challenge":
        scipy.io.savemat(folder / "d1.mat", {"val": val}, format="4")
        lines = ["d1 12 500 2000"] + [f"d1.mat 16+24 1000/mV 16 0 {val[i, 0]} 0 0 {lead}" for i, lead in enumerate(LEADS)]
        (folder / "d1.hea").write_text("\n".join(lines + ["#Dx: 426783006"]) + "\n")
        return folder / "d1.hea", folder / "d1.mat"
    scipy.io.savemat(folder / "d1.mat", {"ECG": {"sex": "Male", "age": 40, "data": sig}})
    return folder / "d1.mat", folder / "d1.mat"


def _damage(raw: bytes, how: str, pos: float, junk: bytes) -> bytes:
    i = int(pos * len(raw))
    if how == "cut":
        return raw[:i]
    if how == "replace":
        return raw[:i] + junk + raw[i + len(junk):]
    return raw[:i] + junk + raw[i:]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(["wfdb", "challenge", "cpsc2018"]), st.sampled_from(["header", "signal"]),
       st.sampled_from(["cut", "replace", "insert"]), st.floats(0, 1), st.binary(min_size=1, max_size=12), seeds)
def test_a_damaged_record_is_a_record_or_a_named_one_line_error(kind, which, how, pos, junk, seed):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hea, sig = _valid_record(folder, kind, np.random.default_rng(seed))
        target = sig if which == "signal" or kind == "cpsc2018" else hea
        target.write_bytes(_damage(target.read_bytes(), how, pos, junk))
        ds = open_dataset(hea)
        try:
            rec = ds.read(ds.refs()[0])
        except RecordError as err:
            msg = str(err)
            assert "\n" not in msg and msg.startswith(str(folder)), msg
        else:
            assert isinstance(rec, Record) and rec.signal.shape[0] == 12 and rec.signal.dtype == np.float32
            assert np.isfinite(rec.signal).all() and rec.duration_s >= 2.0


# ------------------------------------------------------------------ features


def _gauss(t, mu, sd):
    return np.exp(-0.5 * ((t - mu) / sd) ** 2)


def synthetic_ecg(rng, fs: float, seconds: float, hr: float, beats: bool = True) -> tuple[np.ndarray, int]:
    """(12, n) mV: P-QRS-T beats at `hr` (RR jitter <= 3%) with per-lead amplitudes, baseline wander,
    mains and noise; returns it and the number of QRS complexes fully inside."""
    n = int(round(fs * seconds))
    t = np.arange(n) / fs
    x = np.zeros((12, n))
    count = 0
    if beats:
        rr = 60.0 / hr
        gains = rng.uniform(0.3, 1.5, size=(12, 5)) * rng.choice([-1, 1], size=(12, 1))
        qrs_sd = rng.uniform(0.008, 0.02)
        on = rng.uniform(0.3, 0.3 + rr)
        while on < seconds:
            waves = ((-0.16, 0.02, 0.15), (-0.02, 0.006, -0.1), (0.0, qrs_sd, 1.2), (0.025, 0.008, -0.3),
                     (min(0.25, 0.4 * rr), 0.04, 0.3))
            for (dt, sd, amp), g in zip(waves, gains.T):
                x += (g * amp)[:, None] * _gauss(t, on + dt, sd)[None, :]
            count += 0.1 <= on <= seconds - 0.1
            on += rr * rng.uniform(0.97, 1.03)
    x += rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6))[None, :]
    mains = rng.choice([50.0, 60.0])
    if mains < fs / 2:
        x += rng.uniform(0, 0.05) * np.sin(2 * np.pi * mains * t)[None, :]
    x += rng.normal(0, rng.uniform(0.002, 0.03), size=x.shape)
    if not beats:
        x += random_signal(rng, 12, n, fs)
    return x, count


DECLARED = {
    "expert": expert.feature_names(),
    "rhythm": rhythm.feature_names(),
    "tsfresh-fast": [f"{lead}__tsfresh__{name}" for lead in LEADS for name in tsfresh_names(FAST_SET)],
    "quality": quality_names(),
}
ALL = FeatureSettings()   # expert, rhythm, tsfresh (fast), quality

# what the delineator can measure at most (its windows in signal/delineate.py), ms: a QRS within 400 ms
# of search window plus EXTEND_MS (40) each side, a P of at most P_MAX_MS (200), a QT of at most
# QT_MAX_S (700) from the global onset, to which a lead's own onset adds up to 40 ms; RR >= 250 ms
INTERVAL_MAX = {"all": {"pr_ms": 400, "p_ms": 200, "qrs_ms": 480, "qt_ms": 700, "qtc_bazett_ms": 1400,
                        "qtc_fridericia_ms": 1112, "qt_dispersion_ms": 740},
                "lead": {"p_ms": 200, "qrs_ms": 480, "qt_ms": 740, "q_ms": 480, "r_ms": 480, "s_ms": 480,
                         "r_peak_time_ms": 480, "tpeak_tend_ms": 740}}
UNIT_RANGE = {"rs_ratio": (0, 1), "pnn50": (0, 1), "premature_fraction": (0, 1), "ectopic_fraction": (0, 1),
              "p_presence": (0, 1), "fwave_ratio": (0, 1.0001), "beat_corr": (-1.0001, 1.0001), "rr_cv": (0, 5),
              "rr_irregularity": (0, 10), "rr_sampen": (0, 10),
              # quality: indices and shares in [0, 1], correlations, the noise ratio and the QRS-to-residual dB
              "index": (0, 1), "lead_index_mean": (0, 1), "flat_fraction": (0, 1), "clipped_fraction": (0, 1),
              "jump_fraction": (0, 1), "lf_share": (0, 1), "hf_noise_ratio": (0, 100), "beat_match_corr": (-1.0001, 1.0001),
              "beat_qrs_corr": (-1.0001, 1.0001), "qrs_snr_db": (-100, 100),
              # morphology (expert 4): ratios, the precordial transition lead 1..7; rhythm's paced share
              "q_r_ratio": (0, np.inf), "t_symmetry": (0, np.inf), "transition_zone": (1, 7), "paced_share": (0, 1)}


def check_units(feats: dict[str, dict[str, float]], signal: np.ndarray) -> None:
    ptp = dict(zip(LEADS, np.ptp(signal, axis=1)))
    top = max(ptp.values())
    for table, row in feats.items():
        for name, v in row.items():
            lead, family, feat = name.split("__", 2)
            assert family == table.split("-")[0] and (lead in LEADS or lead == "all"), name
            assert isinstance(v, float), (name, type(v))
            assert not np.isinf(v), name
            if np.isnan(v) or family == "tsfresh":
                continue
            span = ptp[lead] if lead in LEADS else top
            if feat.endswith("_mv_per_lead"):   # a least-squares slope over 3-4 precordial leads: at most the
                pre = max(ptp[f"V{k}"] for k in range(1, 5))   # range of their R waves (<= 1.5 x their ptp)
                assert abs(v) <= 1.5 * pre + 0.05, (name, v, pre)
            elif feat.endswith("_mv"):          # an amplitude relative to the PR level: within the lead's range
                limit = 2 * (ptp["V1"] + max(ptp["V5"], ptp["V6"], ptp["aVL"], ptp["V3"])) if lead == "all" else 1.5 * span
                assert abs(v) <= limit + 0.05, (name, v, limit)
            elif feat.endswith("_mvms"):
                assert abs(v) <= 1.5 * span * 420 + 1, (name, v)
            elif feat.endswith("_mv_s"):
                assert abs(v) <= 3 * span / 0.04 + 1, (name, v)
            elif feat.endswith("_uv"):
                assert 0 <= v <= 1500 * top, (name, v)
            elif feat.endswith("_deg"):
                assert (0 if feat in ("qrst_angle_deg", "spatial_qrst_angle_deg") else -180) <= v <= 180, (name, v)
            elif feat.endswith("_bpm"):
                assert 20 <= v <= 300, (name, v)
            elif feat.startswith("rr_") and feat.endswith("_ms") or feat == "rmssd_ms":
                assert 0 <= v <= 3000, (name, v)
            elif feat.endswith("_ms"):
                assert 0 <= v <= INTERVAL_MAX["all" if lead == "all" else "lead"][feat], (name, v)
            elif feat in UNIT_RANGE:
                lo, hi = UNIT_RANGE[feat]
                assert lo <= v <= hi, (name, v)
            elif feat in ("t_polarity",):
                assert v in (-1.0, 0.0, 1.0), (name, v)
            elif feat in ("p_present", "credible_beats", "la_ra_reversal", "rsr_prime", "pathological_q", "qrs_fragmented",
                          "poor_r_progression", "low_voltage_limb", "low_voltage_precordial"):
                assert v in (0.0, 1.0), (name, v)
            elif feat in ("n_beats", "premature_count", "aberrant_premature_count", "qrs_extrema", "n_low_leads", "n_candidates",
                          "q_inferior_n", "q_anterior_n", "q_lateral_n"):
                assert v >= 0 and float(v).is_integer(), (name, v)
            else:
                raise AssertionError(f"{name}: a feature without a declared unit or range")


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([100.0, 128.0, 250.0, 257.0, 360.0, 500.0, 1000.0, None]), seeds)
@example(100.0, 0).via("slowest rate")
@example(1000.0, 1).via("fastest rate")
def test_features_of_any_valid_signal_are_the_declared_columns_in_their_units(fs, seed):
    rng = np.random.default_rng(seed)
    # uniform over the ranges (hypothesis' own floats crowd their bounds): rate, heart rate, length
    fs = float(fs or round(rng.uniform(100, 1000), 1))
    hr = float(rng.choice([rng.uniform(40, 55), rng.uniform(40, 150)]))   # bradycardia is a case of its own
    seconds = max(rng.uniform(2.0, 20.0), 4 * 60.0 / hr)                     # a few beats at least
    signal, count = synthetic_ecg(rng, fs, seconds, hr)
    rec = Record("p", signal.astype(np.float32), fs)
    feats, errors = extract_features(rec, ALL)
    assert {t: set(v) for t, v in feats.items()} == {t: set(DECLARED[t]) for t in ALL.tables()}
    assert errors == []
    check_units(feats, signal)
    e, r = feats["expert"], feats["rhythm"]
    assert abs(e["all__expert__hr_bpm"] - hr) <= 0.05 * hr, (e["all__expert__hr_bpm"], hr)
    assert abs(r["all__rhythm__n_beats"] - count) <= 1, (r["all__rhythm__n_beats"], count)
    assert abs(r["all__rhythm__rr_mean_ms"] - 60000 / hr) <= 0.05 * 60000 / hr
    assert np.isfinite([e[f"all__expert__{f}"] for f in ("qrs_ms", "qt_ms", "qtc_bazett_ms", "axis_deg")]).all()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(100, 1000), st.floats(2.0, 10.0), seeds)
def test_a_signal_without_beats_gives_nan_features_and_a_reason_never_an_exception(fs, seconds, seed):
    rng = np.random.default_rng(seed)
    signal, _ = synthetic_ecg(rng, fs, seconds, 60.0, beats=False)
    rec = Record("nobeat", signal.astype(np.float32), fs, source="/data/nobeat.dat")
    feats, errors = extract_features(rec, ALL)
    # no beats: both beat families are refused, with their reason; a rhythm made of noise is a failure
    assert {fam for fam, _ in errors} == {"expert", "rhythm"}, errors
    for fam, reason in errors:          # whatever failed is said, per family, naming the record
        assert reason.startswith("/data/nobeat.dat: ") and "\n" not in reason, reason
        assert all(np.isnan(v) for v in feats[fam].values())
    assert {t: set(v) for t, v in feats.items()} == {t: set(DECLARED[t]) for t in ALL.tables()}
    check_units(feats, signal)
    assert feats["quality"]["all__quality__credible_beats"] == 0.0
    assert not np.isnan(list(feats["tsfresh-fast"].values())).all()   # tsfresh needs no beats

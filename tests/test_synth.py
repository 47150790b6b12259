"""The embedded synthetic dataset: lead algebra, class mechanisms, ground truth, determinism."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from ecgfeat.datasets import open_dataset
from ecgfeat.labels import labels_for
from ecgfeat.synth import assign_labels, parse_weights, read_params, synthesize
from ecgfeat.synth.assemble import make_record
from ecgfeat.synth.generator import COMPATIBLE
from ecgfeat.synth.validate import neurokit_agreement
from ecgfeat.vocab import CPSC9, LEADS

L = {name: i for i, name in enumerate(LEADS)}


def test_written_files_obey_einthoven_and_goldberger(synth200):
    ds = open_dataset(synth200)
    assert ds.format == "wfdb" and ds.notes["synthetic"]["seed"] == 0
    worst = 0.0
    for _ref, rec in ds.iter_records(ds.refs()[:60]):
        s = rec.signal.astype(np.float64)
        I, II, III, aVR, aVL, aVF = (s[L[k]] for k in ("I", "II", "III", "aVR", "aVL", "aVF"))
        for lhs, rhs in ((III, II - I), (aVR, -(I + II) / 2), (aVL, I - II / 2), (aVF, II - I / 2)):
            worst = max(worst, float(np.abs(lhs - rhs).max()))
    assert worst <= 0.01  # mV, after 16-bit quantisation at 1 uV and the WFDB round trip


def test_reader_gives_labels_params_and_demographics(synth200):
    ds = open_dataset(synth200)
    params = read_params(synth200)
    rec = ds.read(ds.refs()[3])
    assert rec.signal.dtype == np.float32 and rec.signal.shape == (12, 5000) and rec.fs == 500
    assert labels_for(rec, "cpsc9") == params.loc[rec.record_id, "labels"]
    assert rec.age == params.loc[rec.record_id, "age"] and rec.sex in ("M", "F")
    assert {"hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "axis_deg", "bw_mv", "mains_mv", "emg_mv",
            "premature_s", *(f"st_{lead}_mv" for lead in LEADS)} <= set(params.columns)


def test_label_assignment_balance_and_second_labels():
    labels = assign_labels(1800, seed=0)
    first = Counter(lab[0] if len(lab) == 1 else None for lab in labels)
    per_class = Counter(c for lab in labels for c in lab)
    assert all(per_class[c] >= 200 for c in CPSC9) and per_class["Normal"] == 200
    two = [lab for lab in labels if len(lab) == 2]
    assert 0.08 <= len(two) / 1800 <= 0.12
    for a, b in two:  # only combinations that can coexist (never Normal + X, AF + PAC, LBBB + RBBB)
        assert b in COMPATIBLE[a] or a in COMPATIBLE[b]
    assert first[None] == len(two)
    weighted = assign_labels(1000, seed=1, weights=parse_weights("AF=3,Normal=0"))
    counts = Counter(lab[0] if "AF" not in lab else "AF" for lab in weighted)
    assert counts["Normal"] == 0 and counts["AF"] >= 3 * 100
    with pytest.raises(ValueError, match="unknown class 'XYZ' in --balance"):
        parse_weights("XYZ=2")


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    def digest(folder):
        h = hashlib.sha256()
        for f in sorted(folder.iterdir()):
            if f.suffix in (".dat", ".csv"):
                h.update(f.read_bytes())
        return h.hexdigest()
    a, b, c = (synthesize(tmp_path / name, n=12, seed=s, jobs=j) for name, s, j in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)))
    assert digest(a) == digest(b) != digest(c)


def _record(labels, seed):
    return make_record(labels, 500.0, 10.0, np.random.default_rng([99, seed]))


def test_each_class_is_made_by_its_mechanism():
    for seed in range(15):
        _, p, _ = _record(["Normal"], seed)
        assert 120 <= p["pr_ms"] <= 200 and p["qrs_ms"] < 110 and p["n_pac"] == p["n_pvc"] == 0
        assert p["rr_sd_ms"] / p["rr_mean_ms"] < 0.07 and -30 <= p["axis_deg"] <= 100
        _, p, _ = _record(["AF"], seed)
        assert np.isnan(p["pr_ms"]) and p["rr_sd_ms"] / p["rr_mean_ms"] > 0.08 and p["af_amp_mv"] >= 0.05
        assert p["p_on_s"] == ";".join(["nan"] * len(p["beat_kinds"]))  # no P wave anywhere
        assert _record(["I-AVB"], seed)[1]["pr_ms"] > 200
        for bbb in ("LBBB", "RBBB"):
            assert _record([bbb], seed)[1]["qrs_ms"] >= 120
        _, p, _ = _record(["PAC"], seed)
        assert p["n_pac"] >= 1 and p["n_pvc"] == 0 and set(p["premature_kinds"].split(";")) == {"A"}
        _, p, _ = _record(["PVC"], seed)
        assert p["n_pvc"] >= 1 and set(p["premature_kinds"].split(";")) == {"V"}
        st = {lead: _record(["STD"], seed)[1][f"st_{lead}_mv"] for lead in LEADS}
        assert min(st.values()) <= -0.10
        st = {lead: _record(["STE"], seed)[1][f"st_{lead}_mv"] for lead in LEADS}
        assert max(st.values()) >= 0.15


def _beats(p, key):
    return np.array([float(x) for x in p[key].split(";")])


def test_premature_beats_pauses():
    """PVC: full compensatory pause (coupling + pause = 2 sinus cycles); PAC: sinus reset (shorter).

    The sinus cycle is the mean of the RR before and after; respiratory sinus arrhythmia (2-5%)
    moves single beats, so the median ratio per kind is held tight and each beat loosely.
    """
    ratios = {"V": [], "A": []}
    for seed in range(40):
        for cls, kind in (("PVC", "V"), ("PAC", "A")):
            _, p, _ = _record([cls], seed)
            on, kinds = _beats(p, "qrs_on_s"), p["beat_kinds"]
            for i, k in enumerate(kinds):
                if k != kind or i < 2 or i + 2 >= len(kinds) or kinds[i - 2:i + 3].count("N") != 4:
                    continue  # judge premature beats with two normal beats on each side
                sinus = ((on[i - 1] - on[i - 2]) + (on[i + 2] - on[i + 1])) / 2
                coupling, pause = on[i] - on[i - 1], on[i + 1] - on[i]
                assert coupling < 0.8 * sinus
                ratios[kind].append((coupling + pause) / sinus)
    assert len(ratios["V"]) >= 30 and len(ratios["A"]) >= 30
    assert abs(np.median(ratios["V"]) - 2.0) < 0.05 and all(1.8 < r < 2.2 for r in ratios["V"])
    assert np.median(ratios["A"]) < 1.85 and max(ratios["A"]) < 1.97


def test_bundle_branch_block_morphology():
    """RBBB: terminal R' in V1, broad S in I and V6. LBBB: QS in V1, no septal q in I / V6."""
    fs = 500
    for seed in range(8):
        _, p, clean = _record(["RBBB"], seed)
        on, off = (_beats(p, k) for k in ("qrs_on_s", "qrs_off_s"))
        i = 3
        a, b = int(on[i] * fs), int(off[i] * fs)
        tail = slice(a + int(0.7 * (b - a)), b)
        assert clean[L["V1"], tail].max() > 0.2               # R'
        assert clean[L["I"], tail].min() < -0.1 and clean[L["V6"], tail].min() < -0.1  # broad S
        _, p, clean = _record(["LBBB"], seed)
        on, off = (_beats(p, k) for k in ("qrs_on_s", "qrs_off_s"))
        a, b = int(on[i] * fs), int(off[i] * fs)
        v1 = clean[L["V1"], a:b]
        assert v1.min() < -0.5 and v1.max() < 0.25 * abs(v1.min())  # QS / rS
        for lead in ("I", "V6"):
            first = clean[L[lead], a:a + int(0.25 * (b - a))]
            assert first.min() > -0.02  # no septal q
        _, p, clean = _record(["Normal"], seed)
        on = _beats(p, "qrs_on_s")
        a = int(on[i] * fs)
        assert clean[L["V6"], a:a + 10].min() < -0.02  # the normal septal q


def test_st_level_at_j_plus_60_equals_params():
    fs = 500
    for cls in ("STD", "STE", "Normal", "LBBB"):
        for seed in range(6):
            _, p, clean = _record([cls], seed)
            on, off = _beats(p, "qrs_on_s"), _beats(p, "qrs_off_s")
            i = 4
            j60 = int(round((off[i] + 0.06) * fs))
            base = int(round((on[i] - 0.01) * fs))  # PR segment: isoelectric
            for lead in LEADS:
                measured = clean[L[lead], j60] - clean[L[lead], base]
                assert abs(measured - p[f"st_{lead}_mv"]) < 0.005, (cls, seed, lead)


def test_neurokit2_delineates_lead_ii(synth200):
    """The physiology is real enough for an independent delineator (neurokit2) on lead II:
    R peaks of >= 98% of beats, and PR within 20 ms of params.csv on >= 90% of records with P
    (the method and why it is neurokit2's `prominence` delineator: ecgfeat.synth.validate)."""
    out = neurokit_agreement(synth200, lead="II", tolerance_ms=20)
    assert out["records"] == 200 and out["records_with_p"] >= 150
    assert out["r_peak_recall"] >= 0.98, out
    assert out["pr_fraction"] >= 0.90, out

"""`ecgfeat show`: the record on ECG paper (25 mm/s, 10 mm/mV), its fiducials, header and errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import wfdb
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat import draw
from ecgfeat.draw import cart
from ecgfeat.vocab import LEADS

runner = CliRunner()
MM = 25.4


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def last_json(res) -> dict:
    return json.loads(res.stdout.strip().splitlines()[-1])


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def sheet_size_mm() -> tuple[float, float]:
    c = cart
    return (c.LEFT + c.CAL_W + c.STRIP_W + c.GAP + c.MEDIAN_S * c.MEDIAN_MM_PER_S + c.LEFT,
            c.HEADER_H + 4 * c.ROW_H + c.FOOTER_H)


def _record(synth200, rid):
    from ecgfeat.datasets import open_dataset

    ds = open_dataset(synth200)
    ref = next(r for r in ds.refs() if r.record_id == rid)
    return ds.read(ref)


def _params(synth200) -> pd.DataFrame:
    return pd.read_csv(synth200 / "params.csv", index_col="record")


def test_help_shows_an_example():
    res = run("show", "--help")
    assert res.exit_code == 0, res.output
    assert "Examples:" in res.output and "ecgfeat show" in res.output.split("Examples:")[1]


def test_png_and_json_measurements_are_expert_features(synth200, tmp_path):
    from ecgfeat.features.expert import expert_features
    from ecgfeat.features.extract import analyse

    params = _params(synth200)
    # an I-AVB at a slow rate, so that its P wave stands clear of the previous T wave
    rid = params.index[(params["labels"] == "I-AVB") & (params["hr_bpm"] < 75)][0]
    out = tmp_path / "fig.png"
    res = run("show", rid, "--data", synth200, "--out", out, "--json")
    assert res.exit_code == 0, res.output
    doc = last_json(res)
    assert doc["record"] == rid and doc["out"] == str(out) and out.is_file()
    w_mm, h_mm = sheet_size_mm()
    w_px, h_px = png_size(out)            # the PNG is the paper at DPI pixels per inch, never cropped
    assert abs(w_px - w_mm / MM * draw.DPI) <= 1 and abs(h_px - h_mm / MM * draw.DPI) <= 1
    ana = analyse(_record(synth200, rid))
    want = expert_features(ana.templates, ana.delineation, ana.rr_mean_s, ana.rr_median_s)
    got = doc["measurements"]
    for key in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "axis_deg", "p_axis_deg", "t_axis_deg"):
        value = want[f"all__expert__{key}"]
        assert (got[key] is None) if np.isnan(value) else got[key] == pytest.approx(value, rel=1e-9), key
    assert set(got) == {k.split("__")[-1] for k in want if k.startswith("all__expert__")}
    # and they are this record's physiology: an I-AVB has PR > 200 ms, near its generating value
    assert got["pr_ms"] > 200 and got["pr_ms"] == pytest.approx(params.loc[rid, "pr_ms"], abs=30)
    assert doc["annotations"] == [] and doc["beats"] >= 5


def test_default_out_is_under_the_workspace(synth200, tmp_path):
    rid = _params(synth200).index[0]
    res = run("--workspace", tmp_path, "show", synth200 / f"{rid}.hea", "--json")
    assert res.exit_code == 0, res.output
    out = tmp_path / "reports" / "show" / f"{rid}.png"
    assert last_json(res)["out"] == str(out) and out.is_file()
    # a WFDB base path without extension names the same record
    res = run("--workspace", tmp_path, "show", synth200 / rid, "--out", tmp_path / "b.png", "--json")
    assert res.exit_code == 0, res.output
    assert last_json(res)["record"] == rid


def test_paper_scale_is_25_mm_per_s_and_10_mm_per_mv(synth200):
    rid = _params(synth200).index[0]
    rec = _record(synth200, rid)
    sheet = draw.prepare_sheet(rec)
    fig = draw.draw_sheet(sheet)
    try:
        assert draw.inches_per_second(fig) == pytest.approx(25.0 / MM)
        assert draw.inches_per_mv(fig) == pytest.approx(10.0 / MM)
        paper = fig.ecgpaper
        ax = paper.ax
        # 1 mm grid squares are square: the axes' inches per mm are the same in x and y
        bbox = ax.get_position()
        in_x = bbox.width * fig.get_figwidth() / np.ptp(ax.get_xlim())
        in_y = bbox.height * fig.get_figheight() / np.ptp(ax.get_ylim())
        assert in_x == pytest.approx(1 / MM) and in_y == pytest.approx(1 / MM)
        # the rhythm strip: lead II over 10 s is 250 mm long, and 1 mV of signal is 10 mm of paper
        x0, base, t0, t1 = paper.cells[(3, "II")]
        v = sheet.signal[LEADS.index("II")]
        fs = sheet.signal_fs
        n = int(round(10.0 * fs))
        strip = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == n and ln.get_xdata()[0] == pytest.approx(x0)]
        assert len(strip) == 1
        xd, yd = np.asarray(strip[0].get_xdata()), np.asarray(strip[0].get_ydata())
        assert xd[-1] - xd[0] == pytest.approx(250.0 - 25.0 / fs)
        assert np.allclose(yd - base, 10.0 * v[:n])
        # the 1 mV calibration pulse is 10 mm tall, 5 mm (200 ms) wide
        cal = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 6]
        assert cal and all(np.ptp(ln.get_ydata()) == pytest.approx(10.0) for ln in cal)
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)


def test_fiducial_ticks_sit_on_the_generated_beats(synth200):
    """ecgfeat's QRS onsets drawn on each beat are within 30 ms of the simulator's onsets."""
    params = _params(synth200)
    rid = params.index[params["labels"] == "Normal"][0]
    sheet = draw.prepare_sheet(_record(synth200, rid))
    truth = np.array([float(x) for x in str(params.loc[rid, "qrs_on_s"]).split(";")])
    onsets = [on for kind, on, _, _, faint in sheet.ecgfeat.waves if kind == "QRS" and not faint]
    assert len(onsets) >= 5
    assert max(np.min(np.abs(truth - on)) for on in onsets) < 0.030


@pytest.mark.parametrize("ext, magic", [(".svg", b"<svg"), (".pdf", b"%PDF")])
def test_vector_formats_keep_the_physical_size(synth200, tmp_path, ext, magic):
    rid = _params(synth200).index[1]
    out = tmp_path / f"fig{ext}"
    res = run("show", rid, "--data", synth200, "--out", out)
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    assert magic in data[:400]
    w_mm, h_mm = sheet_size_mm()
    if ext == ".svg":
        m = re.search(rb'<svg[^>]*width="([\d.]+)pt"[^>]*height="([\d.]+)pt"', data)
        assert m and float(m.group(1)) / 72 * MM == pytest.approx(w_mm, abs=0.1)
        assert float(m.group(2)) / 72 * MM == pytest.approx(h_mm, abs=0.1)
    else:
        m = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", data)
        assert m and float(m.group(1)) / 72 * MM == pytest.approx(w_mm, abs=0.1)


def test_a_record_without_beats_is_drawn_with_the_reason(tmp_path, monkeypatch):
    """`analyse` raising ValueError (no beats, or a record refused as not credible): drawn anyway, raw."""
    import ecgfeat.features.extract as extract

    def no_beats(record):
        raise ValueError("0 beat(s) detected, need 2")

    monkeypatch.setattr(extract, "analyse", no_beats)
    t = np.arange(5000) / 500.0
    sig = np.tile(0.5 * np.sin(2 * np.pi * 0.2 * t), (12, 1)) + 0.8     # a 0.8 mV offset: drawn high-passed
    wfdb.wrsamp("slow", fs=500, units=["mV"] * 12, sig_name=[lead.upper() for lead in LEADS], p_signal=sig.T,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    out = tmp_path / "slow.png"
    res = run("show", tmp_path / "slow.hea", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    doc = last_json(res)
    assert doc["note"] == "no beats measured: 0 beat(s) detected, need 2"
    assert doc["measurements"] == {} and doc["beats"] == 0 and out.is_file()
    from ecgfeat.datasets import open_dataset

    ds = open_dataset(tmp_path / "slow.hea")
    sheet = draw.prepare_sheet(ds.read(ds.refs()[0]))
    assert sheet.ecgfeat is None and abs(np.median(sheet.signal)) < 0.05     # baseline corrected


def test_errors_are_one_line(synth200, tmp_path):
    rid = _params(synth200).index[0]
    (tmp_path / "notes.txt").write_text("hello")
    cases = [
        (("show", tmp_path / "nope.hea"), "no such record file"),
        (("show", tmp_path / "nope"), "no such record file"),
        (("show", "S99999", "--data", synth200), "no record 'S99999'"),
        (("show", rid, "--data", tmp_path / "missing"), "--data"),
        (("show", rid, "--data", synth200, "--out", tmp_path / "x.jpg"), "--out"),
        (("show", tmp_path / "notes.txt"), "not an ECG record file"),
        (("show", synth200), "a folder, not a record"),
        (("show", rid, "--data", synth200, "--start", -1), "--start"),
    ]
    for args, text in cases:
        res = run(*args)
        assert res.exit_code == 1, (args, res.output)
        line = res.output.strip()
        assert len(line.splitlines()) == 1 and line.startswith("error: ") and text in line, (args, line)
        assert "Traceback" not in res.output


def test_unreadable_record_file_is_one_line(tmp_path):
    (tmp_path / "bad.hea").write_text("bad 12 500 5000\n")
    res = run("show", tmp_path / "bad.hea")
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and "bad" in line


def test_explain_figures_are_drawn_on_the_same_paper(tmp_path):
    """ecg_reasons / ecg_attribution keep their signatures and are drawn at 25 mm/s (their PNG width)."""
    from ecgfeat.explain import plots
    from ecgfeat.synth.assemble import make_record

    sig, _, _ = make_record(["I-AVB"], 500.0, 10.0, np.random.default_rng(3))
    reasons = [{"feature": "all__expert__pr_ms", "text": "PR interval 262 ms (high) towards I-AVB"},
               {"feature": "II__expert__p_ms", "text": "II P duration 110 ms towards I-AVB"}]
    mass = {lead: 1.0 for lead in LEADS} | {"all": 3.0}
    path = plots.ecg_reasons(sig, 500.0, mass, reasons, "I-AVB", "S1: I-AVB", tmp_path / "r.png")
    w, _ = png_size(tmp_path / "r.png")
    width_mm = draw.LEFT + draw.CAL_W + 250.0 + 4 + 95.0
    assert path == str(tmp_path / "r.png") and abs(w - width_mm / MM * plots.PAPER_DPI) <= 1
    x = sig[:, ::5][:, :1000].astype(np.float32)
    t = np.arange(1000) / 100.0
    values = np.zeros((12, 1000))
    values[1, 300:340] = 1.0
    plots.ecg_attribution(x, t, values, list(LEADS), "I-AVB", "S1: I-AVB", tmp_path / "a.png")
    w, _ = png_size(tmp_path / "a.png")
    assert abs(w - (draw.LEFT + draw.CAL_W + 250.0 + 4 + 40.0) / MM * plots.PAPER_DPI) <= 1


@pytest.mark.realdata
def test_ludb_record_with_its_annotations(shared_data, tmp_path):
    ludb = shared_data / "ludb-dev"
    if not ludb.is_dir():
        pytest.skip("ludb-dev not in the shared data")
    out = tmp_path / "1.png"
    res = run("show", "1", "--data", ludb, "--out", out, "--json")
    assert res.exit_code == 0, res.output
    doc = last_json(res)
    assert doc["annotations"] == list(LEADS) and out.is_file()
    assert set(doc["annotation_delta_ms"]) == {"P on", "P off", "QRS on", "QRS off", "T end"}
    # sinus bradycardia (LUDB's diagnosis): under 60 bpm, and a QRS onset within 20 ms of the cardiologists'
    assert doc["measurements"]["hr_bpm"] < 60 and abs(doc["annotation_delta_ms"]["QRS on"]) <= 20
    # the annotations are drawn: a second bracket row in their colour under every lead
    from ecgfeat.datasets import open_dataset
    from ecgfeat.datasets.ludb import read_annotations

    ds = open_dataset(ludb)
    ref = next(r for r in ds.refs() if r.record_id == "1")
    sheet = draw.prepare_sheet(ds.read(ref), read_annotations(ref.path[:-4]))
    fig = draw.draw_sheet(sheet)
    from matplotlib.colors import to_hex

    colours = [to_hex(c.get_colors()[0]) for c in fig.ecgpaper.ax.collections if len(c.get_colors()) == 1]
    assert colours.count(draw.ANNOT) >= 12 and colours.count(draw.ECGFEAT) >= 12
    import matplotlib.pyplot as plt
    plt.close(fig)

"""Pacemaker spikes: found on hand-made signals, never on steep myocardial waves, and removed so
that a paced QRS is measured from its stimulus (signal/pacing.py, features/extract.py `analyse`)."""

from __future__ import annotations

import numpy as np

from ecgfeat.features.extract import analyse
from ecgfeat.record import Record
from ecgfeat.signal.pacing import artefacts, paced_share, pacing_spikes, remove_spikes
from ecgfeat.vocab import LEADS

FS = 500.0
# lead weights of a dipole: every lead sees the beat with its own gain and sign
GAIN = np.array([0.6, 1.0, 0.4, -0.8, 0.1, 0.7, -0.5, -0.3, 0.4, 0.9, 1.0, 0.8])


def _lobe(t, centre, width, amp):
    """A Gaussian lobe cut at 3 sigma (the synthetic generator's wave shape)."""
    z = (t - centre) / width
    return np.where(np.abs(z) <= 3, amp * np.exp(-0.5 * z ** 2), 0.0)


def _paced(seconds=10.0, rr=0.8, spike_mv=0.5, with_spikes=True, seed=0):
    """12 leads of V-paced beats: a spike, then a wide QRS starting at the stimulus, then a T wave.

    Returns (signal (12, n) mV, spike samples, QRS onset samples)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    x = np.zeros(n)
    spikes, onsets = [], []
    for s in np.arange(0.4, seconds - 0.6, rr):
        i = int(round(s * FS))
        spikes.append(i)
        onsets.append(i + 2)                                          # capture 4 ms after the pulse
        q0 = (i + 2) / FS
        x += _lobe(t, q0 + 0.045, 0.015, 1.2) + _lobe(t, q0 + 0.105, 0.015, -0.6)   # 150 ms wide QRS
        x += _lobe(t, q0 + 0.34, 0.05, -0.35)                         # discordant T
    sig = GAIN[:, None] * x[None, :] + rng.normal(0, 0.01, (12, n))
    if with_spikes:
        for i in spikes:                                              # a pulse and its fast recovery
            sig[:, i] += spike_mv * np.sign(GAIN)
            sig[:, i + 1:i + 4] += spike_mv * np.sign(GAIN)[:, None] * np.array([0.5, 0.2, 0.05])
    return sig.astype(np.float32), np.array(spikes), np.array(onsets)


def _sinus_narrow(seconds=10.0, rr=0.75, seed=1):
    """12 leads of narrow tall beats (R 2.5 mV, sigma 4 ms: the steepest myocardial upstroke) with noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    x = np.zeros(n)
    for s in np.arange(0.5, seconds - 0.5, rr):
        x += _lobe(t, s - 0.16, 0.02, 0.15) + _lobe(t, s, 0.004, 2.5) + _lobe(t, s + 0.012, 0.004, -0.6)
        x += _lobe(t, s + 0.3, 0.05, 0.4)
    return (GAIN[:, None] * x[None, :] + rng.normal(0, 0.02, (12, n))).astype(np.float32)


def test_spikes_are_found_where_they_were_put():
    sig, spikes, _ = _paced()
    found = pacing_spikes(sig, FS, LEADS)
    assert found.tolist() == spikes.tolist()
    beats = spikes + int(0.08 * FS)
    assert paced_share(found, beats, FS) == 1.0


def test_steep_narrow_qrs_and_noise_give_no_spike():
    assert pacing_spikes(_sinus_narrow(), FS, LEADS).size == 0
    noise = np.random.default_rng(2).normal(0, 0.05, (12, 5000))   # EMG-like: no quiet baseline
    assert pacing_spikes(noise, FS, LEADS).size == 0


def test_a_spike_in_one_independent_lead_is_an_artefact_not_a_pacing_pulse():
    sig, spikes, _ = _paced()
    one = np.zeros_like(sig)
    one[0, spikes] = 0.5                                   # lead I only (III, aVR, aVL left clean)
    one[0, spikes + 1] = 0.25
    assert pacing_spikes(one, FS, LEADS).size == 0


def test_a_held_pulse_is_one_artefact_and_is_bridged():
    x = np.zeros((12, 1000))
    x[:, 500:514] = 0.2                                    # a step up and, 28 ms later, back down
    found = pacing_spikes(x, FS, LEADS)
    assert found.tolist() == [500, 514]
    assert artefacts(found, FS) == [(500, 514)]
    assert np.abs(remove_spikes(x, found, FS)).max() < 1e-12


def test_a_paced_qrs_is_measured_from_its_stimulus():
    sig, spikes, onsets = _paced()
    a = analyse(Record("paced", sig, FS))
    assert a.paced_share == 1.0
    d, tp = a.delineation, a.templates
    # the median beat's QRS onset, mapped back to each beat: at the capture (4 ms after the pulse) +- 6 ms
    k = np.searchsorted(spikes, tp.fiducials) - 1
    on_ms = (tp.fiducials - onsets[k] + d.qrs_on - tp.pre) * 1000 / FS
    assert np.all(np.abs(on_ms) <= 6.0), on_ms
    qrs_ms = (d.qrs_off - d.qrs_on) * 1000 / FS
    assert 145.0 <= qrs_ms <= 165.0, qrs_ms        # the lobes' support is 150 ms
    # the lead onsets never precede the stimulus
    assert np.nanmin(d.lead_qrs_on) >= d.qrs_on


def test_an_unpaced_record_is_left_alone():
    a = analyse(Record("sinus", _sinus_narrow(), FS))
    assert a.paced_share == 0.0 and a.spikes.size == 0

"""ecgfeat.features.tsfresh_fast must equal tsfresh's own calculators, with the same names."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

fc = pytest.importorskip("tsfresh.feature_extraction.feature_calculators")
from tsfresh import extract_features  # noqa: E402

from ecgfeat.features.tsfresh_fast import (  # noqa: E402
    FAST_SET,
    SUPPORTED,
    feature_names,
    tsfresh_efficient,
    tsfresh_fast,
)

RTOL, ATOL = 1e-6, 1e-9


def reference(x: np.ndarray, fc_parameters: dict) -> dict[str, np.ndarray]:
    """tsfresh's own calculators, one lead at a time, named as extract_features names them."""
    names = feature_names(fc_parameters)
    cols: dict[str, list[float]] = {n: [] for n in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in np.atleast_2d(x):
            for calc, params in fc_parameters.items():
                f = getattr(fc, calc)
                if getattr(f, "fctype", None) == "combiner":
                    res = [(f"{calc}__{k}", v) for k, v in f(row.copy(), param=params)]
                elif params is None:
                    res = [(calc, f(row.copy()))]
                else:
                    mine = [n for n in names if n.split("__", 1)[0] == calc]
                    res = list(zip(mine, (f(row.copy(), **p) for p in params)))
                for name, value in res:
                    cols[name].append(float(value))
    return {n: np.asarray(v) for n, v in cols.items()}


def assert_matches(x: np.ndarray, fc_parameters: dict = FAST_SET) -> dict[str, np.ndarray]:
    got, want = tsfresh_fast(x, fc_parameters), reference(x, fc_parameters)
    assert list(got) == list(want) == feature_names(fc_parameters)
    bad = []
    for name in want:
        assert got[name].shape == (np.atleast_2d(x).shape[0],), name
        if not np.allclose(got[name], want[name], rtol=RTOL, atol=ATOL, equal_nan=True):
            bad.append(f"{name}: fast={got[name]} tsfresh={want[name]}")
    assert not bad, "\n".join(bad)
    return got


def ecg_like(n: int = 1000, n_leads: int = 12, fs: float = 100.0, seed: int = 0) -> np.ndarray:
    """Sharp Gaussian 'QRS' spikes every ~0.8 s plus a broad 'T' wave and noise, per-lead gain."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    beats = np.cumsum(rng.uniform(0.75, 0.85, size=int(n / fs / 0.75) + 2)) - 0.5
    base = np.zeros(n)
    for b in beats:
        base += np.exp(-0.5 * ((t - b) / 0.015) ** 2) + 0.25 * np.exp(-0.5 * ((t - b - 0.3) / 0.05) ** 2)
    gains = np.linspace(-1.2, 2.5, n_leads)
    return gains[:, None] * (base - base.mean()) + 0.03 * rng.standard_normal((n_leads, n))


# --------------------------------------------------------------------------- equality


def test_fast_set_size_and_names():
    names = feature_names()
    assert 40 <= len(names) <= 50
    assert len(set(names)) == len(names)
    assert set(FAST_SET) <= SUPPORTED


def test_equal_to_tsfresh_on_ecg_like_signal():
    x = ecg_like()
    got = assert_matches(x)
    # Guard against a vacuous pass: on a realistic signal every feature is finite.
    for name, v in got.items():
        assert np.isfinite(v).all(), name


def test_equal_to_tsfresh_on_constant_zero_and_tiny_leads():
    x = ecg_like(n_leads=6, seed=1)
    x[0] = 0.0  # all-zero lead
    x[1] = 0.1  # constant lead (its mean is not exactly 0.1 in floating point)
    x[2] = -3.7
    x[3] *= 1e-6  # below tsfresh's absolute variance thresholds (1e-8, 1e-10, 1e-14)
    x[4] += 1000.0  # large offset
    got = assert_matches(x)
    # Constant leads: tsfresh's NaN cases are NaN here too, and nothing raised.
    assert np.isnan(got["autocorrelation__lag_1"][:3]).all()
    assert got['agg_autocorrelation__f_agg_"mean"__maxlag_40'][0] == 0.0
    assert got["skewness"][0] == 0.0


def test_equal_to_tsfresh_on_short_signal():
    assert_matches(ecg_like(n=60, n_leads=4, seed=2))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 11, 41, 51, 255, 256, 257, 300])
def test_equal_to_tsfresh_on_awkward_lengths(n):
    # lags / peak support / Welch bins / windows longer than the signal
    assert_matches(ecg_like(n=n, n_leads=3, seed=n))


def test_equal_to_tsfresh_with_ties():
    # Quantised signals have tied samples: this covers permutation_entropy's tie path,
    # histogram bin edges and strict-inequality calculators (peaks, crossings, strikes).
    rng = np.random.default_rng(3)
    assert_matches(np.round(ecg_like(seed=3) * 4))
    assert_matches(rng.integers(0, 3, size=(4, 400)).astype(float))
    x = ecg_like(n_leads=3, seed=4)
    x[:, 300:600] = 0.0  # flat stretch inside a lead
    assert_matches(x)


def test_equal_to_tsfresh_on_white_noise():
    assert_matches(np.random.default_rng(5).standard_normal((12, 1000)))


def test_other_parameters_are_supported():
    params = {
        "quantile": [{"q": 0.5}, {"q": 0.01}],
        "cid_ce": [{"normalize": True}, {"normalize": False}],
        "number_crossing_m": [{"m": 0.2}],
        "autocorrelation": [{"lag": 3}, {"lag": 100}],
        "agg_autocorrelation": [{"f_agg": "std", "maxlag": 5}, {"f_agg": "max", "maxlag": 12}],
        "fft_aggregated": [{"aggtype": "kurtosis"}, {"aggtype": "centroid"}],
        "spkt_welch_density": [{"coeff": 0}, {"coeff": 40}, {"coeff": 200}],
        "number_peaks": [{"n": 1}, {"n": 50}],
        "ratio_beyond_r_sigma": [{"r": 0.5}, {"r": 2.5}],
        "binned_entropy": [{"max_bins": 3}, {"max_bins": 64}],
        "permutation_entropy": [{"tau": 2, "dimension": 4}, {"tau": 3, "dimension": 6}],
        "c3": [{"lag": 7}],
        "time_reversal_asymmetry_statistic": [{"lag": 30}],
    }
    x = ecg_like(n=500, n_leads=4, seed=6)
    x[0] = 0.0
    assert_matches(x, params)
    assert_matches(np.round(x * 3), params)


def test_formula_errors_would_be_caught():
    # The comparison is sharp enough to detect a small change in any feature on the ECG signal.
    x = ecg_like(n_leads=4)
    want = reference(x, FAST_SET)
    for name, v in want.items():
        nudged = v * (1 + 1e-4) + 1e-6
        assert not np.allclose(nudged, v, rtol=RTOL, atol=ATOL, equal_nan=True), name


def test_unsupported_calculator_raises():
    with pytest.raises(KeyError):
        tsfresh_fast(np.zeros((2, 100)), {"sample_entropy": None})


def test_single_lead_1d_input():
    x = ecg_like(n_leads=1)[0]
    got = tsfresh_fast(x)
    assert all(v.shape == (1,) for v in got.values())


# --------------------------------------------------------------------------- names


def test_names_are_what_extract_features_produces():
    x = ecg_like(n=200, n_leads=1)[0]
    df = pd.DataFrame({"id": 0, "time": np.arange(x.size), "value": x})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = extract_features(
            df, column_id="id", column_sort="time", default_fc_parameters=FAST_SET,
            n_jobs=0, disable_progressbar=True,
        )
    cols = list(res.columns)
    assert all(c.startswith("value__") for c in cols)
    tsfresh_names = [c[len("value__"):] for c in cols]
    assert sorted(tsfresh_names) == sorted(feature_names())
    assert list(tsfresh_fast(x[None, :])) == feature_names()
    # and the values agree through extract_features too
    got = tsfresh_fast(x[None, :])
    for c in cols:
        np.testing.assert_allclose(got[c[len("value__"):]][0], res[c].iloc[0], rtol=RTOL, atol=ATOL)
    assert "autocorrelation__lag_50" in tsfresh_names
    assert "quantile__q_0.05" in tsfresh_names
    assert 'agg_autocorrelation__f_agg_"mean"__maxlag_40' in tsfresh_names
    assert 'fft_aggregated__aggtype_"centroid"' in tsfresh_names
    assert "spkt_welch_density__coeff_2" in tsfresh_names
    assert "permutation_entropy__dimension_3__tau_1" in tsfresh_names


# --------------------------------------------------------------------------- efficient route


def test_tsfresh_efficient_prefixes_and_values():
    x = ecg_like(n=100, n_leads=2, seed=7)
    out = tsfresh_efficient(x, ["I", "V1"])
    per_lead = {lead: [k for k in out if k.startswith(f"{lead}__tsfresh__")] for lead in ("I", "V1")}
    assert len(per_lead["I"]) == len(per_lead["V1"]) > 500
    assert len(out) == len(per_lead["I"]) + len(per_lead["V1"])
    suffixes = {k.split("__tsfresh__", 1)[1] for k in per_lead["V1"]}
    assert {"standard_deviation", "autocorrelation__lag_5", 'fft_aggregated__aggtype_"skew"',
            "permutation_entropy__dimension_5__tau_1", "quantile__q_0.1"} <= suffixes
    assert "sample_entropy" not in suffixes  # high_comp_cost: excluded by EfficientFCParameters
    fast = tsfresh_fast(x)
    for lead_idx, lead in enumerate(("I", "V1")):
        for name in ("standard_deviation", "autocorrelation__lag_5", "number_peaks__n_3"):
            np.testing.assert_allclose(out[f"{lead}__tsfresh__{name}"], fast[name][lead_idx], rtol=RTOL)


def test_tsfresh_efficient_checks_lead_count():
    with pytest.raises(ValueError):
        tsfresh_efficient(np.zeros((2, 50)), ["I"])


# --------------------------------------------------------------------------- property


def test_equal_to_tsfresh_on_random_small_arrays():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    hnp = pytest.importorskip("hypothesis.extra.numpy")
    elems = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_subnormal=False))
    shapes = st.tuples(st.integers(1, 3), st.integers(1, 90))

    @hyp.settings(max_examples=60, deadline=None, derandomize=True)
    @hyp.given(shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=elems)))
    def check(x):
        assert_matches(x)

    check()

"""DeepSHAP of the ResNet-34-1D: one record's attribution per class, over its 12-lead input window.

`shap.DeepExplainer` with a background of training records (`BACKGROUND`). Two corrections to
shap 0.51's PyTorch rules, installed only while explaining (`deeplift_rules`):
- `MaxPool1d`: shap maps each pooled output's contribution back with `max_unpool1d`, which
  *overwrites* where pooling windows overlap (the stem's k=3 / stride-2 pool), so mass is lost:
  measured on a trained cnn, attributions summed to 12.8 for an output-minus-expected of 16.9.
  Our rule accumulates (`scatter_add`), the DeepLIFT rescale rule for a max; attributions then add
  up to the output to float precision.
- `Add` (the residual addition module): linear, its gradient passes through (shap warns on it).
Only the classes asked for are explained (a `Select` head over the logits): DeepExplainer runs one
backward pass per output, so explaining 1 class costs 1/9 of explaining all nine.
If DeepExplainer fails or does not add up, `GradientExplainer` (expected gradients) is the fallback,
and the explanation says so.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager

import numpy as np

BACKGROUND = 50          # training records in the DeepSHAP background (the issue: ~50-100)
ADDITIVITY_TOL = 0.02    # |sum of attributions - (output - expected)|, relative to max(1, |output - expected|)


def _maxpool_rule(module, grad_input, grad_output):
    """DeepLIFT rescale for max pooling that accumulates overlapping windows (see module doc).
    Named `maxpool` so shap's forward hook stores the module's input and output for it."""
    import torch

    x = module.x
    half = x.shape[0] // 2
    delta_in = x[:half] - x[half:]
    y, ref = torch.chunk(module.y, 2)
    cross = torch.max(y, ref)
    diffs = torch.cat([cross - ref, y - cross], 0)
    with torch.no_grad():
        _, idx = torch.nn.functional.max_pool1d(x, module.kernel_size, module.stride, module.padding,
                                                module.dilation, module.ceil_mode, True)
        spread = torch.zeros_like(x).scatter_add_(2, idx, grad_output[0] * diffs)
    a, b = torch.chunk(spread, 2)
    grads = list(grad_input)
    grads[0] = torch.where(delta_in.abs() < 1e-7, torch.zeros_like(delta_in), (a + b) / delta_in).repeat(2, 1, 1)
    return tuple(grads)


_maxpool_rule.__name__ = "maxpool"


@contextmanager
def deeplift_rules():
    import shap.explainers._deep.deep_pytorch as dp

    saved = dict(dp.op_handler)
    dp.op_handler["MaxPool1d"] = _maxpool_rule
    dp.op_handler["Add"] = dp.passthrough
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="unrecognized nn.Module")
            yield
    finally:
        dp.op_handler.clear()
        dp.op_handler.update(saved)


def _select(net, idx: list[int]):
    import torch

    class Select(torch.nn.Module):
        """The logits of the classes being explained (a non-leaf module: shap hooks only the net's)."""

        def __init__(self):
            super().__init__()
            self.net = net
            self.idx = list(idx)

        def forward(self, x):
            return self.net(x)[:, self.idx]

    return Select().eval()


class DeepAttributor:
    """Attributions of records of a `Signals` for chosen classes of a fitted CNNClassifier."""

    def __init__(self, est, sig, background_idx: list[int], threads: int = 1):
        import torch

        self.est, self.sig, self.threads = est, sig, max(1, int(threads))
        self.n = est.effective_settings.n_samples
        self.rows = est._rows
        self.fs = float(est.effective_settings.fs)
        self.background = torch.from_numpy(np.stack([self.window(i)[0] for i in background_idx]))
        self.method = "shap.DeepExplainer"
        self.fallback_reason: str | None = None
        self.max_additivity_error = 0.0
        self.seconds: list[float] = []        # per record-class
        self._explainers: dict[int, object] = {}

    # -- input windows ------------------------------------------------------------------------
    def starts(self, i: int) -> list[int]:
        from ..deep.estimator import tile_starts

        return tile_starts(int(self.sig.length[i]), self.n)

    def window(self, i: int, start: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(leads, n) float32 input and the time in s from the record's start of each sample (NaN: padding)."""
        length = int(self.sig.length[i])
        if start is None:
            st = self.starts(i)
            start = st[len(st) // 2]
        x = self.sig.window(i, start, self.n, self.rows)
        take = min(self.n, length - start)
        t = np.full(self.n, np.nan)
        t[self.n - take:] = (start + np.arange(take)) / self.fs
        return x, t

    def best_window(self, i: int, j: int) -> int:
        """Start of the window with the highest probability of class j (the CNN averages windows)."""
        import torch

        starts = self.starts(i)
        if len(starts) == 1:
            return starts[0]
        xb = torch.from_numpy(np.stack([self.sig.window(i, s, self.n, self.rows) for s in starts]))
        with torch.no_grad():
            logits = self.est.network_.eval()(xb).numpy()[:, j]
        return starts[int(np.argmax(logits))]

    # -- attribution ----------------------------------------------------------------------------
    def _explainer(self, j: int):
        import shap

        if j not in self._explainers:
            net = _select(self.est.network_.eval(), [j])
            if self.method == "shap.DeepExplainer":
                self._explainers[j] = shap.DeepExplainer(net, self.background)
            else:
                self._explainers[j] = shap.GradientExplainer(net, self.background)
        return self._explainers[j]

    def _values(self, j: int, x) -> tuple[np.ndarray, float]:
        """(leads, n) attribution of class j's logit and the additivity error."""
        import torch

        ex = self._explainer(j)
        with deeplift_rules():
            if self.method == "shap.DeepExplainer":
                v = np.asarray(ex.shap_values(x, check_additivity=False))
            else:
                v = np.asarray(ex.shap_values(x, nsamples=200, rseed=0))
        v = v.reshape(v.shape[:3]) if v.ndim == 4 else v      # (1, leads, n[, 1])
        if self.method != "shap.DeepExplainer":
            return v[0], float("nan")
        with torch.no_grad():
            out = float(_select(self.est.network_.eval(), [j])(x).numpy()[0, 0])
        gap = out - float(np.asarray(ex.expected_value).ravel()[0])
        err = abs(float(v[0].sum()) - gap) / max(1.0, abs(gap))
        return v[0], err

    def explain(self, i: int, j: int) -> dict:
        """Record i (position in sig), class j: {"values" (leads, n), "t" (s), "start", "seconds"}."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            start = self.best_window(i, j)
            xw, t = self.window(i, start)
            x = torch.from_numpy(xw[None])
            t0 = time.perf_counter()
            try:
                values, err = self._values(j, x)
            except Exception as e:  # an op shap has no rule for: fall back, and say so
                values, err = self._fallback(j, x, f"DeepExplainer failed ({type(e).__name__}: {str(e)[:120]})")
            if self.method == "shap.DeepExplainer" and err > ADDITIVITY_TOL:
                values, err = self._fallback(j, x, f"DeepExplainer attributions missed the output by {err:.1%}")
            dt = time.perf_counter() - t0
        finally:
            torch.set_num_threads(threads)
        if np.isfinite(err):
            self.max_additivity_error = max(self.max_additivity_error, err)
        self.seconds.append(dt)
        return {"values": values.astype(np.float32), "x": xw, "t": t, "start": int(start), "seconds": dt}

    def _fallback(self, j, x, why: str):
        self.method, self.fallback_reason = "shap.GradientExplainer", why
        self._explainers.clear()
        return self._values(j, x)


def lead_mass(values: np.ndarray) -> np.ndarray:
    """Sum of |attribution| per lead."""
    return np.abs(values).sum(axis=1)


def time_mass(values: np.ndarray) -> np.ndarray:
    """Sum of |attribution| over leads, per sample."""
    return np.abs(values).sum(axis=0)


def background_records(pred, ids: list[str], n: int = BACKGROUND, seed: int = 0, refit: bool = False) -> list[int]:
    """Positions in `ids` of up to n training records (not tested) of predictions.parquet, seeded;
    `refit` (a cv model, refit on every labelled record): any labelled record."""
    pos = {r: k for k, r in enumerate(ids)}
    rows = pred.index if refit else pred.index[~pred["tested"].astype(bool)]
    train = [pos[r] for r in rows if r in pos]
    if not train:
        raise ValueError("no training record of the model is in its signal cache: cannot build the DeepSHAP background")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(train, size=min(n, len(train)), replace=False).tolist())

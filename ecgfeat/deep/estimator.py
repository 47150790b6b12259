"""`CNNClassifier`: the ResNet-34-1D behind the same fit / predict_proba interface as the classical models.

X is a `Signals` (records of the signal cache, or arrays) and Y an (n, k) 0/1 matrix; one sigmoid
output per class (multi-label, BCE loss). `fit` takes an optional validation set: each epoch is
scored by validation macro AUC, the best epoch's weights are kept, and with the preset's patience
training stops when it has not improved for that many epochs.

Reproducible: all randomness (initial weights, dropout, batch order, crops, augmentation) comes
from `seed` (batch order, crops and augmentation of epoch e from numpy's generator seeded with
(seed, e)), so two runs with the same data, seed and thread count give identical weights on the CPU.
With `checkpoint=DIR`, every epoch saves the training state there (weights, optimiser, torch RNG,
history) and a later `fit` with the same DIR resumes from the last finished epoch: an interrupted
run continues where it stopped and ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator

from ..vocab import LEADS
from .cache import Signals
from .presets import CNNSettings

EpochCallback = Callable[[dict], None]


def macro_auc(Y: np.ndarray, P: np.ndarray) -> float:
    """Mean ROC AUC over classes that have both positives and negatives (NaN if none has)."""
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
    return float(np.mean(aucs)) if aucs else float("nan")


def tile_starts(length: int, n: int) -> list[int]:
    """Starts of windows of n samples that tile [0, length): the first at 0, the last ending at
    the record's end, evenly spaced between (a record shorter than n: one window, front-padded)."""
    if length <= n:
        return [0]
    k = int(np.ceil(length / n))
    return [int(round(s)) for s in np.linspace(0, length - n, k)]


class CNNClassifier(BaseEstimator):
    """ResNet-34-1D multi-label classifier on raw 12-lead (or fewer) ECG.

    A scikit-learn estimator (``get_params`` / ``set_params``, ``sklearn.base.clone``); torch is
    imported only when a network is built, so constructing and cloning one needs no torch.

    Parameters
    ----------
    settings : CNNSettings, optional
        Sampling rate, window, epochs, batch, learning rate ... (``deep/presets.py``); default
        ``CNNSettings()``.
    leads : tuple of str, default=LEADS
        Names of the input leads, in the standard order.
    seed : int, default=0
        All randomness (weights, dropout, batch order, crops, augmentation).
    n_jobs : int, default=1
        Torch threads.
    device : {"cpu", "cuda"}, default="cpu"
    epochs : int, optional
        Overrides ``settings.epochs`` (e.g. a refit without validation).

    Attributes
    ----------
    network_, classes_, n_outputs_, history_ (one dict per epoch), best_epoch_

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from ecgfeat import CNNClassifier
    >>> from ecgfeat.deep.presets import CNNSettings
    >>> cnn = CNNClassifier(CNNSettings(epochs=3), leads=("I", "II"), seed=1)
    >>> clone(cnn).set_params(epochs=1).get_params()["epochs"]
    1
    """

    def __init__(self, settings: CNNSettings | None = None, leads: tuple[str, ...] = LEADS, seed: int = 0,
                 n_jobs: int = 1, device: str = "cpu", epochs: int | None = None):
        self.settings = settings
        self.leads = leads
        self.seed = seed
        self.n_jobs = n_jobs
        self.device = device
        self.epochs = epochs

    # -- helpers ---------------------------------------------------------------------------
    @property
    def effective_settings(self) -> CNNSettings:
        """The settings in force: ``settings``, or the defaults when it is None."""
        return self.settings or CNNSettings()

    _s = effective_settings

    @property
    def _rows(self) -> list[int]:
        return [LEADS.index(lead) for lead in self.leads]

    def _device(self):
        import torch

        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available to torch here; use --device cpu")
        return torch.device(self.device)

    def build(self, n_classes: int):
        import torch

        from .network import ResNet1d

        torch.manual_seed(self.seed)
        self.network_ = ResNet1d(len(self.leads), n_classes, self._s.n_samples, self._s.dropout)
        self.n_outputs_ = n_classes
        return self.network_

    def _check_fs(self, X: Signals) -> None:
        if abs(float(X.fs) - self._s.fs) > 1e-6:
            raise ValueError(f"signals at {X.fs:g} Hz, the network takes {self._s.fs:g} Hz")

    def _batch(self, X: Signals, idx: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        s, n, rows = self._s, self._s.n_samples, self._rows
        out = np.empty((len(idx), len(rows), n), np.float32)
        for b, i in enumerate(idx):
            length = int(X.length[i])
            if rng is not None and s.crop == "random":
                start = int(rng.integers(0, max(1, length - n + 1)))
            else:
                start = max(0, length - n)
            if rng is not None and s.augment:
                # shift: move the window by up to 10% of its length (zero-padded where it leaves the record)
                start = int(np.clip(start + rng.integers(-n // 10, n // 10 + 1), -(n // 10), max(0, length - n)))
            if start < 0:
                w = X.window(i, 0, n, rows)
                out[b] = np.concatenate([w[:, -start:], np.zeros((len(rows), -start), np.float32)], axis=1)
            else:
                out[b] = X.window(i, start, n, rows)
            if rng is not None and s.augment:
                out[b] *= np.float32(rng.normal(1.0, 0.1))
        return out

    # -- estimator API --------------------------------------------------------------------
    def fit(self, X: Signals, Y, validation: tuple[Signals, np.ndarray] | None = None,
            checkpoint: str | Path | None = None, on_epoch: EpochCallback | None = None) -> "CNNClassifier":
        import torch

        s = self._s
        self._check_fs(X)
        names = getattr(Y, "columns", None)
        Y = np.asarray(Y, dtype=np.float32)
        if Y.ndim != 2 or Y.shape[0] != len(X):
            raise ValueError(f"Y must be (records, classes) with {len(X)} rows, got shape {Y.shape}")
        self.classes_ = np.asarray(names if names is not None else np.arange(Y.shape[1]), dtype=object)
        dev = self._device()
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.n_jobs)))
        try:
            net = self.build(Y.shape[1]).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            epochs = int(self.epochs or s.epochs)
            state = _Checkpoint(checkpoint).load(net, opt) if checkpoint else None
            start, best, best_epoch, bad, history = 0, -np.inf, -1, 0, []
            best_state = None
            if state is not None:
                start, best, best_epoch, bad, history = (state["epoch"] + 1, state["best"], state["best_epoch"],
                                                         state["bad"], state["history"])
                best_state = state["best_state"]
                if state["finished"]:
                    start = epochs
            for epoch in range(start, epochs):
                t0 = time.perf_counter()
                rng = np.random.default_rng([self.seed, epoch])
                for group in opt.param_groups:       # stateless: a resumed run gets the same rates
                    group["lr"] = float(s.lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)) if s.schedule == "cosine" else 1.0))
                order = rng.permutation(len(X))
                net.train()
                total, seen = 0.0, 0
                for b in range(0, len(order), s.batch_size):
                    idx = order[b:b + s.batch_size]
                    if len(idx) < 2 and b > 0:          # BatchNorm cannot train on a batch of one
                        continue
                    xb = torch.from_numpy(self._batch(X, idx, rng)).to(dev)
                    yb = torch.from_numpy(Y[idx]).to(dev)
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(net(xb), yb)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                    seen += len(idx)
                rec = {"epoch": epoch + 1, "loss": total / max(seen, 1)}
                if validation is not None:
                    rec["val_auc"] = macro_auc(np.asarray(validation[1]), self._proba(validation[0], dev))
                score = rec.get("val_auc", -epoch)
                score = -np.inf if score != score else score         # NaN AUC never wins
                if validation is None or score > best:
                    best, best_epoch, bad = score, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    bad += 1
                rec["seconds"] = round(time.perf_counter() - t0, 2)
                rec["best"] = best_epoch == epoch
                history.append(rec)
                stop = s.patience is not None and validation is not None and bad >= s.patience
                if checkpoint:
                    _Checkpoint(checkpoint).save(net, opt, epoch, best, best_epoch, bad, history, best_state,
                                                 finished=stop or epoch + 1 == epochs)
                if on_epoch:
                    on_epoch(rec)
                if stop:
                    break
            if best_state is not None:
                net.load_state_dict(best_state)
            self.history_, self.best_epoch_ = history, best_epoch + 1
        finally:
            torch.set_num_threads(threads)
        return self

    def _proba(self, X: Signals, dev) -> np.ndarray:
        """Mean sigmoid over the record's evaluation windows, (n, k) float64."""
        import torch

        s, n = self._s, self._s.n_samples
        net = self.network_
        net.eval()
        jobs = []                                  # (record position, start)
        for i in range(len(X)):
            starts = tile_starts(int(X.length[i]), n) if s.evaluate == "tile" else [max(0, int(X.length[i]) - n)]
            jobs += [(i, st) for st in starts]
        sums = np.zeros((len(X), self.n_outputs_))
        counts = np.zeros(len(X))
        with torch.no_grad():
            for b in range(0, len(jobs), 64):
                chunk = jobs[b:b + 64]
                xb = np.stack([X.window(i, st, n, self._rows) for i, st in chunk])
                p = torch.sigmoid(net(torch.from_numpy(xb).to(dev))).cpu().numpy().astype(np.float64)
                for (i, _), row in zip(chunk, p):
                    sums[i] += row
                    counts[i] += 1
        return sums / np.maximum(counts, 1)[:, None]

    def predict_proba(self, X: Signals) -> np.ndarray:
        import torch

        if not hasattr(self, "network_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("CNNClassifier is not fitted yet: call fit(X, Y) or load a model")
        self._check_fs(X)
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.n_jobs)))
        try:
            return self._proba(X, self._device())
        finally:
            torch.set_num_threads(threads)

    def predict(self, X: Signals, threshold: float | np.ndarray = 0.5) -> np.ndarray:
        return (self.predict_proba(X) >= np.asarray(threshold)).astype(np.int64)


class _Checkpoint:
    """Training state in DIR/state.pt (tensors and plain values only: loaded with weights_only=True)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / "state.pt"

    def save(self, net, opt, epoch, best, best_epoch, bad, history, best_state, finished: bool) -> None:
        import torch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"epoch": int(epoch), "best": float(best), "best_epoch": int(best_epoch), "bad": int(bad),
               "history": json.dumps(history), "finished": bool(finished), "model": net.state_dict(),
               "optim": opt.state_dict(), "best_state": best_state, "rng": torch.get_rng_state()}
        tmp = self.path.with_suffix(".tmp")
        torch.save(doc, tmp)
        tmp.replace(self.path)

    def load(self, net, opt) -> dict | None:
        import torch

        if not self.path.exists():
            return None
        try:   # weights_only: a crafted pickle is refused by torch's restricted unpickler, never run
            doc = torch.load(self.path, weights_only=True, map_location="cpu")
            net.load_state_dict(doc["model"])
            opt.load_state_dict(doc["optim"])
            torch.set_rng_state(doc["rng"])
            doc["history"] = json.loads(doc["history"])
        except Exception as err:
            from ..models.persist import ModelFileError
            raise ModelFileError(f"{self.path}: not a training checkpoint of this network ({type(err).__name__}: "
                                 f"{str(err).strip().splitlines()[0][:200] if str(err).strip() else ''}); "
                                 "refusing to load it - run without --resume to start over") from None
        return doc

"""Training presets of the CNN.

- ``paper``: the seed's set-up (Zhang et al., 2020): 500 Hz, the last 30 s of each record
  zero-padded at the front to 15,000 samples, Adam lr 1e-4, batch 32, 40 epochs (the best epoch on
  validation kept), scaling + shifting augmentation. Minutes per epoch of 1,000 records on a
  2-core CPU (bench/train_cnn.py prints it; measured figure in docs/benchmarks.md): a GPU preset.
- ``cpu`` (the default): the same network on 100 Hz, 10 s windows (1,000 samples), which keeps
  the QRS (60-120 ms = 6-12 samples) and every wave the 9 classes are defined by, while a training
  step costs about 15x less (bench/train_cnn.py; docs/benchmarks.md). Training takes a random 10 s crop
  of each record per epoch (more views of long CPSC records), evaluation averages the
  probabilities of 10 s windows tiling the record. Adam lr 1e-3: measured against 1e-4 on the
  synthetic and PTB-XL validation folds (docs/cnn.md), 1e-4 needs 3-4x the epochs
  for the same validation AUC. Up to 30 epochs, stopping when validation macro AUC has not
  improved for 5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class CNNSettings:
    preset: str = "cpu"
    fs: float = 100.0
    window_s: float = 10.0         # network input length
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int | None = 5       # epochs without validation macro-AUC gain before stopping; None: all epochs
    crop: str = "random"           # training window: "random" crop or the "last" window_s seconds
    evaluate: str = "tile"         # prediction: mean over windows tiling the record, or the "last" window
    augment: bool = True           # amplitude scaling N(1, 0.1) per record and a random shift <= 10% of the window
    dropout: float = 0.2
    schedule: str = "cosine"       # learning rate per epoch: "cosine" decay from lr towards 0 over `epochs`, or "constant"

    @property
    def n_samples(self) -> int:
        return int(round(self.fs * self.window_s))

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "cpu": CNNSettings(),
    "paper": CNNSettings(preset="paper", fs=500.0, window_s=30.0, epochs=40, batch_size=32, lr=1e-4,
                         patience=None, crop="last", evaluate="last", augment=True, schedule="constant"),
}


def cnn_settings(preset: str = "cpu", epochs: int | None = None, batch_size: int | None = None,
                 lr: float | None = None) -> CNNSettings:
    if preset not in PRESETS:
        raise ValueError(f"unknown cnn preset {preset!r}; presets are {', '.join(PRESETS)}")
    s = PRESETS[preset]
    changes = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)) if v is not None}
    for k, v in changes.items():
        if v <= 0:
            raise ValueError(f"--{k.replace('_', '-')} must be positive, got {v}")
    return replace(s, **changes)


def from_dict(d: dict) -> CNNSettings:
    return CNNSettings(**{k: v for k, v in d.items() if k in CNNSettings.__dataclass_fields__})

"""A train run's settings (`TrainConfig`), its default name, and the guard against replacing a
model folder of other settings."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..vocab import LEADS


@dataclass
class TrainConfig:
    model: str
    dataset: str
    store: str
    labels: str = "cpsc9"
    protocol: str = "paper"
    leads: tuple[str, ...] = LEADS
    record_features: bool = True
    families: tuple[str, ...] | None = None     # store tables; None: every family the store holds
    params: dict = field(default_factory=dict)
    preset: str = "default"
    seed: int = 0
    n_boot: int = 1000
    jobs: int = 1
    cnn: dict | None = None       # cnn only: its CNNSettings (deep/presets.py) as a dict
    data_path: str | None = None  # cnn only: the dataset folder its signal cache is built from
    cache: str | None = None      # cnn only: signal cache root (default <workspace>/signal_cache)
    device: str = "cpu"


def leads_tag(leads) -> str:
    return "all" if tuple(leads) == LEADS else "+".join(leads)


def name_extras(cfg: TrainConfig) -> list[str]:
    """What the default name adds after model-dataset-labels-protocol-leads, only where a run
    differs from the defaults: `norec` (no record-level features), the families given with
    --families (`expert+rhythm`), a non-default preset, a non-zero seed (`seed3`). Estimator
    parameters (--param) are not in the name: a folder trained with other ones is refused unless
    `force` (see `train`), so nothing is replaced without a word."""
    parts = []
    if not cfg.record_features:
        parts.append("norec")
    if cfg.families:
        parts.append("+".join(cfg.families))
    if cfg.preset != ("cpu" if cfg.model == "cnn" else "default"):
        parts.append(cfg.preset)
    if cfg.seed != 0:
        parts.append(f"seed{cfg.seed}")
    return parts


def default_name(cfg: TrainConfig) -> str:
    """SPEC: model-dataset-labels-protocol-leads, e.g. `xgb-synthetic-cpsc9-paper-all`, plus the
    `name_extras` of a non-default run (e.g. `rf-ptbxl-500-ptbxl-super-cv-all-expert+rhythm`)."""
    return "-".join([cfg.model, cfg.dataset, cfg.labels, cfg.protocol, leads_tag(cfg.leads)] + name_extras(cfg))


# config.json keys that make two runs different models (not: threads, bootstrap draws, paths)
IDENTITY = ("model", "dataset", "labels", "protocol", "leads", "record_features", "families", "params", "preset",
            "seed", "cnn")


class ModelExists(ValueError):
    """The model folder holds a model trained with other settings; `force=True` replaces it."""


def check_replace(folder: Path, cfg: TrainConfig, force: bool) -> None:
    """Refuse to replace `folder` when it holds a model of another configuration (unless `force`):
    the same name for another run would silently lose the earlier model."""
    if force or not (folder / "config.json").is_file():
        return
    try:
        have = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return
    want = json.loads(json.dumps({**asdict(cfg), "leads": list(cfg.leads)}, default=to_json))
    # config.json's "families" are the families used; what was asked for (None: all) is "families_requested"
    have = {**have, "families": have.get("families_requested", want["families"])}
    diff = [k for k in IDENTITY if k in have and have.get(k) != want.get(k)]
    if diff:
        what = "; ".join(f"{k}: {have.get(k)!r} there, {want.get(k)!r} now" for k in diff)
        raise ModelExists(f"{folder}: holds a model trained with other settings ({what}); give --name for a new "
                          "folder, or --force to replace it")


def library_versions() -> dict:
    import importlib.metadata as md

    out = {"ecgfeat": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scikit-learn", "xgboost", "lightgbm", "skops", "pyarrow", "tsfresh", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def to_json(o):
    """`json.dumps(default=...)` for numpy scalars and arrays (NaN -> null) and paths."""
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)

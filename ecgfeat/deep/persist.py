"""Saving and loading the CNN: a torch `state_dict` (tensors only), loaded with weights_only=True.

The folder holds `network.pt`; config.json keeps what rebuilds the network (leads, classes,
input length, settings) and the file's sha256, checked before torch reads it, so a swapped or
tampered file is refused by name rather than unpickled.
"""

from __future__ import annotations

from pathlib import Path

from ..models.persist import ModelFileError
from ..models.persist import sha256_file as _sha256

FILE = "network.pt"


def save_cnn(est, folder: Path) -> dict:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    torch.save(est.network_.state_dict(), folder / FILE)
    return {"file": FILE, "sha256": _sha256(folder / FILE), "settings": est.effective_settings.to_dict(),
            "leads": list(est.leads), "n_classes": int(est.n_outputs_), "n_samples": est.effective_settings.n_samples,
            "best_epoch": int(getattr(est, "best_epoch_", 0))}


def load_cnn(folder: Path, meta: dict, n_jobs: int = 1, device: str = "cpu"):
    """CNNClassifier with the saved weights, or ModelFileError naming the file at fault."""
    import torch

    from .estimator import CNNClassifier
    from .presets import from_dict

    if meta.get("file", FILE) != FILE:   # config.json names the file: never a path out of the folder
        raise ModelFileError(f"{Path(folder) / FILE}: config.json names the network file {meta.get('file')!r}, "
                             f"not {FILE!r}; refusing to load")
    path = Path(folder) / FILE
    if path.is_symlink():
        raise ModelFileError(f"{path}: is a symlink; refusing to load")
    if not path.is_file():
        raise ModelFileError(f"{path}: model file missing")
    if _sha256(path) != meta.get("sha256"):
        raise ModelFileError(f"{path}: sha256 differs from config.json: the file was changed or replaced; refusing to load it")
    try:
        est = CNNClassifier(from_dict(meta["settings"]), leads=tuple(meta["leads"]), n_jobs=n_jobs, device=device)
        net = est.build(int(meta["n_classes"]))
    except Exception as err:   # a config.json that does not describe a network of ours
        raise ModelFileError(f"{path}: config.json does not describe a ResNet-34-1D ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:200] if str(err) else ''}); refusing to load") from None
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
        net.load_state_dict(state, strict=True)
    except Exception as err:
        raise ModelFileError(f"{path}: not a ResNet-34-1D state_dict of this configuration ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:200]})") from None
    net.eval()
    return est

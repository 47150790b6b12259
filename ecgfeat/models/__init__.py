"""Classical models: the zoo of binary classifiers, one-vs-rest multi-label, safe persistence."""

from .multilabel import ConstantProba, OneVsRest
from .persist import ModelFileError, load_ovr, save_ovr
from .zoo import MODELS, PRESETS, TREE_MODELS, make_binary, parse_params, valid_params

__all__ = [
    "MODELS", "PRESETS", "TREE_MODELS", "ConstantProba", "ModelFileError", "OneVsRest",
    "load_ovr", "make_binary", "parse_params", "save_ovr", "valid_params",
]

"""The deep comparator: ResNet-34-1D on raw signals (network, presets, signal cache, estimator)."""

from .cache import SignalCache, Signals
from .estimator import CNNClassifier
from .presets import PRESETS, CNNSettings, cnn_settings

__all__ = ["CNNClassifier", "CNNSettings", "PRESETS", "SignalCache", "Signals", "cnn_settings"]

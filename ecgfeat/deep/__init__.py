"""The deep comparator: ResNet-34-1D on raw signals (network, presets, signal cache, estimator).

Needs torch (`pip install 'ecgfeat[deep]'`): importing this package without it raises MissingExtraError.
"""

from ..optional import require

require("torch", "deep", "the cnn (ResNet-34-1D)")

from .cache import SignalCache, Signals  # noqa: E402  (after the check: the error names the extra)
from .estimator import CNNClassifier  # noqa: E402
from .presets import PRESETS, CNNSettings, cnn_settings  # noqa: E402

__all__ = ["CNNClassifier", "CNNSettings", "PRESETS", "SignalCache", "Signals", "cnn_settings"]

"""Feature families: `expert` and `rhythm` (physiology on the median beat and the RR series) and
`tsfresh` (a curated, vectorised fast set, or tsfresh's EfficientFCParameters on request).

Names are `{lead}__{family}__{feature}`; record-level features use the lead `all`.
"""

from .settings import FAMILIES, VERSIONS, FeatureSettings


def __getattr__(name):   # the extraction (numpy, scipy) loads on first use: settings alone stay light
    if name in ("analyse", "extract_features"):
        from . import extract
        return getattr(extract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FAMILIES", "VERSIONS", "FeatureSettings", "analyse", "extract_features"]

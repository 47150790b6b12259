"""Feature families: `expert` and `rhythm` (physiology on the median beat and the RR series) and
`tsfresh` (a curated, vectorised fast set, or tsfresh's EfficientFCParameters on request).

Names are `{lead}__{family}__{feature}`; record-level features use the lead `all`.
"""

from .extract import analyse, extract_features
from .settings import FAMILIES, VERSIONS, FeatureSettings

__all__ = ["FAMILIES", "VERSIONS", "FeatureSettings", "analyse", "extract_features"]

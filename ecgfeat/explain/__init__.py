"""`ecgfeat explain`: TreeSHAP for the tree models, DeepSHAP for the cnn, at population and patient
level, checked against the synthetic set's generating mechanisms (groups.py).

groups (the expected mechanism of each class) -> trees / deep (the attributions) -> regions (where
in the cardiac cycle a cnn attribution lies) -> plots -> run / cnn (the explanation of one model
folder, written to reports/explain/<model>/: PNGs and explain.json).
"""

from .groups import EXPECTED_FEATURES, EXPECTED_REGIONS, expected, top_check
from .run import explain_model, spearman_agreement

__all__ = ["EXPECTED_FEATURES", "EXPECTED_REGIONS", "expected", "explain_model", "spearman_agreement", "top_check"]

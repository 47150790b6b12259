"""`ecgfeat explain`: TreeSHAP for the tree models, exact linear SHAP for lr, permutation SHAP for mlp,
DeepSHAP for the cnn, at population and patient level; checked against the synthetic set's
generating mechanisms (groups.py) and, on real data, against each class's clinical criteria (criteria.py).

groups / criteria (what each class should be explained by) -> trees / linear / agnostic / deep (the
attributions) -> regions (where in the cardiac cycle a cnn attribution lies) -> plots -> run / cnn
(the explanation of one model folder, written to reports/explain/<model>/: PNGs and explain.json).
"""

from .criteria import CRITERIA, clinical_check
from .groups import EXPECTED_FEATURES, EXPECTED_REGIONS, expected, top_check
from .run import explain_model, spearman_agreement

__all__ = ["CRITERIA", "EXPECTED_FEATURES", "EXPECTED_REGIONS", "clinical_check", "expected", "explain_model",
           "spearman_agreement", "top_check"]

"""From raw 12-lead signals to an explained classifier, in a scikit-learn pipeline (notebook-style).

    .venv/bin/python examples/features_pipeline_shap.py [--n 120] [--out /tmp/ecgfeat-example]

Each `# %%` cell runs on its own in Jupyter / VS Code. It synthesises a small labelled dataset with the
embedded generator (on your own data: `ecgfeat.open_dataset("data/ptbxl")`), extracts expert and rhythm
features with `ECGFeatures`, cross-validates gradient boosting behind `MultiLabelThresholdClassifier`
over patient-grouped multi-label folds, and explains each class with TreeSHAP. The test suite runs it
(tests/test_examples.py).
"""

# %% Set-up: a small labelled dataset
import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import ecgfeat
from ecgfeat.synth import synthesize
from ecgfeat.vocab import CPSC9

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=120, help="synthetic records")
parser.add_argument("--out", type=Path, default=None, help="folder for the dataset (default: a temporary one)")
args, _ = parser.parse_known_args()   # parse_known_args: Jupyter passes its own arguments

folder = synthesize(args.out or tempfile.mkdtemp(), n=args.n, seed=7, seconds=10.0, jobs=2)
ds = ecgfeat.open_dataset(folder)
signals, codes = [], []
for _ref, rec in ds.iter_records():
    signals.append(rec.signal)          # (12, samples) in mV, leads I, II, III, aVR, aVL, aVF, V1-V6
    codes.append(rec.codes)
X = np.stack(signals)
classes = [c for c in CPSC9 if any(c in k for k in codes)]        # the paper's nine classes present here
Y = np.array([[c in k for c in classes] for k in codes], dtype=int)
print(f"{len(X)} records of {X.shape[2] / 500:g} s; classes: {dict(zip(classes, Y.sum(axis=0).tolist()))}")

# %% Features: a stateless transformer, so they are computed once for the whole cross-validation
features = ecgfeat.ECGFeatures(fs=500, families=["expert", "rhythm"], n_jobs=2).set_output(transform="pandas")
F = features.fit_transform(X)
print(f"{F.shape[1]} features, e.g. {', '.join(F.columns[:3])}")

# %% Cross-validated predictions: one classifier per class, F1-optimal thresholds on an inner validation split
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import cross_val_predict  # noqa: E402
from xgboost import XGBClassifier  # noqa: E402

clf = ecgfeat.MultiLabelThresholdClassifier(XGBClassifier(n_estimators=60, max_depth=3, n_jobs=1), val_splits=3)
cv = ecgfeat.IterativeStratifiedGroupKFold(n_splits=5)
P = cross_val_predict(clf, F, Y, cv=cv, groups=np.arange(len(F)), method="predict_proba")
auc = {c: roc_auc_score(Y[:, k], P[:, k]) for k, c in enumerate(classes) if 0 < Y[:, k].sum() < len(Y)}
print("out-of-fold AUC: " + ", ".join(f"{c} {v:.3f}" for c, v in auc.items()))
print(f"macro AUC {np.mean(list(auc.values())):.3f}")

# %% The same as a pipeline on raw signals (what you would deploy), then TreeSHAP per class
from sklearn.pipeline import make_pipeline  # noqa: E402

model = make_pipeline(ecgfeat.ECGFeatures(fs=500, families=["expert", "rhythm"], n_jobs=2), clf).fit(X, Y)
fitted = model[-1]
print("thresholds: " + ", ".join(f"{c} {t:.2f}" for c, t in zip(classes, fitted.thresholds_)))

import shap  # noqa: E402  (pip install 'ecgfeat[explain]')

kept = F.columns[fitted.columns_]          # features with a value somewhere (all-NaN columns are dropped)
A = F[kept].to_numpy(dtype=np.float32)
for c, est in zip(classes, fitted.estimators_):
    if not hasattr(est, "get_booster"):      # a class with too few positives gets a constant: nothing to explain
        continue
    values = shap.TreeExplainer(est).shap_values(A)
    ranking = pd.Series(np.abs(values).mean(axis=0), index=kept).sort_values(ascending=False)
    ranking = ranking[ranking > 0]             # a tree ensemble uses few features: the rest have no share
    print(f"top features {c}: " + ", ".join(f"{name} {v:.2f}" for name, v in ranking.iloc[:3].items()))

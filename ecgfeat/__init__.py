"""ecgfeat: physiologic + time-series features for 12-lead ECG diagnosis, with a deep comparator.

The public API (docs/python.md), loaded on first use so that ``import ecgfeat`` stays light
(numpy, scipy, scikit-learn, pandas and torch are imported only by the names that need them):

- ``extract_features(signals, fs, leads=None, families=...)``: features of arrays, a DataFrame;
- ``read_record(path)``, ``open_dataset(path)``, ``FeatureStore(path).read(dataset)``;
- ``ECGFeatures``: the extraction as a scikit-learn transformer on raw signals;
- ``MultiLabelThresholdClassifier``: any classifier, one-vs-rest, per-class F1-optimal thresholds;
- ``IterativeStratifiedGroupKFold``: the multi-label, patient-grouped folds of ``ecgfeat train``;
- ``CNNClassifier``: the ResNet-1D comparator (needs torch).
"""

__version__ = "0.1.0"

_EXPORTS = {
    "extract_features": "ecgfeat.features.transformer",
    "feature_names": "ecgfeat.features.transformer",
    "read_record": "ecgfeat.api",
    "open_dataset": "ecgfeat.datasets",
    "Record": "ecgfeat.record",
    "RecordError": "ecgfeat.record",
    "DatasetError": "ecgfeat.datasets",
    "FeatureStore": "ecgfeat.store",
    "StoreError": "ecgfeat.store",
    "FeatureSettings": "ecgfeat.features.settings",
    "ECGFeatures": "ecgfeat.features.transformer",
    "MultiLabelThresholdClassifier": "ecgfeat.models.threshold",
    "IterativeStratifiedGroupKFold": "ecgfeat.evaluation.folds",
    "CNNClassifier": "ecgfeat.deep.estimator",
    "LEADS": "ecgfeat.vocab",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ecgfeat' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))

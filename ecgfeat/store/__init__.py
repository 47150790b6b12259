"""The Parquet feature store of `ecgfeat extract`.

    <root>/manifest.json                          commit point: datasets, live parts, family versions
    <root>/<dataset>/records/part-<seq>.parquet   one row per record: hashes, signature, info, labels
    <root>/<dataset>/<family>/part-<seq>.parquet  one row per record: float32 `{lead}__{family}__...`
    <root>/<dataset>/errors/part-<seq>.parquet    one row per record and failed stage

After `compact` every table is one part holding each record once, so plain pandas / polars /
duckdb reads of `<root>/<dataset>/<table>` need no ecgfeat.
"""

from .results import RecordResult, StoreError, StoreLockedError


_LAZY = {"FeatureStore": "store", "StoreData": "store", "frame_targets": "_read", "fsync_dir": "_files",
         "flock": "_files"}


def __getattr__(name):  # FeatureStore needs pandas + pyarrow; workers import only RecordResult
    if name in _LAZY:
        from importlib import import_module
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["FeatureStore", "RecordResult", "StoreData", "StoreError", "StoreLockedError", "frame_targets",
           "fsync_dir", "flock"]

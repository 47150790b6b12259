"""The CNN's training data: signal cache -> labelled Signals, classes and the shared 10 folds."""

from __future__ import annotations

from pathlib import Path

from .cache import SignalCache

CACHE_VERSION = "1"     # of cache.prepare (median removal, float16): part of the data fingerprint


def cache_root(cfg) -> Path:
    return Path(cfg.cache) if cfg.cache else Path("signal_cache")


def load_signals(cfg, progress=None):
    """(X Signals, Y, classes, folds, notes) of `cfg` (a TrainConfig with model "cnn"): the same
    labelled records, classes and folds as `training.load_matrix` gives the classical models
    (both select them with `models.labelled.select_labelled`)."""
    from ..models.labelled import has_patient_ids, select_labelled, store_fingerprint
    from ..store import frame_targets
    from .presets import from_dict

    if not cfg.data_path:
        raise ValueError("the cnn trains on signals: give the dataset folder (--data)")
    settings = from_dict(cfg.cnn or {})
    cache = SignalCache(cache_root(cfg), cfg.dataset, settings.fs)
    cache.build(cfg.data_path, jobs=cfg.jobs, progress=progress)     # no-op when the cache is complete
    sig, index = cache.open()
    info = index[index["error"].isna()].sort_index()
    y, labeled, _, folds, groups = frame_targets(info, cfg.labels)
    X, Y, classes, fold_of, notes = select_labelled(sig, y, labeled, folds, groups, cfg,
                                                    has_patients=has_patient_ids(info))
    notes["fingerprint"] = store_fingerprint(index, {"signal-cache": f"{CACHE_VERSION}@{settings.fs:g}hz"}, ["signal-cache"])
    notes["source_path"] = str(Path(cfg.data_path).resolve())
    notes["cache"] = str(cache.dir)
    return X, Y, classes, fold_of, notes

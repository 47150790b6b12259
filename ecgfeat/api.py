"""The public Python API in one module: ``read_record`` here, and the array features of
features/transformer.py (``extract_features``, ``feature_names``, ``ECGFeatures``) re-exported.

``ecgfeat/__init__.py`` exports these names lazily; see docs/python.md.
"""

from __future__ import annotations

import os

from .features.transformer import (EXPERT_ANY_LEADS, RECORD_LEVEL_LEADS, ECGFeatures, as_record,
                                   extract_features, feature_names, parse_lead_names)
from .record import Record, RecordError

__all__ = ["ECGFeatures", "EXPERT_ANY_LEADS", "RECORD_LEVEL_LEADS", "as_record", "extract_features",
           "feature_names", "parse_lead_names", "read_record"]


def read_record(path: str | os.PathLike, fs: float | None = None) -> Record:
    """Read one ECG record file: a WFDB ``.hea`` (or its ``.dat``/``.mat``, or the base path
    without extension), a CPSC 2018 ``.mat`` or an SPH ``.h5``.

    Returns a :class:`~ecgfeat.record.Record`: ``signal`` (12, samples) float32 mV in the
    standard lead order, ``fs`` Hz, ``age``, ``sex``, ``codes`` (labels as the file writes them),
    resampled to ``fs`` when given. Raises ``DatasetError`` / ``RecordError`` with a one-line reason.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from ecgfeat import read_record
    >>> from ecgfeat.synth import synthesize
    >>> folder = synthesize(tempfile.mkdtemp(), n=1, seed=0)
    >>> rec = read_record(f"{folder}/S00001")
    >>> rec.signal.shape, rec.fs, rec.leads[:3]
    ((12, 5000), 500.0, ('I', 'II', 'III'))
    """
    from pathlib import Path

    from .datasets import DatasetError, open_dataset

    p = Path(path)
    if not p.exists():
        for ext in (".hea", ".mat", ".h5"):
            if Path(f"{p}{ext}").is_file():
                p = Path(f"{p}{ext}")
                break
    if p.is_dir():
        raise DatasetError(f"{p}: a folder, not a record; use ecgfeat.open_dataset for a folder")
    ds = open_dataset(p)
    refs = ds.refs()
    if not refs:
        raise RecordError(ds.index_errors[0][1] if ds.index_errors else f"{p}: no record found")
    return ds.read(refs[0], fs=fs) if fs else ds.read(refs[0])

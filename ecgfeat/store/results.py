"""What a worker hands to the feature store for one record (cheap to import: no pandas/pyarrow).

A worker computes a `RecordResult` per record; the parent process batches them into
`FeatureStore.write`. The exceptions live here too so that callers can catch them without
importing the store.

A family's features travel compactly (`compact_features`): a `FeatureRow` of the column names and
one float32 array, the values the store would keep (it stores float32). The names tuple is
shared by every record of a worker that has the same columns, so a chunk's pickle carries the
names once and ~4 bytes per feature and record (45 KB -> ~5 KB per record with the default
families), and the parent stacks the arrays instead of walking dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class StoreError(Exception):
    """The feature store cannot be used as asked; the message is one line naming the file at fault."""


class StoreLockedError(StoreError):
    """Another writer holds the store's lock."""


@dataclass
class RecordResult:
    """One record's outcome of an extract run.

    record_id    the record's id inside its dataset (the store key is dataset + record_id)
    source_hash  content hash of the record's source files ("" when they cannot be read at all)
    signature    cheap stat signature of the source files (sizes + mtimes), so a warm run can
                 skip hashing files whose signature is unchanged
    info         record-level columns of the `records` table: path, fs, duration_s, age, sex,
                 codes, code_system, labels__<scheme> (';'-joined classes, null when the scheme
                 does not apply, "" when it applies and no class is present), strat_fold,
                 patient_id ... JSON-able scalars; lists/tuples are stored ';'-joined, dicts as
                 JSON text; a key missing from a record is null
    features     family -> {column: value}, or a FeatureRow (compact_features); values become
                 float32 (None -> NaN)
    errors       (stage, one-line reason): the stage is a family name for a failed family, or a
                 record-level stage such as "read"
    """

    record_id: str
    source_hash: str
    signature: str = ""
    info: dict = field(default_factory=dict)
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


class FeatureRow(NamedTuple):
    """One family's features of one record: column names and their float32 values (same order)."""

    names: tuple[str, ...]
    values: object      # np.ndarray (float32, 1-D); typed loosely: this module does not import numpy

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.values.tolist()))


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}   # one tuple object per set of columns, per process


def compact_features(features: dict[str, dict[str, float]]) -> dict:
    """{family: FeatureRow} for {family: {column: value}}; a family whose values are not all numbers
    (None is NaN) stays a dict, so that the store names the offending column."""
    import numpy as np

    out = {}
    for fam, row in features.items():
        if isinstance(row, FeatureRow) or not isinstance(row, dict):
            out[fam] = row
            continue
        names = tuple(row)
        try:
            values = np.array(list(row.values()), dtype=np.float32)
        except (TypeError, ValueError):
            out[fam] = row
            continue
        if values.shape != (len(names),):
            out[fam] = row
            continue
        out[fam] = FeatureRow(_NAMES.setdefault(names, names), values)
    return out

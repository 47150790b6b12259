"""What a worker hands to the feature store for one record (cheap to import: no pandas/pyarrow).

A worker computes a `RecordResult` per record; the parent process batches them into
`FeatureStore.write`. The exceptions live here too so that callers can catch them without
importing the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    features     family -> {column: value}; values become float32 (None -> NaN)
    errors       (stage, one-line reason): the stage is a family name for a failed family, or a
                 record-level stage such as "read"
    """

    record_id: str
    source_hash: str
    signature: str = ""
    info: dict = field(default_factory=dict)
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

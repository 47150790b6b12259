"""The dataset interface: a cheap index of record references, and a reader of one record.

A Dataset never holds signals: `refs()` lists what is there (file names, labels from an
index file), `read(ref)` decodes one record into a `Record` or raises `RecordError`.
`iter_records()` walks them lazily, yielding (ref, Record | RecordError).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..paths import resolves_inside
from ..record import Record, RecordError, check_signal


class DatasetError(Exception):
    """A path that holds no dataset ecgfeat can read (one-line message saying what was looked for)."""


@dataclass(frozen=True)
class RecordRef:
    record_id: str
    path: str                       # main signal file (or header) of the record, absolute
    files: tuple[str, ...] = ()     # every file the record is decoded from (for content hashing)
    extra: tuple = ()               # reader-specific, hashable (e.g. (("strat_fold", 3),))

    def extra_dict(self) -> dict:
        return dict(self.extra)


@dataclass
class Dataset:
    """Base class: subclasses set `format` and implement `refs` and `read`."""

    root: Path
    name: str = ""
    format: str = "?"
    index_errors: list[tuple[str, str]] = field(default_factory=list)  # (record, reason) found while indexing
    notes: dict = field(default_factory=dict)  # extra facts for `data info` (e.g. labels without a signal)

    def __post_init__(self):
        self.root = Path(self.root)
        if not self.name:
            self.name = self.root.resolve().name

    def refs(self) -> list[RecordRef]:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, ref: RecordRef, fs: float | None = None) -> Record:  # pragma: no cover - abstract
        """Decode one record (resampled to `fs` Hz when given) or raise RecordError."""
        raise NotImplementedError

    def iter_records(self, refs: list[RecordRef] | None = None,
                     fs: float | None = None) -> Iterator[tuple[RecordRef, Record | RecordError]]:
        for ref in (self.refs() if refs is None else refs):
            try:
                yield ref, self.read(ref, fs=fs) if fs else self.read(ref)
            except RecordError as err:
                yield ref, err
            except Exception as err:  # a reader bug or an odd file must not stop the batch
                yield ref, RecordError(f"{ref.path}: {type(err).__name__}: {err}")


@dataclass
class IndexedDataset(Dataset):
    """A Dataset whose refs come once from `_index()` (which may append to `index_errors`).

    The index is left out of pickles: joblib workers only `read`, and a 40k-record index need
    not travel with every task. `refs()` rebuilds it if ever called on such a copy.
    """

    def _index(self) -> list[RecordRef]:  # pragma: no cover - abstract
        raise NotImplementedError

    def refs(self) -> list[RecordRef]:
        if getattr(self, "_refs", None) is None:
            self.index_errors = []
            self._refs = self._index()
        return list(self._refs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_refs"] = None
        return state


def finish(record: Record, fs: float | None, where: str) -> Record:
    """Validate a decoded record (record.check_signal) and resample it to `fs` when asked."""
    flat = check_signal(record.signal, record.fs, where)
    if flat:
        record.meta["flat_leads"] = flat
        record.meta["warning"] = f"{where}: flat lead(s) {', '.join(flat)} (peak-to-peak < 5 uV); their features will be NaN"
    return record.resampled(fs) if fs else record


def check_inside(root: str | os.PathLike | None, path: str) -> None:
    """RecordError when `path` resolves (through symlinks) outside the dataset folder `root`.

    A dataset from elsewhere is data: a link in it must not make ecgfeat read, and copy into a
    store or a report, other files of this machine. Links that stay inside the folder are fine.
    """
    if root is None:
        return
    inside, real = resolves_inside(path, root)
    if not inside:
        raise RecordError(f"{path}: symlink leads outside the dataset folder (to {real})")


def content_hash(files: tuple[str, ...] | list[str]) -> str:
    """sha1 over the bytes of the files a record is decoded from (missing files hash as absent)."""
    h = hashlib.sha1()
    for f in files:
        h.update(os.path.basename(f).encode())
        try:
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()

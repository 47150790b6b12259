"""A warm `extract` without opening the dataset: the fingerprint of a dataset folder, kept in the manifest.

Planning an unchanged dataset costs what opening it costs (a reader, its index, pandas, pyarrow,
the store's key columns) for no work. So a run that ends with everything stored records, in the
dataset's manifest entry, a fingerprint of the folder it read (`fingerprint`: every directory's
and every file's size and mtime, found by one walk) under a key of what it was asked (`key`: the
folder, --name, --limit, the feature tables and their versions). The next run with the same key
compares (`check`): the same fingerprint means no file was added, removed, resized or modified,
and since any commit to the dataset drops the entry (FeatureStore._commit), nothing in the store
changed either, so there is nothing to compute. Any difference, a folder holding a directory
symlink (its target is not walked), or another writer holding the lock, and the run plans as
usual. The guarantee is that of the stat signatures the planner already trusts: a file
rewritten with the same size and mtime is not seen.

This module imports only the standard library: it runs before anything heavy is loaded.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path

MANIFEST, LOCK = "manifest.json", ".lock"   # as in _files.py (which imports pyarrow)


def key(path, settings, name: str | None, limit: int | None) -> str:
    """What a run was asked, as one string: the folder, --name, --limit, the tables and versions."""
    return json.dumps({"path": os.path.abspath(path), "name": name, "limit": limit,
                       "versions": settings.versions()}, sort_keys=True)


def fingerprint(path, exclude=None) -> str | None:
    """sha1 over (relative path, size, mtime) of every directory and file under the folder `path`
    (`exclude`: a folder left out, e.g. a store kept inside the dataset); None when `path` is not
    a folder or holds a symlink to a directory (whose contents a walk does not follow)."""
    root = os.path.abspath(path)
    if not os.path.isdir(root):
        return None
    skip = os.path.abspath(exclude) if exclude is not None else None
    h = hashlib.sha1()
    for top, dirs, files in os.walk(root, onerror=_raise):
        dirs.sort()
        if skip is not None:
            dirs[:] = [d for d in dirs if os.path.join(top, d) != skip]
        st = os.stat(top)
        h.update(f"{os.path.relpath(top, root)}\0d\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        for d in dirs:
            if os.path.islink(os.path.join(top, d)):
                return None
        for f in sorted(files):
            try:
                st = os.stat(os.path.join(top, f))
                h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            except OSError:
                h.update(f"{f}\0missing\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _raise(err: OSError):
    raise err


def check(path, store_root, settings, name: str | None, limit: int | None) -> dict | None:
    """The `extract --json` object of a run with nothing to do, or None when the run must plan."""
    root = Path(store_root)
    try:
        text = (root / MANIFEST).read_text(encoding="utf-8")
        lock = os.open(root / LOCK, os.O_RDWR)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)   # a writer at work: plan (and wait) as usual
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise
        try:
            manifest = json.loads(text)
            k = key(path, settings, name, limit)
            for entry in manifest.get("datasets", {}).values():
                warm = (entry.get("warm") or {}).get(k)
                if warm is None:
                    continue
                try:
                    fp = fingerprint(path, exclude=root)
                except OSError:
                    return None
                if fp is None or fp != warm.get("fingerprint"):
                    return None
                was = warm["out"]
                return {"store": str(store_root), "dataset": was["dataset"], "records": was["records"],
                        "computed": 0, "skipped": was["skipped"], "errors": 0, "seconds": 0.0,
                        "records_per_s": None, "families": was["families"], "format": was["format"],
                        "first_errors": []}
        except (ValueError, AttributeError, TypeError, KeyError):
            return None      # an odd manifest: the usual path says what is wrong with it
        return None
    finally:
        os.close(lock)


def entry(fp: str | None, out: dict, skipped_next: int) -> dict | None:
    """What `FeatureStore.remember_warm` keeps for a complete run (None: nothing to keep)."""
    if fp is None:
        return None
    keep = {k: out[k] for k in ("dataset", "records", "families", "format")}
    keep["skipped"] = skipped_next
    return {"fingerprint": fp, "out": keep}

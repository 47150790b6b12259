"""Files of the feature store: the manifest (commit point), atomic Parquet parts, the writer lock.

Layout::

    <root>/manifest.json                       the commit point (tmp + fsync + os.replace)
    <root>/.lock                               flock of the writer
    <root>/<dataset>/<table>/part-<seq>.parquet   table = records | errors | <family>
    <root>/<dataset>/<table>/.part-<seq>.parquet.tmp-<pid>   a part being written

A part file that the manifest does not list is an orphan (a killed write): readers ignore it
and the next writer deletes it. Temporary files start with "." so that pyarrow / pandas /
duckdb directory reads skip them.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..paths import resolves_inside
from .results import StoreError, StoreLockedError

MANIFEST = "manifest.json"
LOCK = ".lock"
STORE_FORMAT = "ecgfeat-feature-store"
STORE_FORMAT_VERSION = 1
RESERVED_TABLES = ("records", "errors")
PART_RE = re.compile(r"^part-(\d+)\.parquet$")
TMP_RE = re.compile(r"^\.part-(\d+)\.parquet\.tmp(-\d+)?$")


def part_name(seq: int) -> str:
    return f"part-{seq:06d}.parquet"


def part_seq(name: str) -> int:
    m = PART_RE.match(name)
    if not m:
        raise StoreError(f"{name}: not a part file name (expected part-<seq>.parquet)")
    return int(m.group(1))


def check_name(name: str, what: str) -> str:
    """A dataset / family name is a folder name: no path separator, not hidden, at most 200 chars."""
    if (not isinstance(name, str) or not name.strip() or len(name) > 200 or name != name.strip()
            or any(c in name for c in "/\\\0\n\r") or name[0] in "._" or name == MANIFEST):
        raise ValueError(f"invalid {what} name {name!r}: it names a folder of the store (no '/', not "
                         "starting with '.' or '_', no surrounding spaces)")
    return name


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- manifest

def empty_manifest() -> dict:
    return {"format": STORE_FORMAT, "format_version": STORE_FORMAT_VERSION, "datasets": {}}


def empty_dataset_entry() -> dict:
    return {"source_path": None, "format": None, "next_seq": 1, "families": {}, "tables": {},
            "updated": None}


def any_parts(root: Path) -> Path | None:
    """The first part file under `root` (any dataset, any table), or None."""
    if not root.is_dir():
        return None
    for ds in sorted(root.iterdir()):
        if not ds.is_dir() or ds.name.startswith("."):
            continue
        for table in sorted(ds.iterdir()):
            if table.is_dir():
                for f in sorted(table.iterdir()):
                    if PART_RE.match(f.name):
                        return f
    return None


def load_manifest(root: Path) -> dict | None:
    """The committed manifest; None for a store that holds nothing yet.

    StoreError (one line, naming the file) when the manifest is corrupt, or missing while part
    files are present (someone deleted it: the parts can no longer be told from orphans).
    """
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        part = any_parts(root)
        if part is not None:
            raise StoreError(f"{path}: manifest is missing but the store holds part files (e.g. {part}); "
                             "restore manifest.json or delete the store folder and extract again") from None
        return None
    except OSError as e:
        raise StoreError(f"{path}: cannot read the manifest ({e.strerror or e})") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise StoreError(f"{path}: corrupt manifest, not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != STORE_FORMAT or not isinstance(data.get("datasets"), dict):
        raise StoreError(f"{path}: not an ecgfeat feature-store manifest (format key {data.get('format')!r})"
                         if isinstance(data, dict) else f"{path}: corrupt manifest (not a JSON object)")
    if data.get("format_version", 0) > STORE_FORMAT_VERSION:
        raise StoreError(f"{path}: store format version {data['format_version']} is newer than this "
                         f"ecgfeat understands ({STORE_FORMAT_VERSION}); upgrade ecgfeat")
    for name, entry in data["datasets"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("tables"), dict):
            raise StoreError(f"{path}: corrupt manifest (entry of dataset {name!r} is malformed)")
        _check_entry(path, name, entry)
    return data


def _check_entry(path: Path, dataset: str, entry: dict) -> None:
    """Every name the manifest hands to the file system is one plain name inside the store:
    dataset and table names are folder names, part names are `part-<seq>.parquet`. A manifest
    from elsewhere naming `../x`, `/abs/path` or a hidden file is refused, never followed."""
    def bad(what: str, value) -> StoreError:
        return StoreError(f"{path}: refusing manifest: {what} {value!r} of dataset {dataset!r} is not a plain "
                          "name inside the store (no path separators, '..' or absolute paths)")
    try:
        check_name(dataset, "dataset")
    except ValueError:
        raise StoreError(f"{path}: refusing manifest: dataset name {dataset!r} is not a plain folder name "
                         "inside the store (no path separators, '..' or absolute paths)") from None
    families = entry.get("families", {})
    if not isinstance(families, dict):
        raise StoreError(f"{path}: corrupt manifest (families of dataset {dataset!r} is not an object)")
    for table, parts in entry["tables"].items():
        try:
            check_name(table, "table")
        except ValueError:
            raise bad("table name", table) from None
        if not isinstance(parts, list):
            raise StoreError(f"{path}: corrupt manifest (parts of table {table!r} of dataset {dataset!r} "
                             "is not a list)")
        for part in parts:
            if not isinstance(part, str) or not PART_RE.match(part):
                raise bad(f"part of table {table!r}", part)
    for fam in families:
        try:
            check_name(fam, "family")
        except ValueError:
            raise bad("family name", fam) from None


def commit_manifest(root: Path, manifest: dict, fsync: bool = True) -> None:
    """Write the manifest atomically: tmp file, fsync, os.replace, fsync of the folder."""
    path = root / MANIFEST
    tmp = root / f".{MANIFEST}.tmp-{os.getpid()}"
    data = json.dumps(manifest, indent=1, sort_keys=False).encode("utf-8")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        if fsync:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if fsync:
        fsync_dir(root)


# --------------------------------------------------------------------------- parts

def row_group_rows(schema: pa.Schema) -> int:
    """Rows per row group: ~128 MB of data, 1k..64k rows. A wide feature table (thousands of
    columns) stored in small row groups reads many times slower (one column chunk per group)."""
    width = sum(4 if pa.types.is_float32(f.type) else 8 if pa.types.is_primitive(f.type) else 16 for f in schema)
    return int(min(65536, max(1024, (128 << 20) // max(width, 1))))


def write_part(table: pa.Table | None, folder: Path, seq: int, fsync: bool = True,
               schema: pa.Schema | None = None, tables=None) -> str:
    """Write a part folder/part-<seq>.parquet atomically (tmp + rename); returns its name.

    Either one `table`, or a `schema` and an iterable of `tables` of that schema (streamed, so
    that compaction holds one source part in memory at a time).
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = part_name(seq)
    tmp = folder / f".{name}.tmp-{os.getpid()}"
    if table is not None:
        schema, tables = table.schema, [table]
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    group = row_group_rows(schema)
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd", use_dictionary=strings or False,
                              write_statistics=strings or False) as writer:
            pending, rows = [], 0
            for t in tables:  # buffer small tables: one row group per few parts, not per part
                pending.append(t)
                rows += t.num_rows
                if rows >= group:
                    writer.write_table(pa.concat_tables(pending), row_group_size=group)
                    pending, rows = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=group)
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, folder / name)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    if fsync:
        fsync_dir(folder)
    return name


def _guarded(path: Path, read):
    """`read(path)`, with a missing part as FileNotFoundError and an unreadable one as StoreError."""
    try:
        return read(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "part file is missing", str(path)) from None
    except (pa.ArrowException, OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(f"{path}: unreadable Parquet part ({msg}); the file is corrupt or truncated - "
                         "delete the dataset folder from the store and extract again") from None


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part (only `columns` when given); StoreError naming the file when it is unreadable."""
    return _guarded(path, lambda p: pq.ParquetFile(p).read(columns=columns, use_threads=True))


def part_rows(path: Path) -> int:
    return _guarded(path, lambda p: pq.ParquetFile(p).metadata.num_rows)


def part_schema(path: Path) -> pa.Schema:
    return _guarded(path, pq.read_schema)


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """Union of part schemas (field order of first appearance); numeric types are promoted and
    a field whose types cannot be merged (e.g. int in one part, text in another) becomes string."""
    fields: dict[str, pa.DataType] = {}
    for schema in schemas:
        for f in schema:
            old = fields.get(f.name)
            if old is None or old == f.type:
                fields[f.name] = f.type
            elif pa.types.is_null(old):
                fields[f.name] = f.type
            elif pa.types.is_null(f.type):
                continue
            else:
                try:
                    fields[f.name] = pa.unify_schemas([pa.schema([(f.name, old)]), pa.schema([(f.name, f.type)])],
                                                      promote_options="permissive").field(f.name).type
                except (pa.ArrowException, TypeError):
                    fields[f.name] = pa.string()
    return pa.schema(list(fields.items()))


def align(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly the fields of `schema` (missing ones null, types cast)."""
    arrays = []
    for f in schema:
        i = table.schema.get_field_index(f.name)
        if i < 0:
            arrays.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(i)
        if col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def clean_dataset(folder: Path, live: dict[str, list[str]]) -> int:
    """Delete part / temp files under `folder` that `live` (table -> part names) does not list.

    Only files named like parts or part temps are touched; folders left empty are removed.
    Returns the number of files deleted.
    """
    if not folder.is_dir():
        return 0
    n = 0
    if folder.is_symlink():  # never delete through a link: the files it reaches are not the store's
        return 0
    for table in folder.iterdir():
        if not table.is_dir() or table.is_symlink():
            continue
        keep = set(live.get(table.name, ()))
        for f in table.iterdir():
            if (PART_RE.match(f.name) and f.name not in keep) or TMP_RE.match(f.name):
                try:
                    f.unlink()
                    n += 1
                except FileNotFoundError:
                    pass
        if table.name not in live:
            try:
                table.rmdir()
            except OSError:
                pass
    return n


def check_inside(root: Path, dataset: str, tables: dict[str, list[str]]) -> None:
    """StoreError when the dataset folder, a table folder or a live part is a symlink leading out
    of the store: a store received from elsewhere must not make ecgfeat read, write or delete
    files outside it."""
    folder = root / dataset
    paths = [folder] + [folder / t for t in tables] + [folder / t / p for t, ps in tables.items() for p in ps]
    for p in paths:
        if p.is_symlink():
            inside, target = resolves_inside(p, root)
            if not inside:
                raise StoreError(f"{p}: symlink to {target}, outside the store {root}; refusing to follow it")


# --------------------------------------------------------------------------- lock

@contextmanager
def flock(root: Path, timeout: float = 0.0):
    """Exclusive flock on <root>/.lock for the duration of the block.

    timeout 0: refuse at once with StoreLockedError when another writer holds it; otherwise
    wait up to `timeout` seconds before refusing.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    try:
                        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                    except OSError:
                        holder = ""
                    who = f" (pid {holder})" if holder.isdigit() else ""
                    raise StoreLockedError(f"{root}: feature store is locked by another writer{who}; "
                                           "wait for it to finish") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock

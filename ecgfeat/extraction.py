"""`ecgfeat extract`: dataset -> feature families -> store, incrementally, in parallel, kill-safe.

For each record the run decides what the store lacks: a record whose files are unchanged (stat
signature, else content hash) and whose every requested family is stored at the current version
(or failed at it) is skipped; otherwise only the missing or outdated families are computed.

Who does what. This process only plans and writes: it stats the record files and reads the
store's key columns. Workers (joblib processes with one BLAS/OpenMP thread each, or with
`scheduler` the workers of a Dask cluster, cluster.py) do every per-record step: hash a new
record's files, read and decode it, compute its features, and hand back compact results (one
float32 array per family and record, the column names once per chunk: store/results.py). This
process appends them to the store in batches, each batch an atomic commit, so a kill loses at
most the batch in flight and the next run finishes the rest. The store is compacted at the end. A
second run on a store that another run is writing waits for the writer lock, then plans again.

A run that ends with everything stored leaves a fingerprint of the dataset folder beside the
store (store/warm.py); the next run with the same settings compares it first and, when nothing in the
folder or the store changed, is done without opening the dataset (a warm run in well under a
second, most of it Python's start-up).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .store.results import RecordResult, compact_features

if TYPE_CHECKING:  # the planning process imports no reader, no signal code
    from .datasets.base import Dataset, RecordRef
    from .features.settings import FeatureSettings
    from .record import Record

# records per store commit ... A part costs the same to write (and to read back when compacting)
# for 128 rows as for 512: per column, not per row (~40 ms for the 544 tsfresh columns, zstd)
WRITE_EVERY = int(os.environ.get("ECGFEAT_WRITE_EVERY", 512))
WRITE_SECONDS = 15.0     # ... or this often, whichever first
CHUNK = max(1, min(8, WRITE_EVERY))   # records per joblib task
# records per Dask task: every task costs the client (which also hosts a local scheduler) and
# the worker's event loop some CPU, taken from the workers when all cores compute
DASK_CHUNK = max(1, min(int(os.environ.get("ECGFEAT_DASK_CHUNK", 32)), WRITE_EVERY))
MAX_ERRORS_SHOWN = 10                  # error reasons of this run listed in the result


def signature(files) -> str:
    """Cheap stat signature (size + mtime of each file) used to skip re-hashing unchanged files."""
    parts = []
    for f in files:
        try:
            st = os.stat(f)
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append("missing")
    return ";".join(parts)


def record_info(rec: Record) -> dict:
    from .labels import applicable_schemes, labels_for

    info = {"path": rec.source, "fs": float(rec.fs), "duration_s": float(rec.duration_s), "age": rec.age,
            "sex": rec.sex, "codes": ";".join(rec.codes), "code_system": rec.code_system,
            "strat_fold": rec.meta.get("strat_fold"), "patient_id": rec.meta.get("patient_id"),
            "flat_leads": ";".join(rec.meta.get("flat_leads", [])) or None}
    for scheme in ("cpsc9", "ptbxl-super", "raw"):
        info[f"labels__{scheme}"] = ";".join(labels_for(rec, scheme)) if scheme in applicable_schemes(rec.code_system) else None
    return info


@dataclass
class Job:
    ref: RecordRef
    source_hash: str                # "" for a record the store has never seen: the worker hashes it
    signature: str
    families: tuple[str, ...]       # families (not tables) to compute


def _work_chunk(jobs: list[Job], ds: Dataset, settings: FeatureSettings) -> list[RecordResult]:
    """_work with the chunk first (the Dask task: the dataset and settings are scattered once)."""
    return _work(ds, jobs, settings)


_SHARED: tuple | None = None   # (dataset, settings) of a pool worker (pool.py), set once by _init_shared


def _init_shared(ds: Dataset, settings: FeatureSettings) -> None:
    """A pool worker's set-up: the dataset and settings once, one BLAS/OpenMP thread for its life."""
    global _SHARED
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    _SHARED = (ds, settings)


def _work_shared(jobs: list[Job]) -> list[RecordResult]:
    """_work on a pool worker's dataset and settings (threads already limited by _init_shared)."""
    ds, settings = _SHARED
    return _work(ds, jobs, settings, limit_threads=False)


def _work(ds: Dataset, jobs: list[Job], settings: FeatureSettings, limit_threads: bool = True) -> list[RecordResult]:
    """Every per-record step of a chunk, in a worker: hash (new records), read, extract, compact."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    from .datasets.base import content_hash
    from .features.extract import extract_features
    from .features.settings import FeatureSettings
    from .record import RecordError

    out = []
    with threadpool_limits(1) if limit_threads else nullcontext():   # ~2 ms per call
        for job in jobs:
            h = job.source_hash or content_hash(job.ref.files or (job.ref.path,))
            res = RecordResult(job.ref.record_id, h, job.signature)
            try:
                rec = ds.read(job.ref)
            except RecordError as err:
                res.errors.append(("read", str(err)))
            except Exception as err:  # a reader bug must not stop the batch
                res.errors.append(("read", f"{job.ref.path}: {type(err).__name__}: {err}"))
            else:
                res.info = record_info(rec)
                sub = FeatureSettings(families=job.families, tsfresh_set=settings.tsfresh_set)
                features, res.errors = extract_features(rec, sub)
                res.features = compact_features(features)
            out.append(res)
    return out


def plan(ds: Dataset, store, settings: FeatureSettings, limit: int | None = None) -> tuple[list[Job], list[RecordResult], int]:
    """(jobs to run, index errors not yet stored, records skipped) given what the store holds;
    `limit` keeps the first N records of the dataset's index.

    Only a record the store holds under another stat signature is hashed here (to tell a touched
    file from a changed one); a record new to the store is hashed by its worker."""
    from .datasets.base import content_hash

    status = store.status(ds.name)
    versions = settings.versions()
    fam_of_table = dict(zip(settings.tables(), settings.families))
    jobs, skipped, touched = [], 0, {}
    known = status.index
    sigs = status["signature"].to_dict() if len(status) else {}
    for ref in ds.refs()[:limit]:
        files = ref.files or (ref.path,)
        sig = signature(files)
        if ref.record_id not in known:
            jobs.append(Job(ref, "", sig, settings.families))
            continue
        row = status.loc[ref.record_id]
        if sigs[ref.record_id] == sig:
            h = row["source_hash"]
        else:
            h = content_hash(files)
            if row["source_hash"] == h:
                touched[ref.record_id] = sig       # same bytes, new stat (copied, touched): remember it
        if row["source_hash"] == h:
            if "read" in (row["error_families"] or ()):
                skipped += 1                         # unreadable before, unchanged now
                continue
            need = tuple(fam_of_table[t] for t in settings.tables()
                         if t not in row.index or row[t] != versions[t])
        else:
            need = settings.families
        if need:
            jobs.append(Job(ref, h, sig, need))
        else:
            skipped += 1
    if touched:
        store.touch(ds.name, touched)
    index_errors = []
    for rid, reason in ds.index_errors:  # e.g. duplicate ids: stored once, not rewritten every run
        if rid in status.index and "read" in (status.loc[rid, "error_families"] or ()):
            skipped += 1
        else:
            index_errors.append(RecordResult(rid, "", "", errors=[("read", reason)]))
    return jobs, index_errors, skipped


def chunked(todo: list[Job], size: int, workers: int) -> list[list[Job]]:
    """Chunks of `size` jobs, the last `size * workers` jobs in chunks of a quarter of that: the
    workers then finish within a couple of records of each other, not a whole chunk apart."""
    if workers <= 1 or size <= 1:
        return [todo[i:i + size] for i in range(0, len(todo), size)]
    cut = max(0, len(todo) - size * workers) // size * size
    small = max(1, size // 4)
    return ([todo[i:i + size] for i in range(0, cut, size)]
            + [todo[i:i + small] for i in range(cut, len(todo), small)])


def _local_results(ds: Dataset, chunks: list[list[Job]], settings: FeatureSettings, workers: int, server):
    """Results of every chunk: in this process (one worker), from the fork server's warm workers
    (pool.py), or where there is none from joblib's."""
    if workers == 1:
        return (_work(ds, c, settings) for c in chunks)
    if server is not None:
        from .pool import imap_unordered
        return imap_unordered(server, workers, _init_shared, (ds, settings), _work_shared, chunks)
    from joblib import Parallel, delayed

    # one OpenMP/BLAS thread per worker (joblib's loky backend sets the thread limits of its
    # workers from n_jobs; _work also holds threadpool_limits(1))
    return Parallel(n_jobs=workers, return_as="generator_unordered", inner_max_num_threads=1)(
        delayed(_work)(ds, c, settings) for c in chunks)


@contextmanager
def _locked(store, wait: bool, on_wait: Callable[[str], None] | None):
    """The store's writer lock; when another run holds it, say so and wait (or refuse at once)."""
    from .store import StoreLockedError

    stack = ExitStack()
    try:
        stack.enter_context(store.lock())
    except StoreLockedError as err:
        if not wait:
            raise
        if on_wait:
            on_wait(str(err).split(";")[0])
        stack.enter_context(store.lock(timeout=float("inf")))
    with stack:
        yield


def run_extract(path: str | Path, store_root: str | Path, settings: FeatureSettings, jobs: int = 1,
                name: str | None = None, progress: Callable[[int], None] | None = None,
                on_plan: Callable[[int, int], None] | None = None, limit: int | None = None,
                scheduler: str | None = None, wait: bool = True,
                on_wait: Callable[[str], None] | None = None) -> dict:
    """Extract `settings` for every record of the dataset at `path` into the store; returns the
    SPEC's `extract --json` object. `jobs`: worker processes (-1 or 0: the cores free now,
    resources.resolve_jobs). `scheduler` ('tcp://host:port' or 'local:N') runs the records on a
    Dask cluster instead of joblib workers. `wait`: wait for another writer's lock."""
    from .store import warm

    t0 = time.perf_counter()
    if scheduler is None:
        done = warm.check(path, store_root, settings, name, limit)
        if done is not None:     # nothing changed since a complete run: no dataset, no store opened
            if on_plan:
                on_plan(0, done["skipped"])
            done["seconds"] = round(time.perf_counter() - t0, 3)
            return done
    server, want = None, 1
    if scheduler is None:
        from .resources import resolve_jobs
        want = resolve_jobs(jobs)
        if want > 1:   # the workers' imports start now, beside this process's imports and planning
            from .pool import start_server
            server = start_server()
    from .datasets import open_dataset
    from .store import FeatureStore

    if scheduler is not None:
        from .cluster import import_distributed, parse_scheduler
        parse_scheduler(scheduler)     # a bad spec or a missing extra fails before any work
        import_distributed()
    ds = open_dataset(path, name=name)
    store = FeatureStore(store_root)
    cluster_s = None
    with _locked(store, wait, on_wait), ExitStack() as stack:
        # taken before planning: a file changed while the run plans or computes shows next time
        try:
            fingerprint = warm.fingerprint(path, exclude=store_root) if scheduler is None else None
        except OSError:   # an unreadable folder: this run still plans, reads and says what fails
            fingerprint = None
        todo, index_errors, skipped = plan(ds, store, settings, limit)
        if scheduler is None:
            workers = max(1, min(want, -(-len(todo) // CHUNK)))
            chunks = chunked(todo, CHUNK, workers)
        else:
            workers = 1   # (a cluster with nothing to compute: nothing runs)
            chunks = [todo[i:i + DASK_CHUNK] for i in range(0, len(todo), DASK_CHUNK)]
        if scheduler is not None and chunks:
            from .cluster import connect, run_chunks
            t1 = time.perf_counter()
            client = stack.enter_context(connect(scheduler))
            cluster_s = time.perf_counter() - t1
            results = run_chunks(client, _work_chunk, chunks, ds, settings)
        else:
            results = _local_results(ds, chunks, settings, workers, server)
        if hasattr(results, "close"):   # an error below stops the workers now, not when collected
            stack.callback(results.close)
        if on_plan:
            on_plan(len(todo), skipped)
        versions = settings.versions()
        n_err, first_errors = 0, []
        buffer: list[RecordResult] = list(index_errors)
        last_write = time.perf_counter()

        def flush():
            nonlocal buffer, last_write, n_err
            if buffer:
                store.write(ds.name, buffer, versions, source_path=str(Path(path).resolve()), format=ds.format)
                n_err += sum(bool(r.errors) for r in buffer)
                first_errors.extend({"record": r.record_id, "stage": stage, "reason": reason}
                                    for r in buffer for stage, reason in r.errors[:1])
                del first_errors[MAX_ERRORS_SHOWN:]
                buffer = []
            last_write = time.perf_counter()

        for batch in results:
            buffer.extend(batch)
            if progress:
                progress(len(batch))
            if len(buffer) >= WRITE_EVERY or time.perf_counter() - last_write > WRITE_SECONDS:
                flush()
        flush()
        if ds.name in store.datasets():   # also finishes a compaction that a killed run left undone
            store.compact(ds.name)
        seconds = time.perf_counter() - t0
        computed = len(todo)
        n_records = len(ds.refs()[:limit]) + (len(ds.index_errors) if limit is None else 0)
        out = {"store": str(store_root), "dataset": ds.name, "records": n_records,
               "computed": computed, "skipped": skipped, "errors": n_err, "seconds": round(seconds, 3),
               "records_per_s": round(computed / seconds, 2) if computed and seconds > 0 else None,
               "families": list(settings.tables()), "format": ds.format, "first_errors": first_errors}
        if ds.name in store.datasets():   # everything planned is stored: the next run may skip planning
            skipped_next = len(ds.refs()[:limit]) + len(ds.index_errors)
            store.remember_warm(ds.name, warm.key(path, settings, name, limit),
                                warm.entry(fingerprint, out, skipped_next))
    if scheduler is not None:
        out["scheduler"] = scheduler
        out["cluster_start_s"] = None if cluster_s is None else round(cluster_s, 3)
    return out

"""Extraction chunks on a Dask cluster: `ecgfeat extract --scheduler tcp://HOST:PORT | local:N`.

Workers compute, the client writes. Each Dask task runs the same `_work` as a joblib task (a chunk
of records -> RecordResults: the worker hashes a new record's files, reads and decodes it, computes
its features and packs each family as one float32 array, store/results.py) and hands its results
back; the client commits them to the store exactly as the joblib path does. Why not part files
written by the workers:
- one writer keeps the store's rules in one place: the flock, the atomic manifest commit per
  batch, supersession by record id, compaction. Workers need read access to the dataset only
  (the same path on every machine: a shared mount), never write access to the store;
- a result is small (about 5 KB per record with the default features, the column names sent
  once per chunk: ~4 MB/s at 800 records/s), far below what the client can receive and Parquet
  can write;
- a worker that dies leaves nothing half-written anywhere: Dask reschedules the tasks it was
  running or holding on the others (`distributed.scheduler.allowed-failures`, 3 by default).
  A chunk that keeps killing its workers (a record that crashes the interpreter) is split and
  retried one record per task, so only the culprit ends as an error row.
The client keeps a bounded number of tasks in flight (memory stays flat for 800k records) and
advances the progress bar as futures complete.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from .store.results import RecordResult

INSTALL_HINT = "pip install 'ecgfeat[dask]'"
# the environment of worker processes (Dask's nanny default minus MALLOC_TRIM_THRESHOLD_; see connect)
WORKER_ENV = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
_TCP = re.compile(r"^(tcp|tls|ucx|inproc)://\S+$")


class ClusterError(Exception):
    """The Dask cluster cannot be used as asked (one line: which scheduler, and why)."""


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """('local', n_workers) for 'local:N', ('address', spec) for 'tcp://host:port'."""
    spec = spec.strip()
    if spec.startswith("local:"):
        n = spec.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ClusterError(f"--scheduler {spec}: expected local:N with N >= 1 workers")
        return "local", int(n)
    if _TCP.match(spec):
        return "address", spec
    raise ClusterError(f"--scheduler {spec}: expected tcp://HOST:PORT (a running `dask scheduler`) "
                       "or local:N (a LocalCluster of N workers on this machine)")


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--scheduler needs Dask, which is not installed: {INSTALL_HINT}") from None
    return distributed


def _worker_version() -> str:
    import ecgfeat
    return ecgfeat.__version__


def _probe(spec: str, timeout: float = 10.0) -> None:
    """Fail at once with the reason when nothing listens at a tcp:// address (Dask itself would
    retry for its whole connect timeout before saying so)."""
    import socket
    from urllib.parse import urlsplit

    if not spec.startswith("tcp://"):
        return
    u = urlsplit(spec)
    try:
        host, port = u.hostname, u.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ClusterError(f"--scheduler {spec}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ClusterError(f"--scheduler {spec}: no Dask scheduler answered ({err.strerror or err})") from None


@contextmanager
def connect(spec: str, wait_workers: float = 60.0) -> Iterator:
    """A dask.distributed Client for `spec`; a LocalCluster of one-thread worker processes on
    127.0.0.1 for local:N (closed on exit). Checks that workers are there and run this ecgfeat."""
    kind, arg = parse_scheduler(spec)
    distributed = import_distributed()
    import ecgfeat

    cluster = None
    try:
        if kind == "local":
            # One thread per worker process, as joblib's workers: tsfresh and numpy are faster
            # with one BLAS/OpenMP thread. And without the MALLOC_TRIM_THRESHOLD_ that Dask's
            # nanny sets by default: it fixes glibc's mmap threshold, every numpy temporary is
            # then mapped and unmapped, and a chunk took 1.6x as long (docs/extraction.md, Dask section).
            import dask

            with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENV}):
                cluster = distributed.LocalCluster(n_workers=arg, threads_per_worker=1, processes=True,
                                                   host="127.0.0.1", dashboard_address=":0",
                                                   silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            _probe(spec)
            try:
                client = distributed.Client(arg, timeout="15s")
            except (OSError, TimeoutError) as err:
                raise ClusterError(f"--scheduler {arg}: no Dask scheduler answered ({err})") from None
        try:
            try:
                client.wait_for_workers(1, timeout=wait_workers)
            except (TimeoutError, OSError):
                raise ClusterError(f"--scheduler {spec}: no worker joined within {wait_workers:.0f} s "
                                   "(start some with `dask worker " + str(client.scheduler.address) + "`)") from None
            versions = client.run(_worker_version)
            wrong = {w: v for w, v in versions.items() if v != ecgfeat.__version__}
            if wrong:
                w, v = next(iter(wrong.items()))
                raise ClusterError(f"--scheduler {spec}: worker {w} runs ecgfeat {v}, this client "
                                   f"{ecgfeat.__version__}; install the same version on every worker")
            yield client
        finally:
            client.close()
    except Exception as err:
        if isinstance(err, ModuleNotFoundError) and "ecgfeat" in str(err):
            raise ClusterError(f"--scheduler {spec}: the workers cannot import ecgfeat; "
                               "install it (and the dataset's path) on every worker machine") from None
        raise
    finally:
        if cluster is not None:
            cluster.close()


def n_threads(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def _failed_results(jobs, err: BaseException) -> list[RecordResult]:
    """Error rows for records whose task failed on its own (one family error per requested family,
    so a rerun retries them only when the feature set or the record changes)."""
    from .datasets.base import content_hash

    reason = f"worker failed on this record: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}".rstrip(": ")
    # a record new to the store was to be hashed by its worker: hash it here (rare: failures only)
    return [RecordResult(j.ref.record_id, j.source_hash or content_hash(j.ref.files or (j.ref.path,)), j.signature,
                         errors=[(fam, f"{j.ref.path}: {reason}") for fam in j.families]) for j in jobs]


def run_chunks(client, work: Callable, chunks: Iterable[list], *shared,
               in_flight: int | None = None) -> Iterator[list[RecordResult]]:
    """Yield work(chunk, *shared) for every chunk, in completion order, with at most `in_flight`
    tasks on the cluster. `shared` (the dataset, the settings) is scattered to every worker once
    rather than pickled into each task.

    A chunk whose task fails (an exception, or its workers killed `allowed-failures` times) has
    its records retried at the end one at a time, with nothing else in flight: an innocent record
    queued on the same worker as a record that crashes it is then not blamed, and only a record
    that fails on its own becomes error rows."""
    distributed = import_distributed()
    limit = in_flight or 4 * n_threads(client)
    chunks = iter(chunks)
    pending = distributed.as_completed()
    meta: dict = {}
    suspects: list = []
    shared = [client.scatter(obj, broadcast=True, hash=False) for obj in shared]

    def submit(chunk):
        fut = client.submit(work, chunk, *shared, pure=False)
        meta[fut.key] = chunk
        pending.add(fut)
        return fut

    try:
        for chunk in chunks:
            submit(chunk)
            if pending.count() >= limit:
                break
        for fut in pending:
            chunk = meta.pop(fut.key)
            if fut.status == "finished":
                yield fut.result()
            else:
                suspects.extend(chunk)
            fut.release()
            nxt = next(chunks, None)
            if nxt is not None:
                submit(nxt)
        for job in suspects:
            fut = submit([job])
            distributed.wait(fut)
            pending.clear()
            meta.pop(fut.key)
            yield fut.result() if fut.status == "finished" else _failed_results([job], fut.exception())
            fut.release()
    finally:
        for fut in list(pending.futures):
            fut.cancel()

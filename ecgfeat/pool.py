"""Warm worker processes for `ecgfeat extract`: a fork server that has imported the per-record
stack, started before the run plans, and workers forked from it that get the dataset once.

Why not joblib's workers here (they still run off Linux, and for a user's own script): each
of them is a fresh interpreter that imports numpy, scipy.signal and a reader itself, ~2 s of CPU
per worker on the 2-core development VM, and the first of them starts only once the parent has
imported pandas and pyarrow and planned. On ptbxl-500 with `--jobs 2` a worker's first task
started 1.5 s into the run and its first result came 3.5 s in; the rest of the run (per record
the same CPU as in one process, 40-46 ms) was parallel. That start, serial, was what kept
`--jobs 2` at ~1.7x `--jobs 1`. Here:

- `start_server()` starts multiprocessing's fork server at once; it imports the modules of
  `ecgfeat._worker_preload` (one thread per BLAS/OpenMP library set first) while the parent
  imports its own and plans, so the two overlap, and it imports them once for all workers;
- `imap_unordered()` forks the workers from it (a fork: no import left to do), sends each the
  dataset and settings once (its initializer), not with every task (a PTB-XL dataset object
  pickles to ~56 bytes per record: ~1.2 MB per task for the full 21,837), keeps a bounded number
  of tasks in flight (results do not pile up when the parent writes slower than workers compute),
  and yields results as they complete.

A worker ignores SIGINT: Ctrl-C reaches the parent only, which stops the workers and says so.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

PRELOAD = "ecgfeat._worker_preload"


def available() -> bool:
    """Whether the pool runs here: Linux, which has a fork server. (macOS has one too, but forking
    a process that has loaded numpy's Accelerate or other system frameworks is unsafe there, which
    is why Python starts its processes by spawning on macOS; Windows has none. Both keep joblib.)"""
    return sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods()


def _main_modules() -> list[str] | None:
    """What a worker re-imports of this process's main module, to preload; None when it may not.

    multiprocessing runs the main module again in every worker it does not fork from this process
    (as `__mp_main__`: a script's `if __name__ == "__main__":` part is skipped). That is safe for
    ecgfeat's own command line (`ecgfeat`, `python -m ecgfeat`: their modules are preloaded, so
    the re-run costs nothing) and for an interactive session (nothing to re-run); a user's script
    may have no such guard and would run again in each worker, so it gets joblib's workers, which
    do not re-run it."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    path = getattr(main, "__file__", None)
    if name is not None:
        return ["ecgfeat.cli"] if name == "ecgfeat.__main__" else None
    if path is None:
        return []
    return ["ecgfeat.cli"] if os.path.basename(path) in ("ecgfeat", "ecgfeat.exe") else None


def start_server():
    """Start the fork server now (it imports the per-record stack in the background) and return
    its multiprocessing context; None where there is none, or where the main module must not be
    run again in a worker (_main_modules). A running server is reused (its imports, done once
    per process, are those of its first start)."""
    mains = _main_modules()
    if not available() or mains is None:
        return None
    from multiprocessing import forkserver

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([PRELOAD, *mains])
    forkserver.ensure_running()   # spawns the server and returns; it imports while we go on
    return ctx


def _start_worker(init: Callable, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C and stops us
    init(*initargs)


def _stop(ex: ProcessPoolExecutor) -> None:
    """Stop at once: drop queued tasks and end the workers (a task in flight is not waited for)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())   # Python < 3.14 has no public way
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.terminate()
        except (OSError, AttributeError):
            pass
    for p in procs:
        p.join(timeout=5)


def imap_unordered(ctx, workers: int, init: Callable, initargs: tuple, task: Callable[[Any], Any],
                   items: Iterable, in_flight: int | None = None) -> Iterator:
    """Yield `task(item)` for every item, in the order they complete, from `workers` processes
    forked by `ctx` (see start_server), each set up once by `init(*initargs)`.

    At most `in_flight` tasks (default 2 per worker + 2) are submitted at a time. An exception of
    a task is raised here; so is a worker's death (concurrent.futures' BrokenProcessPool). Leaving
    the loop early, or any exception (KeyboardInterrupt too), stops the workers.
    """
    in_flight = in_flight or 2 * workers + 2
    pending = iter(items)
    # Finished tasks arrive through a queue filled by the executor's own thread. This thread never
    # waits on a future (concurrent.futures.wait takes every future's lock in turn: a Ctrl-C landing
    # there left one held, and the executor's thread, cancelling that future, hung the exit).
    settled: queue.SimpleQueue = queue.SimpleQueue()

    def settle(fut) -> None:
        try:
            settled.put((True, fut.result()))
        except BaseException as err:   # a task's exception, a dead worker, a cancellation
            settled.put((False, err))

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                             initargs=(init, initargs))
    try:
        running = 0
        for item in islice(pending, in_flight):
            ex.submit(task, item).add_done_callback(settle)
            running += 1
        while running:
            ok, value = settled.get()
            running -= 1
            if not ok:
                raise value
            for item in islice(pending, 1):
                ex.submit(task, item).add_done_callback(settle)
                running += 1
            yield value
    except BaseException:
        _stop(ex)
        raise
    ex.shutdown(wait=True)

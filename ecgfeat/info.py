"""`data info`: what a dataset holds, found by decoding every record once.

Workers get the (signal-free) dataset object and a chunk of refs, and send back one small
summary per record (id, error or sampling rate, duration, classes per scheme), never a signal.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Callable

from .datasets.base import Dataset, RecordRef
from .labels import applicable_schemes, labels_for, scheme_classes
from .record import RecordError

CHUNK = 16          # smallest number of refs per joblib task
TASKS_PER_JOB = 8   # at most this many tasks per worker: the dataset object is pickled once per task


def _summary(ds: Dataset, ref: RecordRef) -> dict:
    try:
        rec = ds.read(ref)
    except RecordError as err:
        return {"record": ref.record_id, "error": str(err)}
    except Exception as err:  # a reader bug or an odd file must not stop the batch
        return {"record": ref.record_id, "error": f"{ref.path}: {type(err).__name__}: {err}"}
    return {"record": ref.record_id, "fs": float(rec.fs), "duration": rec.duration_s,
            "warning": rec.meta.get("warning"),
            "labels": {s: labels_for(rec, s) for s in applicable_schemes(rec.code_system)}}


def _summarise_chunk(ds: Dataset, refs: list[RecordRef]) -> list[dict]:
    return [_summary(ds, ref) for ref in refs]


def _rate_key(fs: float) -> str:
    return str(int(fs)) if float(fs).is_integer() else f"{fs:g}"


def _summaries(ds: Dataset, refs: list[RecordRef], jobs: int, progress: Callable[[int], None] | None):
    from joblib import Parallel, delayed

    from .resources import resolve_jobs

    workers = resolve_jobs(jobs)
    if workers == 1 or len(refs) <= CHUNK:
        for ref in refs:
            yield _summary(ds, ref)
            if progress:
                progress(1)
        return
    size = max(CHUNK, math.ceil(len(refs) / (workers * TASKS_PER_JOB)))
    chunks = [refs[i:i + size] for i in range(0, len(refs), size)]
    parallel = Parallel(n_jobs=workers, return_as="generator")
    for out in parallel(delayed(_summarise_chunk)(ds, chunk) for chunk in chunks):
        yield from out
        if progress:
            progress(len(out))


def dataset_info(ds: Dataset, jobs: int = 1, progress: Callable[[int], None] | None = None) -> dict:
    """The SPEC's `data info` object (JSON-serialisable), plus "dataset", "notes", "unlabelled"."""
    refs = ds.refs()
    errors = [{"record": rid, "reason": reason} for rid, reason in ds.index_errors]
    rates: Counter = Counter()
    durations: list[float] = []
    counts: dict[str, Counter] = {}
    labelled: Counter = Counter()
    readable = 0
    warnings: list[dict] = []
    for s in _summaries(ds, refs, jobs, progress):
        if "error" in s:
            errors.append({"record": s["record"], "reason": s["error"]})
            continue
        readable += 1
        if s.get("warning"):
            warnings.append({"record": s["record"], "reason": s["warning"]})
        rates[_rate_key(s["fs"])] += 1
        durations.append(s["duration"])
        for scheme, classes in s["labels"].items():
            counts.setdefault(scheme, Counter()).update(classes)
            labelled[scheme] += bool(classes)
    labels = {}
    for scheme, counter in counts.items():
        order = scheme_classes(scheme)
        if order is None:  # raw codes: most frequent first
            order = tuple(sorted(counter, key=lambda c: (-counter[c], c)))
        labels[scheme] = {c: int(counter[c]) for c in order}
    dur = ({"min": round(min(durations), 3), "median": round(statistics.median(durations), 3),
            "max": round(max(durations), 3)} if durations
           else {"min": None, "median": None, "max": None})
    return {
        "path": str(ds.root),
        "format": ds.format,
        "dataset": ds.name,
        "records": len(refs) + len(ds.index_errors),
        "readable": readable,
        "errors": errors,
        "warnings": warnings,
        "sampling_rates": dict(sorted(rates.items(), key=lambda kv: float(kv[0]))),
        "durations_s": dur,
        "labels": labels,
        "unlabelled": {s: readable - labelled[s] for s in counts},
        "notes": dict(ds.notes),
    }

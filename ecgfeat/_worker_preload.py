"""Imported once by the fork server of `ecgfeat extract` (ecgfeat/pool.py), never by a user.

It gives the server one BLAS/OpenMP thread per library, then loads every module a worker's
per-record path needs (numpy, scipy.signal, the readers, the signal and feature code), so that
each worker forked from the server starts with them loaded instead of importing them itself (~2 s of CPU per worker on the 2-core development VM, scipy.signal alone
1.3 s: it imports scipy.stats). tests/test_pool.py checks that a worker's first record imports
nothing more. Not wfdb (it imports pandas, 0.7 s here): ecgfeat decodes WFDB headers and format-16
files itself (datasets/wfdb_header.py); a worker imports wfdb when a record needs it (another
storage format, LUDB's annotations).
"""

import os
import signal
import sys

# Ctrl-C is the parent's to handle (it stops the workers): not a traceback from the server mid-import
signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quiet_orphan_start(kind, value, tb, _default=sys.excepthook):
    """A worker forked while its parent was stopping (Ctrl-C during the pool's start) finds the
    parent's semaphores gone; it exits (code 1) without printing a traceback about it."""
    last = tb
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    if kind is FileNotFoundError and last is not None and last.tb_frame.f_code.co_filename.endswith(
            os.path.join("multiprocessing", "synchronize.py")):
        return
    _default(kind, value, tb)


sys.excepthook = _quiet_orphan_start   # the fork server reports a child's start-up failure through it

# set here, in the server, before numpy loads: its workers inherit them (the parent's are untouched)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy  # noqa: E402,F401
import scipy.fft  # noqa: E402,F401
import scipy.interpolate  # noqa: E402,F401
import scipy.io  # noqa: E402,F401
import scipy.ndimage  # noqa: E402,F401
import scipy.signal  # noqa: E402,F401
import threadpoolctl  # noqa: E402,F401
from ecgfeat import datasets, extraction, labels, record  # noqa: E402,F401
from ecgfeat.features import expert, extract, morphology, rhythm, tsfresh_fast  # noqa: E402,F401
from ecgfeat.signal import baseline, beats, delineate, filters, pacing, quality, template  # noqa: E402,F401

"""Model folders written atomically (complete or absent, never half) and the cnn's checkpoints."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ..store import fsync_dir
from .config import TrainConfig, to_json


def write_atomic(final: Path, build: Callable[[Path], None]) -> None:
    """Build a model folder beside `final` and rename it into place: complete or absent, never half.

    The folder is built as `.<name>.tmp-<pid>` (ignored by compare, like every dot folder), its
    files fsynced, then renamed over `final` (a previous `final` is first moved to `.<name>.old-<pid>`
    and deleted after). Leftovers of a killed run are cleaned first (see `clean_stale`)."""
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
    tmp = parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build(tmp)
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(parent)
    shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False      # a leftover of an earlier run that had our pid: not in use by us now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:       # EPERM: someone else's live process
        return True
    return True


def clean_stale(final: Path) -> None:
    """Remove `.<name>.tmp-<pid>` / `.<name>.old-<pid>` folders of dead processes (a run killed while
    writing). When `final` itself is absent (killed between moving the previous model aside and
    renaming the new one in), the previous complete model is moved back first."""
    pattern = re.compile(re.escape(f".{final.name}.") + r"(tmp|old)-(\d+)")
    stale = []
    for p in final.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and not _pid_alive(int(m.group(2))):
            stale.append((m.group(1), p))
    for kind, p in stale:
        if kind == "old" and not final.exists():
            try:
                os.replace(p, final)
                continue
            except OSError:
                pass
        shutil.rmtree(p, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder` (before it is renamed into place)."""
    for dirpath, _, filenames in os.walk(folder):
        for f in filenames:
            fsync_dir(Path(dirpath) / f)   # opens read-only and fsyncs: a file as well as a folder
        fsync_dir(Path(dirpath))


class CheckpointMismatch(ValueError):
    pass


def checkpoints(cfg: TrainConfig, models_dir: Path, name: str, resume: bool) -> Path:
    """models/.<name>.ckpt/ holding run.json (the configuration) and split-<k>/state.pt."""
    folder = models_dir / f".{name}.ckpt"
    want = {k: v for k, v in asdict(cfg).items() if k not in ("jobs", "n_boot")}
    want["leads"] = list(cfg.leads)
    run = folder / "run.json"
    if resume and run.exists():
        have = json.loads(run.read_text())
        if have != json.loads(json.dumps(want, default=to_json)):
            diff = sorted(k for k in set(have) | set(want)
                          if have.get(k) != json.loads(json.dumps(want.get(k), default=to_json)))
            raise CheckpointMismatch(f"{folder}: the checkpoint is of another configuration (differs in "
                                     f"{', '.join(diff)}); run without --resume to start over")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    tmp = folder / f".run.json.tmp-{os.getpid()}"     # complete or absent, like every file we commit
    tmp.write_text(json.dumps(want, indent=2, default=to_json) + "\n")
    os.replace(tmp, run)
    return folder

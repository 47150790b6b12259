"""Where ecgfeat reads and writes: the workspace (cwd, `--workspace` or $ECGFEAT_HOME).

Layout: feature_store/, models/, reports/, data/ (the embedded synthetic dataset lives in
data/synthetic/, written on first use).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SYNTH = {"n": 1800, "seed": 0, "fs": 500.0, "seconds": 10.0}


def workspace(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("ECGFEAT_HOME") or ".").expanduser()


def default_dataset_path(ws: Path) -> Path:
    return ws / "data" / "synthetic"


def ensure_default_dataset(ws: Path, jobs: int = 1, progress=None) -> Path:
    """The embedded synthetic dataset of the workspace, synthesised when absent or incomplete."""
    from .synth import synthesize

    path = default_dataset_path(ws)
    if not (path / "synthetic.json").exists():  # written last: its presence means complete
        synthesize(path, jobs=jobs, progress=progress, **DEFAULT_SYNTH)
    return path

"""Path containment, shared by the dataset readers and the feature store: files received from
elsewhere (a dataset, a store) must not lead ecgfeat, through a symlink, to other files of the machine."""

from __future__ import annotations

import os


def resolves_inside(path: str | os.PathLike, root: str | os.PathLike) -> tuple[bool, str]:
    """(whether `path`, symlinks resolved, is `root` or below it; the resolved path)."""
    top, real = os.path.realpath(root), os.path.realpath(path)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep), real

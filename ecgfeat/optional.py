"""Optional dependencies: what each extra brings, and one clear error when it is missing.

`pip install ecgfeat` gives features, the store and the six classical models. The extras add:
`[deep]` torch (the cnn comparator), `[explain]` shap (`ecgfeat explain`), `[validate]` neurokit2
(the delineation benchmark against neurokit2 and the synthetic set's validation), `[dask]` a Dask
cluster for `extract --scheduler`. `make demo` / `make test` install them all.

>>> from ecgfeat.optional import require
>>> require("json", "none", "this example").__name__
'json'
"""

from __future__ import annotations

import importlib

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(ImportError):
    """A feature needs an optional dependency that is not installed; the message says which extra."""


def require(module: str, extra: str, purpose: str):
    """Import `module`, or raise MissingExtraError naming `pip install 'ecgfeat[<extra>]'`."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(f"{purpose} needs {module.split('.')[0]}, which is not installed: "
                                f"pip install 'ecgfeat[{extra}]'") from err

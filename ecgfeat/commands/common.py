"""What every command shares: the user-error contract, --json output, consoles, progress bars.

SPEC: exit 0 on success; exit 1 on a handled error with one line naming the file or option at
fault, never a bare traceback (`--debug` shows it); with `--json` the last thing on stdout is one
JSON object and human text goes to stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@dataclass
class State:
    workspace: Path = Path(".")
    debug: bool = False


STATE = State()


class UserError(Exception):
    """A handled error: its message is printed as one line and the command exits 1."""


def console(json_mode: bool = False) -> Console:
    """Human output: stdout normally, stderr when stdout carries JSON."""
    return Console(stderr=json_mode, highlight=False, soft_wrap=True)


def emit_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(o):
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def handle_errors(fn):
    """Turn any exception into `error: <one line>` + exit 1 (the traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            Console(stderr=True).print("[red]interrupted[/red]")
            raise typer.Exit(130) from None
        except Exception as err:
            if STATE.debug:
                raise
            known = _is_user_error(err)
            msg = _one_line(err) if known else f"unexpected {type(err).__name__}: {_one_line(err)} (run with --debug for the traceback)"
            # one line, never wrapped: scripts grep it and users copy it
            Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/bold red] {escape(msg)}")
            raise typer.Exit(1) from None

    return wrapper


def _is_user_error(err: BaseException) -> bool:
    from ..datasets.base import DatasetError
    from ..datasets.fetch import FetchError
    from ..record import RecordError
    from ..store.results import StoreError

    from ..optional import MissingExtraError

    known = (UserError, DatasetError, RecordError, FetchError, StoreError, ValueError, FileNotFoundError, PermissionError,
             MissingExtraError)
    if isinstance(err, known):
        return True
    modules = __import__("sys").modules  # these are loaded only when a model / a cluster was used
    models, cluster = modules.get("ecgfeat.models.persist"), modules.get("ecgfeat.cluster")
    return ((models is not None and isinstance(err, models.ModelFileError))
            or (cluster is not None and isinstance(err, cluster.ClusterError)))


@contextmanager
def progress_bar(description: str, total: int | None, unit: str = "records"):
    """A rich progress bar on stderr; yields `advance(n)`."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(f"{unit}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=False) as prog:
        task = prog.add_task(description, total=total)

        def advance(n=1, description: str | None = None):
            if description is not None:
                prog.update(task, description=description)
            prog.advance(task, n)
        yield advance

"""`ecgfeat extract` and `ecgfeat store ls | info`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..resources import JOBS_HELP
from .common import STATE, UserError, console, emit_json, handle_errors, progress_bar

EXTRACT_EXAMPLES = """Examples:

  ecgfeat extract                                        # the embedded synthetic dataset (made on first use)

  ecgfeat extract data/ptbxl --jobs 2      # rerun: computes only what the store lacks

  ecgfeat extract data/cpsc2018 --features expert,rhythm --store /fast/disk/store

  ecgfeat extract data/ptbxl --tsfresh-set efficient --jobs 8 --json

  ecgfeat extract data/ptbxl --scheduler local:4            # a Dask LocalCluster of 4 workers

  ecgfeat extract /mnt/shared/mimic-iv-ecg --scheduler tcp://10.0.0.5:8786   # pip install 'ecgfeat\\[dask]'"""


@handle_errors
def extract(
    path: Optional[Path] = typer.Argument(None, help="Dataset folder (default: the embedded synthetic dataset)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Feature store folder (default: <workspace>/feature_store)."),
    features: str = typer.Option("expert,rhythm,tsfresh,quality", "--features", help="Families to extract: expert, rhythm, tsfresh, quality (signal quality: computed for every record anyway, since it gates the others; stored when listed)."),
    tsfresh_set: str = typer.Option("fast", "--tsfresh-set", help="tsfresh set: fast (curated, vectorised) or efficient (tsfresh's EfficientFCParameters: slow)."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help=JOBS_HELP),
    name: Optional[str] = typer.Option(None, "--name", help="Dataset name in the store (default: the folder's name)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N records of the dataset (a quick try)."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Run the records on Dask: tcp://HOST:PORT (a running `dask scheduler`; "
        "workers must see the dataset at the same path) or local:N (N local worker processes). "
        "Needs pip install 'ecgfeat\\[dask]'. Replaces --jobs."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="When another extract is writing the store: wait for it (default) or stop at once."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Extract features per record and lead into the Parquet feature store; computes only what the
    store lacks (new or changed records, new feature-set versions); safe to interrupt and rerun."""
    from ..features.settings import FeatureSettings
    from ..resources import resolve_jobs
    from ..workspace import DEFAULT_SYNTH, default_dataset_path, ensure_default_dataset

    settings = FeatureSettings.parse(features, tsfresh_set)
    jobs = resolve_jobs(jobs)   # -1: the cores free now (resources.py), fixed for the whole run
    con = console(as_json)
    ws = STATE.workspace
    if path is None:
        path = default_dataset_path(ws)
        if not (path / "synthetic.json").exists():
            with progress_bar("synthesising the embedded dataset", DEFAULT_SYNTH["n"]) as advance:
                ensure_default_dataset(ws, jobs=jobs, progress=advance)
    elif not path.exists():
        raise UserError(f"{path}: no such file or folder")
    store = store or ws / "feature_store"
    if store.exists() and not store.is_dir():
        raise UserError(f"{store}: --store names a file, not a feature store folder")
    if scheduler is not None:
        from ..cluster import ClusterError, parse_scheduler
        try:
            parse_scheduler(scheduler)
        except ClusterError as err:
            raise UserError(str(err)) from None
    out = extract_with_progress(path, store, settings, jobs, con, name=name, limit=limit,
                                scheduler=scheduler, wait=wait)
    rate = f", {out['records_per_s']} records/s" if out["computed"] else ""
    con.print(f"[bold]{escape(out['dataset'])}[/bold] ({out['format']}): {out['records']} records, "
              f"{out['computed']} computed, {out['skipped']} skipped, {out['errors']} with errors, "
              f"{out['seconds']:.1f} s{rate} -> {escape(out['store'])}")
    for e in out["first_errors"]:
        con.print(f"[red]error[/red] {escape(e['record'])} ({e['stage']}): {escape(e['reason'])}")
    if out["errors"] > len(out["first_errors"]):
        con.print(f"... {out['errors'] - len(out['first_errors'])} more: `ecgfeat store info {escape(out['dataset'])}`")
    if as_json:
        emit_json(out)


def extract_with_progress(path: Path, store: Path, settings, jobs: int, con, name=None, limit=None,
                          scheduler=None, wait=True) -> dict:
    """run_extract behind a rich progress bar sized once the run knows what the store lacks."""
    from contextlib import ExitStack

    from ..extraction import run_extract

    with ExitStack() as stack:
        bar = {}

        def on_plan(todo: int, skipped: int) -> None:
            bar["advance"] = stack.enter_context(progress_bar("extracting", todo))
            if skipped:
                con.print(f"{skipped} records already in the store: skipped")

        def on_wait(reason: str) -> None:
            con.print(f"{reason}: waiting for it to finish (Ctrl-C to stop; --no-wait refuses at once)")

        return run_extract(path, store, settings, jobs=jobs, name=name, on_plan=on_plan, limit=limit,
                           progress=lambda n: bar["advance"](n), scheduler=scheduler, wait=wait,
                           on_wait=on_wait)


def _existing_store(store: Optional[Path]) -> Path:
    """The store folder to read: an error when it does not exist or is a file (a typo must not
    read as an empty store)."""
    root = store or STATE.workspace / "feature_store"
    if not root.exists():
        raise UserError(f"{root}: no such feature store (no folder there; `ecgfeat extract --store {root}` makes one)")
    if not root.is_dir():
        raise UserError(f"{root}: not a feature store (a file, not a folder)")
    return root


store_app = typer.Typer(help="What the feature store holds.", no_args_is_help=True, epilog="""Examples:

  ecgfeat store ls

  ecgfeat store info ptbxl --json""")


@store_app.command("ls", epilog="Examples:\n\n  ecgfeat store ls\n\n  ecgfeat store ls --store /fast/disk/store --json")
@handle_errors
def ls(store: Optional[Path] = typer.Option(None, "--store", help="Feature store folder."),
       as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output.")):
    """List the datasets in the store with record, feature and error counts."""
    from ..store import FeatureStore

    fs = FeatureStore(_existing_store(store))
    rows = [fs.summary(d) for d in fs.datasets()]
    con = console(as_json)
    table = Table(title=f"feature store {escape(str(fs.root))}", title_justify="left")
    for col in ("dataset", "records", "features", "families", "errors"):
        table.add_column(col, justify="left" if col in ("dataset", "families") else "right")
    for s in rows:
        fams = s.get("families", {})
        table.add_row(escape(s["dataset"]), str(s["records"]), str(sum(fams.values())),
                      ", ".join(f"{k} {v}" for k, v in fams.items()), str(s.get("errors", 0)))
    con.print(table if rows else f"{escape(str(fs.root))}: empty store (run `ecgfeat extract`)")
    if as_json:
        emit_json({"store": str(fs.root), "datasets": rows})


@store_app.command("info", epilog="Examples:\n\n  ecgfeat store info synthetic\n\n  ecgfeat store info ptbxl --json")
@handle_errors
def info(dataset: str = typer.Argument(..., help="Dataset name (see `ecgfeat store ls`)."),
         store: Optional[Path] = typer.Option(None, "--store", help="Feature store folder."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output.")):
    """One dataset in detail: feature counts by family and lead, versions, errors."""
    from ..store import FeatureStore

    fs = FeatureStore(_existing_store(store))
    if dataset not in fs.datasets():
        raise UserError(f"dataset {dataset!r} is not in {fs.root} (it holds: {', '.join(fs.datasets()) or 'nothing'})")
    s = fs.summary(dataset)
    con = console(as_json)
    con.print(f"[bold]{escape(dataset)}[/bold] in {escape(str(fs.root))}: {s['records']} records, {s.get('errors', 0)} errors")
    for key in ("families", "versions", "by_lead"):
        if key in s:
            con.print(f"{key.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in s[key].items()))
    for e in s.get("first_errors", [])[:10]:
        con.print(f"[red]error[/red] {escape(e['record'])} ({e['stage']}): {escape(e['reason'])}")
    if as_json:
        emit_json(s)

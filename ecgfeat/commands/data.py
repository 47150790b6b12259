"""`ecgfeat data synth | info | fetch`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import STATE, UserError, console, emit_json, handle_errors, progress_bar

app = typer.Typer(help="Datasets: synthesise the embedded set, inspect a folder, download a public set.",
                  no_args_is_help=True, epilog="""Examples:

  ecgfeat data synth data/synthetic --n 1800 --seed 0

  ecgfeat data info data/challenge2021 --json

  ecgfeat data fetch ptbxl --to data/""")

SYNTH_EXAMPLES = """Examples:

  ecgfeat data synth data/synthetic                      # 1,800 records, 200 per class, seed 0

  ecgfeat data synth /tmp/tiny --n 90 --seed 7 --fs 250 --seconds 5

  ecgfeat data synth /tmp/af_heavy --balance AF=3,Normal=2 --json"""

INFO_EXAMPLES = """Examples:

  ecgfeat data info data/ptbxl

  ecgfeat data info data/synthetic --json | jq .labels.cpsc9"""

FETCH_EXAMPLES = """Examples:

  ecgfeat data fetch ptbxl --to data/                    # PTB-XL 1.0.3 from PhysioNet, sha256-checked

  ecgfeat data fetch cpsc2018 --to data/ --jobs 8        # rerun after an interruption: it resumes

  ecgfeat data fetch ptbxl --include records100/ --mirror https://my.mirror/ptb-xl/1.0.3/"""


@app.command(epilog=SYNTH_EXAMPLES)
@handle_errors
def synth(
    out: Path = typer.Argument(..., help="Folder to write (created)."),
    n: int = typer.Option(1800, "--n", help="Number of records."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same seed, same files."),
    fs: float = typer.Option(500.0, "--fs", help="Sampling rate in Hz."),
    seconds: float = typer.Option(10.0, "--seconds", help="Record length in seconds."),
    balance: Optional[str] = typer.Option(None, "--balance", help="Class weights, e.g. 'AF=2,Normal=0.5' (others weigh 1)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the dataset's `data info`)."),
):
    """Write the embedded synthetic 12-lead dataset: a cardiac dipole model projected on the 12 leads,
    the 9 CPSC 2018 classes each made by its defining mechanism, as WFDB + labels.csv + params.csv."""
    from ..datasets import open_dataset
    from ..info import dataset_info
    from ..synth import parse_weights, synthesize

    weights = parse_weights(balance)
    con = console(as_json)
    with progress_bar("synthesising", n) as advance:
        synthesize(out, n=n, seed=seed, fs=fs, seconds=seconds, weights=weights, jobs=jobs, progress=advance)
    con.print(f"wrote {n} records to [bold]{escape(str(out))}[/bold] (labels.csv, params.csv, synthetic.json)")
    if as_json:
        emit_json(dataset_info(open_dataset(out), jobs=jobs))


@app.command(epilog=INFO_EXAMPLES)
@handle_errors
def info(
    path: Path = typer.Argument(..., help="Dataset folder (CPSC 2018, Challenge WFDB, PTB-XL or any WFDB)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel worker processes (-1: the cores free now)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Detect a dataset's format and decode every record once: counts, labels per class, durations,
    sampling rates, and every unreadable record with its reason. Given one record file that cannot
    be read, exit 1 with the reason."""
    from ..datasets import open_dataset
    from ..info import dataset_info

    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    ds = open_dataset(path)
    n = len(ds.refs())
    with progress_bar(f"reading {ds.format}", n) as advance:
        out = dataset_info(ds, jobs=jobs, progress=advance)
    if path.is_file() and not out["readable"] and out["errors"]:
        raise UserError(out["errors"][0]["reason"])  # one record asked for, and it is unreadable: say why
    show_info(out, console(as_json))
    if as_json:
        emit_json(out)


def show_info(out: dict, con) -> None:
    """The human summary; every text from the data (paths, codes, reasons) is escaped: a folder
    named like `x[/b]` is not rich markup."""
    con.print(f"[bold]{escape(out['path'])}[/bold]: format [bold]{out['format']}[/bold], "
              f"{out['records']} records, {out['readable']} readable, {len(out['errors'])} errors")
    rates = ", ".join(f"{hz} Hz x {n}" for hz, n in out["sampling_rates"].items()) or "-"
    d = out["durations_s"]
    con.print(f"sampling rates: {rates}; duration min/median/max: {d['min']} / {d['median']} / {d['max']} s")
    for key, value in out.get("notes", {}).items():
        if key != "synthetic":
            con.print(f"note: {key.replace('_', ' ')}: {escape(str(value))}")
    from ..vocab import SNOMED_NAMES

    named = (lambda c: f"{c} ({SNOMED_NAMES[c]})" if c in SNOMED_NAMES else c) if out["format"] == "challenge" \
        else (lambda c: c)
    for scheme, counts in out["labels"].items():
        none = out.get("unlabelled", {}).get(scheme)
        without = (f"; {none} readable record{' carries' if none == 1 else 's carry'} none of them") if none else ""
        if scheme == "raw" and len(counts) > 12:
            top = list(counts.items())[:12]
            con.print(f"raw codes ({len(counts)} distinct), most frequent: "
                      + escape(", ".join(f"{named(c)} {k}" for c, k in top)) + escape(without))
            continue
        table = Table(title=f"labels: {scheme}{escape(without)}", title_justify="left")
        for c in counts:
            table.add_column(escape(named(c) if scheme == "raw" else c), justify="right")
        table.add_row(*(str(v) for v in counts.values()))
        con.print(table)
    for kind in ("errors", "warnings"):
        items = out.get(kind, [])
        for e in items[:20]:
            con.print(f"[{'red' if kind == 'errors' else 'yellow'}]{kind[:-1]}[/]: {escape(str(e['record']) + ': ' + str(e['reason']))}")
        if len(items) > 20:
            con.print(f"... and {len(items) - 20} more {kind} (--json lists all)")


@app.command(epilog=FETCH_EXAMPLES)
@handle_errors
def fetch(
    name: str = typer.Argument(..., help="Dataset to download: cpsc2018 or ptbxl."),
    to: Path = typer.Option(None, "--to", help="Target folder (default: <workspace>/data)."),
    mirror: Optional[str] = typer.Option(None, "--mirror", help="Base URL replacing PhysioNet's."),
    include: Optional[str] = typer.Option(None, "--include", help="Comma-separated path prefixes to keep, e.g. records500/."),
    jobs: int = typer.Option(4, "--jobs", "-j", help="Parallel downloads."),
    as_json: bool = typer.Option(False, "--json", help="Print the downloaded dataset's `data info` as JSON."),
):
    """Download a public dataset from PhysioNet, resuming interrupted files (HTTP Range) and verifying
    every file's sha256 against the project's SHA256SUMS.txt, then run `data info` on it."""
    from ..datasets import open_dataset
    from ..datasets.fetch import fetch as do_fetch
    from ..datasets.fetch import get_source
    from ..info import dataset_info

    src = get_source(name)
    target = to or STATE.workspace / "data"
    con = console(as_json)
    con.print(f"fetching [bold]{src.name}[/bold]: {src.description}\nlicence {src.licence}; cite: {src.citation}")
    prefixes = tuple(p.strip() for p in include.split(",") if p.strip()) if include else None
    with progress_bar("downloading", None, unit="bytes") as advance:
        root = do_fetch(src, target, mirror=mirror, include=prefixes, progress=advance, workers=jobs)
    ds = open_dataset(root)
    with progress_bar(f"checking {ds.format}", len(ds.refs())) as advance:
        out = dataset_info(ds, jobs=-1, progress=advance)
    show_info(out, con)
    if as_json:
        emit_json(out)

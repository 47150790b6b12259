"""`ecgfeat train` and `ecgfeat predict`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..resources import resolve_jobs
from .common import STATE, UserError, console, emit_json, progress_bar

TRAIN_EXAMPLES = """Examples:

  ecgfeat train --model xgb                                       # embedded synthetic set, paper protocol

  ecgfeat train --model lgbm --data data/ptbxl --labels ptbxl-super --protocol cv

  ecgfeat train --model xgb --leads I,aVR,V5 --no-record-features

  ecgfeat train --model xgb --leads each                          # 12 single-lead models and their ranking

  ecgfeat train --model rf --preset seed --param max_depth=12 --json

  ecgfeat train --model cnn                                       # ResNet-34-1D, cpu preset (100 Hz, 10 s)

  ecgfeat train --model cnn --data data/ptbxl --labels ptbxl-super --epochs 20 --resume

  ecgfeat train --model cnn --preset paper --device cuda          # the seed's 500 Hz / 30 s set-up"""

PREDICT_EXAMPLES = """Examples:

  ecgfeat predict data/ptbxl/records500/00000/00001_hr.hea --model xgb-synthetic-cpsc9-paper-all

  ecgfeat predict data/challenge2021 --model models/lgbm-ptbxl-ptbxl-super-cv-all --json"""


def _dataset_name(data: Optional[Path], name: Optional[str]) -> tuple[Path, str]:
    from ..workspace import default_dataset_path

    path = data or default_dataset_path(STATE.workspace)
    return path, name or path.resolve().name


def _ensure_default(path: Path, jobs: int) -> None:
    """The embedded synthetic dataset is written on first use (when `path` is its place)."""
    from ..workspace import DEFAULT_SYNTH, default_dataset_path, ensure_default_dataset

    if path == default_dataset_path(STATE.workspace) and not (path / "synthetic.json").exists():
        with progress_bar("synthesising the embedded dataset", DEFAULT_SYNTH["n"]) as advance:
            ensure_default_dataset(STATE.workspace, jobs=jobs, progress=advance)


def _ensure_extracted(path: Path, dataset: str, store: Path, jobs: int, con) -> None:
    """A dataset missing from the store is extracted first (default features), and we say so; a
    stored family of an older feature version is recomputed first (only it), when the dataset's
    folder is there: a model must not learn from what this version no longer measures."""
    from ..features.settings import FAMILIES, VERSIONS, FeatureSettings
    from ..store import FeatureStore
    from .extract import extract_with_progress

    if dataset in FeatureStore(store).datasets():
        stored = FeatureStore(store).families(dataset)
        stale = sorted(t for t, v in stored.items() if t in VERSIONS and VERSIONS[t] != v)
        if not stale or not path.exists():
            return
        fams = tuple(f for f in FAMILIES if any(t == f or t.startswith(f + "-") for t in stale))
        tsfresh_set = next((t.split("-", 1)[1] for t in stale if t.startswith("tsfresh-")), "fast")
        con.print(escape(f"{dataset!r} is stored at older feature versions ("
                         + ", ".join(f"{t} {stored[t]} -> {VERSIONS[t]}" for t in stale)
                         + "): recomputing them first"))
        extract_with_progress(path, store, FeatureSettings(families=fams, tsfresh_set=tsfresh_set), jobs, con,
                              name=dataset)
        return
    _ensure_default(path, jobs)
    if not path.exists():
        raise UserError(f"--data {path}: no such folder, and dataset {dataset!r} is not in the store {store}")
    con.print(escape(f"{dataset!r} is not in the store yet: extracting it first (default features)"))
    extract_with_progress(path, store, FeatureSettings(), jobs, con, name=dataset)


def _store_families(spec: str, store: Path, dataset: str) -> tuple[str, ...]:
    """`--families` in the names `extract --features` uses: `tsfresh` is whichever tsfresh table the store
    holds for the dataset (tsfresh-fast or tsfresh-efficient); a table name is accepted as it is."""
    from ..store import FeatureStore

    stored = FeatureStore(store).families(dataset)
    out = []
    for fam in (f.strip() for f in spec.split(",") if f.strip()):
        if fam == "tsfresh":
            tables = sorted(t for t in stored if t.startswith("tsfresh-"))
            if len(tables) > 1:
                raise UserError(f"--families tsfresh: the store holds {' and '.join(tables)} for {dataset!r}; "
                                "name one of them")
            fam = tables[0] if tables else fam   # absent: the store's own error names what it holds
        if fam not in out:
            out.append(fam)
    return tuple(out)


def _metrics_line(m: dict) -> str:
    mac, ci = m["macro"], m["macro_ci"]

    def fmt(k):
        v = mac.get(k)
        lo, hi = (ci.get(k) or [None, None])
        return f"{k} {v:.3f} [{lo:.3f}, {hi:.3f}]" if v is not None and lo is not None else f"{k} {v}"
    return ", ".join(fmt(k) for k in ("f1", "auc", "precision", "recall", "accuracy"))


def train(
    model: str = typer.Option(..., "--model", "-m", help="lr, rf, gbm, xgb, lgbm, mlp, or cnn (ResNet-34-1D on raw signals)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset folder (default: the embedded synthetic dataset); extracted first if the store lacks it."),
    name: Optional[str] = typer.Option(None, "--dataset-name", help="The dataset's name in the store (default: the folder's name)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Feature store (default: <workspace>/feature_store)."),
    labels: str = typer.Option("cpsc9", "--labels", help="Label scheme: cpsc9, ptbxl-super or raw."),
    protocol: str = typer.Option("paper", "--protocol", help="paper (8/1/1 split) or cv (10-fold out-of-fold)."),
    leads: str = typer.Option("all", "--leads", help="'all', a list like I,aVR,V5, or 'each' for the 12 single-lead models."),
    record_features: bool = typer.Option(True, "--record-features/--no-record-features", help="Add the record-level (`all__`) features to lead subsets."),
    families: Optional[str] = typer.Option(None, "--families", help="Families to use, named as in `extract --features`: expert, rhythm, tsfresh, quality (default: all stored but quality)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Classical: default (tuned) or seed (the paper's baselines). cnn: cpu (default; 100 Hz, 10 s windows) or paper (500 Hz, 30 s, 40 epochs)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="cnn: maximum epochs (default: the preset's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="cnn: batch size (default: the preset's)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="cnn: Adam learning rate (default: the preset's)."),
    device: str = typer.Option("cpu", "--device", help="cnn: cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="cnn: continue an interrupted run from its last finished epoch."),
    param: Optional[List[str]] = typer.Option(None, "--param", help="Estimator parameter KEY=VALUE (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, models and bootstrap."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap draws for the 95% intervals."),
    out: Optional[Path] = typer.Option(None, "--out", help="Models folder (default: <workspace>/models)."),
    model_name: Optional[str] = typer.Option(None, "--name", help="Model folder name (default: model-dataset-labels-protocol-leads, plus e.g. the --families, a non-default --preset or --seed)."),
    force: bool = typer.Option(False, "--force", help="Replace a model folder of the same name trained with other settings (default: refused)."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help="Threads for the estimators (-1: the cores free now, N: exactly N)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Train one model under one evaluation protocol; save it with its out-of-sample predictions,
    thresholds and metrics (with bootstrap 95% intervals) in models/<name>/."""
    from ..labels import scheme_classes
    from ..models import MODELS
    from ..models.zoo import parse_params
    from ..training import TrainConfig, train as do_train
    from ..vocab import LEADS, parse_leads

    if model not in MODELS + ("cnn",):
        raise UserError(f"--model {model!r}: unknown; models are {', '.join(MODELS + ('cnn',))}")
    if protocol not in ("paper", "cv"):
        raise UserError(f"--protocol {protocol!r}: unknown; protocols are paper, cv")
    scheme_classes(labels)
    cnn = None
    if model == "cnn":
        from ..deep.presets import PRESETS, cnn_settings
        preset = preset or "cpu"
        if preset not in PRESETS:
            raise UserError(f"--preset {preset!r}: unknown for cnn; presets are {', '.join(PRESETS)}")
        if device not in ("cpu", "cuda"):
            raise UserError(f"--device {device!r}: unknown; devices are cpu, cuda")
        if param or families or not record_features or leads == "each":
            raise UserError("--param, --families, --no-record-features and --leads each apply to the classical models, not cnn")
        cnn = cnn_settings(preset, epochs, batch_size, lr).to_dict()
    else:
        preset = preset or "default"
        if preset not in ("default", "seed"):
            raise UserError(f"--preset {preset!r}: unknown; presets are default, seed")
        if epochs or batch_size or lr or resume or device != "cpu":
            raise UserError("--epochs, --batch-size, --lr, --device and --resume apply to --model cnn only")
    con = console(as_json)
    _note_duplicate_leads(leads, con)
    path, dataset = _dataset_name(data, name)
    store = store or STATE.workspace / "feature_store"
    jobs = resolve_jobs(jobs)
    if model == "cnn":
        return _train_cnn(path, dataset, labels, protocol, parse_leads(leads), cnn, preset, seed, n_boot, jobs,
                          device, resume, out, model_name, con, as_json, force)
    _ensure_extracted(path, dataset, store, jobs, con)
    lead_sets = [(lead,) for lead in LEADS] if leads == "each" else [parse_leads(leads)]
    fams = _store_families(families, store, dataset) if families else None
    results, t0 = [], time.perf_counter()
    for lead_set in lead_sets:
        cfg = TrainConfig(model=model, dataset=dataset, store=str(store), labels=labels, protocol=protocol,
                          leads=lead_set, record_features=record_features, families=fams,
                          params=parse_params(param or []), preset=preset, seed=seed, n_boot=n_boot, jobs=jobs)
        n_splits = 1 if protocol == "paper" else 10
        from ..training import check_replace, default_name
        _guarded(check_replace, (out or STATE.workspace / "models") / ((model_name if len(lead_sets) == 1 else None)
                                                                       or default_name(cfg)), cfg, force)
        with progress_bar(f"training {model} ({'+'.join(lead_set) if len(lead_set) < 12 else 'all leads'})",
                          n_splits + (protocol == "cv"), unit="fits") as advance:
            res = _guarded(do_train, cfg, out or STATE.workspace / "models", name=model_name if len(lead_sets) == 1 else None,
                           progress=lambda msg: advance(1), command="ecgfeat " + " ".join(sys.argv[1:]), force=force)
        m = res["metrics"]
        con.print(f"[bold]{escape(Path(res['model_dir']).name)}[/bold]: {m['n_records']} records"
                  f"{', ' + str(m['dropped_unlabelled']) + ' unlabelled dropped' if m['dropped_unlabelled'] else ''}; "
                  f"macro {_metrics_line(m)}")
        results.append(res)
    if leads == "each":
        ranking = _write_ranking(results, STATE.workspace / "reports", time.perf_counter() - t0, con, cfg)
        if as_json:
            emit_json({"models": [r["model_dir"] for r in results], "ranking": ranking})
    elif as_json:
        emit_json(results[0])


def _note_duplicate_leads(spec: str, con) -> None:
    """`--leads I,I`: the lead is used once, and we say so (never a silent change)."""
    from ..vocab import canonical_lead

    if spec.strip() in ("", "all", "each"):
        return
    seen, dup = [], []
    for part in spec.split(","):
        lead = canonical_lead(part)
        if lead is not None:
            (dup if lead in seen else seen).append(lead)
    if dup:
        con.print(escape(f"note: --leads {spec}: {', '.join(dict.fromkeys(dup))} given more than once; "
                         f"each lead is used once ({', '.join(seen)})"))


def _guarded(do_train, *args, **kw):
    from ..training import ModelExists

    try:
        return do_train(*args, **kw)
    except ModelExists as err:
        raise UserError(str(err)) from None


def _train_cnn(path, dataset, labels, protocol, lead_set, cnn, preset, seed, n_boot, jobs, device, resume,
               out, model_name, con, as_json, force=False):
    from ..deep import SignalCache
    from ..training import TrainConfig, default_name, train as do_train

    _ensure_default(path, jobs)
    if not path.exists():
        raise UserError(f"--data {path}: no such folder")
    cache_root = STATE.workspace / "signal_cache"
    cache = SignalCache(cache_root, dataset, cnn["fs"])
    todo = {}
    with progress_bar(f"signal cache ({cnn['fs']:g} Hz)", None) as advance:
        built = cache.build(path, jobs=jobs, progress=advance, on_plan=lambda n, kept: todo.update(n=n, kept=kept))
    con.print(f"signal cache {escape(str(built['path']))}: {built['decoded']} decoded, {built['reused']} reused, "
              f"{built['errors']} unreadable ({built['seconds']:.1f} s)")
    cfg = TrainConfig(model="cnn", dataset=dataset, store="", labels=labels, protocol=protocol, leads=lead_set,
                      preset=preset, seed=seed, n_boot=n_boot, jobs=jobs, cnn=cnn, data_path=str(path),
                      cache=str(cache_root), device=device)
    n_splits = 1 if protocol == "paper" else 10
    total = cnn["epochs"] * (n_splits + (protocol == "cv"))
    name = model_name or default_name(cfg)
    from ..training import check_replace
    _guarded(check_replace, (out or STATE.workspace / "models") / name, cfg, force)
    with progress_bar(f"training cnn ({preset} preset)", total, unit="epochs") as advance:
        state = {"split": -1, "done": 0, "all": 0}

        def step(n, description=None):
            state["all"] += n
            advance(n, description=description)

        def on_epoch(k, rec):
            if k != state["split"]:           # a new split: the bar skips what early stopping left out
                if state["split"] >= 0:
                    step(cnn["epochs"] - state["done"])
                state.update(split=k, done=0)
            state["done"] += 1
            val = f", val macro AUC {rec['val_auc']:.3f}{' (best)' if rec['best'] else ''}" if "val_auc" in rec else ""
            where = "refit" if k == n_splits else f"split {k + 1}/{n_splits}"
            con.print(f"{where} epoch {rec['epoch']}: loss {rec['loss']:.4f}{val}, {rec['seconds']:.1f} s")
            step(1, description=f"training cnn: {where}, epoch {rec['epoch']}")
        try:
            res = _guarded(do_train, cfg, out or STATE.workspace / "models", name=name, on_epoch=on_epoch, resume=resume,
                           command="ecgfeat " + " ".join(sys.argv[1:]), force=force)
        except KeyboardInterrupt:
            con.print(f"[red]interrupted[/red]: finished epochs are kept in "
                      f"{escape(str((out or STATE.workspace / 'models') / ('.' + name + '.ckpt')))}; the same command with --resume continues")
            raise typer.Exit(130) from None
        step(total - state["all"])
    m = res["metrics"]
    con.print(f"[bold]{escape(Path(res['model_dir']).name)}[/bold]: {m['n_records']} records; macro {_metrics_line(m)}")
    if as_json:
        emit_json(res)


def _write_ranking(results: list[dict], reports: Path, seconds: float, con, cfg=None) -> dict:
    """Single-lead models ranked by macro AUC (then F1): reports/lead_ranking/<base>.json and .md,
    <base> = model-dataset-labels-protocol plus what distinguishes the run (`name_extras`: e.g.
    `-norec` without record-level features), so runs with and without them are distinct files."""
    from ..training import name_extras
    rows = []
    for r in results:
        m = r["metrics"]
        rows.append({"lead": m["leads"][0], "model_dir": r["model_dir"], "auc": m["macro"]["auc"], "f1": m["macro"]["f1"],
                     "auc_ci": m["macro_ci"]["auc"], "f1_ci": m["macro_ci"]["f1"]})
    rows.sort(key=lambda r: (-(r["auc"] or 0), -(r["f1"] or 0)))
    first = results[0]["metrics"]
    base = "-".join([first["estimator"], first["dataset"], first["labels"], first["protocol"]]
                    + (name_extras(cfg) if cfg is not None else ([] if first["record_features"] else ["norec"])))
    doc = {"model": first["estimator"], "dataset": first["dataset"], "labels": first["labels"], "protocol": first["protocol"],
           "record_features": first["record_features"], "seconds": round(seconds, 1), "ranking": rows}
    folder = reports / "lead_ranking"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{base}.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["| rank | lead | macro AUC [95% CI] | macro F1 [95% CI] |", "|---|---|---|---|"]
    table = Table(title=escape(f"single-lead ranking ({base}), {seconds:.1f} s for 12 models, no re-extraction"), title_justify="left")
    for col in ("rank", "lead", "macro AUC", "macro F1"):
        table.add_column(col)
    for i, r in enumerate(rows, 1):
        auc = f"{r['auc']:.3f} [{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}]"
        f1 = f"{r['f1']:.3f} [{r['f1_ci'][0]:.3f}, {r['f1_ci'][1]:.3f}]"
        table.add_row(str(i), r["lead"], auc, f1)
        lines.append(f"| {i} | {r['lead']} | {auc} | {f1} |")
    (folder / f"{base}.md").write_text("\n".join(lines) + "\n")
    con.print(table)
    con.print(escape(f"ranking written to {folder / (base + '.json')}"))
    return doc


def predict(
    target: Path = typer.Argument(..., help="A record (.hea, a WFDB base path, CPSC .mat, SPH .h5) or a dataset folder."),
    model: str = typer.Option(..., "--model", "-m", help="Model folder, or its name under <workspace>/models."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last output."),
):
    """Labels and probabilities for new records: extracts exactly the model's features (same
    feature-set versions), applies its thresholds. In a folder an unreadable record is an error
    entry and the others are predicted; one record file that cannot be read exits 1 with the reason."""
    from ..predict import predict_records

    folder = Path(model)
    if not folder.is_dir():
        folder = STATE.workspace / "models" / model
    if not folder.is_dir():
        raise UserError(f"--model {model}: no model folder there or under {STATE.workspace / 'models'}")
    if not target.exists() and not Path(f"{target}.hea").is_file():   # a WFDB base path names `<it>.hea`
        raise UserError(f"{target}: no such file or folder")
    con = console(as_json)
    out = predict_records(target, folder)
    if target.is_file() and not out["records"] and out["errors"]:
        raise UserError(out["errors"][0]["reason"])  # one record asked for, and it is unreadable: say why
    con.print(_prediction_table(out))
    for r in out["records"]:   # one line per record whose signal is not all there: flat / low-quality leads
        if r.get("warnings"):
            con.print(f"[yellow]warning[/yellow]: {escape(str(r['record']) + ': ' + '; '.join(r['warnings']))}")
    for e in out["errors"]:
        con.print(f"[red]error[/red]: {escape(str(e['record']) + ': ' + str(e['reason']))}")
    if as_json:
        emit_json(out)


def _prediction_table(out: dict) -> Table:
    """A row per record, a column per class: its probability, starred where it reaches the class's
    threshold (shown under the class name), so a label's margin and a near miss are both visible."""
    thr = out["thresholds"]
    table = Table(title=escape(f"{out['model']}: {len(out['records'])} records (probability; * = at or above "
                               "the class threshold in the header)"), title_justify="left")
    table.add_column("record")
    table.add_column("labels")
    for c in out["classes"]:
        table.add_column(escape(f"{c}\n>= {thr[c]:.2f}"), justify="right")
    for r in out["records"]:
        cells = [f"[bold]{r['probabilities'][c]:.2f}*[/bold]" if c in r["labels"] else f"{r['probabilities'][c]:.2f}"
                 for c in out["classes"]]
        table.add_row(escape(str(r["record"])), escape(", ".join(r["labels"]) or "-"), *cells)
    return table

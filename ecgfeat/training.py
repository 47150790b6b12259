"""`ecgfeat train`: store -> protocol (paper | cv) -> fitted models, out-of-sample predictions, metrics.

Protocols (SPEC, Models and evaluation): records fall in 10 folds (the dataset's own, e.g. PTB-XL
strat_fold, else seeded multi-label stratified and patient-grouped folds). `paper`: one split,
train on 8 folds, choose per-class F1-optimal thresholds on the 9th, evaluate on the 10th. `cv`:
the same 8/1/1 split rotated so every fold is the test fold once; thresholds are always chosen on
a fold the model did not fit and that is not the fold being predicted (no leakage); metrics on
the out-of-fold predictions of all records. The model saved for `predict` is the paper split's
model, or for `cv` a refit on every labelled record with the median of the fold thresholds.
Feature selection, imputation and scaling live inside the estimators, so they too are fitted on
training folds only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__
from .store._files import fsync_dir
from .vocab import LEADS

N_FOLDS = 10


@dataclass
class TrainConfig:
    model: str
    dataset: str
    store: str
    labels: str = "cpsc9"
    protocol: str = "paper"
    leads: tuple[str, ...] = LEADS
    record_features: bool = True
    families: tuple[str, ...] | None = None     # store tables; None: every family the store holds
    params: dict = field(default_factory=dict)
    preset: str = "default"
    seed: int = 0
    n_boot: int = 1000
    jobs: int = 1
    cnn: dict | None = None       # cnn only: its CNNSettings (deep/presets.py) as a dict
    data_path: str | None = None  # cnn only: the dataset folder its signal cache is built from
    cache: str | None = None      # cnn only: signal cache root (default <workspace>/signal_cache)
    device: str = "cpu"


def leads_tag(leads) -> str:
    return "all" if tuple(leads) == LEADS else "+".join(leads)


def name_extras(cfg: TrainConfig) -> list[str]:
    """What the default name adds after model-dataset-labels-protocol-leads, only where a run
    differs from the defaults: `norec` (no record-level features), the families given with
    --families (`expert+rhythm`), a non-default preset, a non-zero seed (`seed3`). Estimator
    parameters (--param) are not in the name: a folder trained with other ones is refused unless
    `force` (see `train`), so nothing is replaced without a word."""
    parts = []
    if not cfg.record_features:
        parts.append("norec")
    if cfg.families:
        parts.append("+".join(cfg.families))
    if cfg.preset != ("cpu" if cfg.model == "cnn" else "default"):
        parts.append(cfg.preset)
    if cfg.seed != 0:
        parts.append(f"seed{cfg.seed}")
    return parts


def default_name(cfg: TrainConfig) -> str:
    """SPEC: model-dataset-labels-protocol-leads, e.g. `xgb-synthetic-cpsc9-paper-all`, plus the
    `name_extras` of a non-default run (e.g. `rf-ptbxl-500-ptbxl-super-cv-all-expert+rhythm`)."""
    return "-".join([cfg.model, cfg.dataset, cfg.labels, cfg.protocol, leads_tag(cfg.leads)] + name_extras(cfg))


# config.json keys that make two runs different models (not: threads, bootstrap draws, paths)
IDENTITY = ("model", "dataset", "labels", "protocol", "leads", "record_features", "families", "params", "preset",
            "seed", "cnn")


class ModelExists(ValueError):
    """The model folder holds a model trained with other settings; `force=True` replaces it."""


def check_replace(folder: Path, cfg: TrainConfig, force: bool) -> None:
    """Refuse to replace `folder` when it holds a model of another configuration (unless `force`):
    the same name for another run would silently lose the earlier model."""
    if force or not (folder / "config.json").is_file():
        return
    try:
        have = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return
    want = json.loads(json.dumps({**asdict(cfg), "leads": list(cfg.leads)}, default=_json))
    # config.json's "families" are the families used; what was asked for (None: all) is "families_requested"
    have = {**have, "families": have.get("families_requested", want["families"])}
    diff = [k for k in IDENTITY if k in have and have.get(k) != want.get(k)]
    if diff:
        what = "; ".join(f"{k}: {have.get(k)!r} there, {want.get(k)!r} now" for k in diff)
        raise ModelExists(f"{folder}: holds a model trained with other settings ({what}); give --name for a new "
                          "folder, or --force to replace it")


def library_versions() -> dict:
    import importlib.metadata as md

    out = {"ecgfeat": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scikit-learn", "xgboost", "lightgbm", "skops", "pyarrow", "tsfresh", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


NOT_TRAINED_BY_DEFAULT = ("quality",)


def store_fingerprint(info: pd.DataFrame, versions: dict[str, str], families: list[str]) -> str:
    """sha1 of (record id, source hash) of every stored record (the store's live `records` table,
    as `FeatureStore.read` returns it, or the signal cache's index) and the family versions used."""
    h = hashlib.sha1()
    for rid, src in zip(info.index, info["source_hash"]):
        h.update(f"{rid}:{src};".encode())
    h.update(json.dumps({f: versions.get(f) for f in families}, sort_keys=True).encode())
    return h.hexdigest()


def load_matrix(cfg: TrainConfig):
    """(X, Y, classes, folds, groups, notes) of the labelled records of `cfg`."""
    from .store import FeatureStore

    store = FeatureStore(cfg.store)
    if cfg.dataset not in store.datasets():
        raise ValueError(f"dataset {cfg.dataset!r} is not in the store {cfg.store} "
                         f"(it holds: {', '.join(store.datasets()) or 'nothing'}; run `ecgfeat extract` first)")
    versions = store.families(cfg.dataset)
    # by default every stored family but `quality`: it gates the measurements (signal/quality.py), it
    # is not physiology a diagnosis should rest on (ask for it with --families ...,quality)
    families = list(cfg.families) if cfg.families else sorted(f for f in versions if f not in NOT_TRAINED_BY_DEFAULT)
    data = store.read(cfg.dataset, families=families, leads=list(cfg.leads), scheme=cfg.labels,
                      record_level=cfg.record_features)
    X, Y, classes, folds, notes = select_labelled(data.X, data.y, data.labeled, data.folds, data.groups, cfg,
                                                  has_patients=has_patient_ids(data.info))
    notes["families"] = families
    notes["feature_versions"] = {f: versions.get(f) for f in families}   # predict refuses other versions
    # columns that are NaN everywhere (e.g. flat leads) carry nothing; they are dropped per split,
    # on the split's training rows only (run_protocol), never by looking at the test records
    notes["fingerprint"] = store_fingerprint(data.info, versions, families)
    notes["source_path"] = store.source_path(cfg.dataset)
    return X, Y, classes, folds, notes


def has_patient_ids(info: pd.DataFrame) -> bool:
    """True when the records table carries a patient id for at least one record (PTB-XL, SPH)."""
    return "patient_id" in info.columns and bool(info["patient_id"].notna().any())


def select_labelled(X, y: pd.DataFrame, labeled: pd.Series, given: pd.Series, groups: pd.Series, cfg: TrainConfig,
                    has_patients: bool = False):
    """The labelled records (at least one class of the scheme), the learnable classes and the 10
    folds: one implementation for the feature matrix and the CNN's signals, so both get the same
    records in the same folds. X is indexed positionally (rows in the order of y).

    notes["groups"] holds the labelled records' patient (group) ids and notes["bootstrap_unit"]
    "patient" when `has_patients` (the dataset has patient ids), else "record"."""
    from .evaluation import assign_folds, given_folds_usable

    labelled = (labeled.fillna(False).astype(bool) & (y.sum(axis=1) > 0)).to_numpy()
    notes = {"dropped_unlabelled": int((~labelled).sum())}
    X = X.iloc[labelled] if hasattr(X, "iloc") else X[labelled]
    y = y[labelled]
    present = [c for c in y.columns if y[c].sum() > 0]
    if len(present) < y.shape[1]:
        notes["dropped_classes"] = [c for c in y.columns if c not in present]  # no positive: not learnable
        y = y[present]
    if y.shape[0] < 20:
        raise ValueError(f"only {y.shape[0]} labelled records of scheme {cfg.labels!r} in {cfg.dataset!r}: too few to train")
    given_l = given[labelled].to_numpy()
    folds = assign_folds(y.to_numpy(), N_FOLDS, cfg.seed, groups=groups[labelled].to_numpy(), given=given_l)
    # the same predicate assign_folds decides by: complete and exactly N_FOLDS distinct values
    notes["folds"] = "dataset" if given_folds_usable(given_l, len(given_l), N_FOLDS) else "seeded-stratified"
    notes["groups"] = groups[labelled].astype(str).to_numpy()
    notes["bootstrap_unit"] = "patient" if has_patients else "record"
    return X, y.to_numpy().astype(np.int8), list(y.columns), folds, notes


def make_estimator(cfg: TrainConfig):
    """The estimator of `cfg.model`: OneVsRest of a classical model, or the CNN."""
    if cfg.model == "cnn":
        from .deep import CNNClassifier
        from .deep.presets import from_dict

        return CNNClassifier(from_dict(cfg.cnn or {}), leads=tuple(cfg.leads), seed=cfg.seed,
                             n_jobs=cfg.jobs, device=cfg.device)
    from .models import OneVsRest

    return OneVsRest(cfg.model, cfg.params, cfg.preset, cfg.seed, cfg.jobs)


def take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def fitted_columns(X, rows) -> list | None:
    """The feature columns a model fitted on `rows` of X sees: those with a value on at least one
    of those rows (a column NaN on every training record carries nothing). None for signals."""
    if not hasattr(X, "columns"):
        return None
    return list(X.columns[take(X, rows).notna().any(axis=0).to_numpy()])


def _cols(X, cols):
    return X if cols is None else X[cols]


def run_protocol(cfg: TrainConfig, X, Y: np.ndarray, folds: np.ndarray,
                 progress: Callable[[str], None] | None = None, checkpoints: Path | None = None,
                 on_epoch: Callable[[int, dict], None] | None = None):
    """Fit per split; returns (oof scores, oof predictions, tested mask, per-split thresholds, models).

    Predictions of records never tested are missing (NaN scores, -1 in `preds`, written as <NA>).
    Every choice a split makes looks at its training rows (the columns kept: `fitted_columns`, the
    model) or its validation predictions (the thresholds), never at its test fold; the model's
    columns are kept as `model.columns_` (None for the CNN).
    The CNN also gets the split's validation fold for early stopping (the fold its thresholds are
    chosen on, never the test fold) and, with `checkpoints`, a folder per split to resume from."""
    from .evaluation import apply_thresholds, f1_thresholds, splits

    scores = np.full(Y.shape, np.nan)
    preds = np.full(Y.shape, -1, dtype=np.int8)
    tested = np.zeros(Y.shape[0], dtype=bool)
    thresholds, models = [], []
    for k, s in enumerate(splits(folds, cfg.protocol, N_FOLDS)):
        m = make_estimator(cfg)
        cols = fitted_columns(X, s.train)
        if cfg.model == "cnn":
            m.fit(take(X, s.train), Y[s.train], validation=(take(X, s.val), Y[s.val]),
                  checkpoint=checkpoints / f"split-{k + 1}" if checkpoints else None,
                  on_epoch=(lambda rec, k=k: on_epoch(k, rec)) if on_epoch else None)
        else:
            m.fit(_cols(take(X, s.train), cols), Y[s.train])
        m.columns_ = cols
        thr = f1_thresholds(Y[s.val], m.predict_proba(_cols(take(X, s.val), cols)))
        test = m.predict_proba(_cols(take(X, s.test), cols))
        scores[s.test], preds[s.test], tested[s.test] = test, apply_thresholds(test, thr), True
        thresholds.append(thr)
        models.append(m)
        if progress:
            progress(f"split {k + 1} done: test fold {s.test_fold + 1}, validation fold {s.val_fold + 1}")
    return scores, preds, tested, thresholds, models


def _write_atomic(final: Path, build: Callable[[Path], None]) -> None:
    """Build a model folder beside `final` and rename it into place: complete or absent, never half.

    The folder is built as `.<name>.tmp-<pid>` (ignored by compare, like every dot folder), its
    files fsynced, then renamed over `final` (a previous `final` is first moved to `.<name>.old-<pid>`
    and deleted after). Leftovers of a killed run are cleaned first (see `_clean_stale`)."""
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(final)
    tmp = parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build(tmp)
        _fsync_tree(tmp)
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


def _clean_stale(final: Path) -> None:
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


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder` (before it is renamed into place)."""
    for dirpath, _, filenames in os.walk(folder):
        for f in filenames:
            fsync_dir(Path(dirpath) / f)   # opens read-only and fsyncs: a file as well as a folder
        fsync_dir(Path(dirpath))


def train(cfg: TrainConfig, models_dir: str | Path, name: str | None = None,
          progress: Callable[[str], None] | None = None, command: str | None = None,
          on_epoch: Callable[[int, dict], None] | None = None, resume: bool = False, force: bool = False) -> dict:
    """Train, evaluate and save; returns {"model_dir", "metrics"}.

    A folder `name` that holds a model of another configuration (`IDENTITY`) is refused
    (`ModelExists`) unless `force`; the same configuration again replaces it (a re-run).

    CNN runs keep their per-epoch state in models/.<name>.ckpt/ until the model folder is written;
    `resume=True` continues from there (refused if the checkpoint is of another configuration),
    otherwise a stale checkpoint is discarded and training starts over."""
    from .evaluation import classification_metrics

    t0 = time.perf_counter()
    name = name or default_name(cfg)
    check_replace(Path(models_dir) / name, cfg, force)
    if cfg.model == "cnn":
        from .deep.data import load_signals
        X, Y, classes, folds, notes = load_signals(cfg)
    else:
        X, Y, classes, folds, notes = load_matrix(cfg)
    ckpt = _checkpoints(cfg, Path(models_dir), name, resume) if cfg.model == "cnn" else None
    scores, preds, tested, thresholds, models = run_protocol(cfg, X, Y, folds, progress, ckpt, on_epoch)
    groups = notes["groups"] if notes.get("bootstrap_unit") == "patient" else None
    metrics = classification_metrics(Y[tested], scores[tested], preds[tested], classes, n_boot=cfg.n_boot, seed=cfg.seed,
                                     groups=None if groups is None else groups[tested])
    if cfg.protocol == "paper":
        final, final_thr = models[0], thresholds[0]
    else:
        final = make_estimator(cfg)
        if cfg.model == "cnn":   # no validation fold left: as many epochs as the folds' median best
            final.set_params(epochs=int(np.median([m.best_epoch_ for m in models])))
            final.fit(X, Y, checkpoint=ckpt / "refit", on_epoch=(lambda rec: on_epoch(N_FOLDS, rec)) if on_epoch else None)
            final.columns_ = None
        else:
            final.columns_ = fitted_columns(X, np.arange(len(Y)))
            final.fit(_cols(X, final.columns_), Y)
        final_thr = np.median(np.vstack(thresholds), axis=0)
        if progress:
            progress("refit on every labelled record for predict")
    seconds = time.perf_counter() - t0
    metrics_doc = {"model": name, "estimator": cfg.model, "dataset": cfg.dataset, "labels": cfg.labels,
                   "protocol": cfg.protocol, "leads": list(cfg.leads), "record_features": cfg.record_features,
                   "n_records": int(tested.sum()), "classes": classes, **{k: v for k, v in metrics.items() if k != "classes"},
                   "dropped_unlabelled": notes["dropped_unlabelled"], "dropped_classes": notes.get("dropped_classes", []),
                   "folds": notes["folds"], "seconds": round(seconds, 2)}
    if cfg.model == "cnn":
        metrics_doc["preset"] = cfg.preset
        metrics_doc["epochs"] = [m.history_ for m in models]
    config = {**asdict(cfg), "leads": list(cfg.leads), "name": name, "classes": classes,
              "families": notes.get("families", []), "families_requested": list(cfg.families) if cfg.families else None,
              "feature_versions": notes.get("feature_versions", {}),
              "feature_names": list(final.columns_ or []),
              "n_features": len(final.columns_ or []),
              "n_labelled": int(Y.shape[0]), "store_fingerprint": notes["fingerprint"],
              "dataset_path": notes["source_path"], "fold_source": notes["folds"], "n_folds": N_FOLDS,
              "thresholds": {c: float(t) for c, t in zip(classes, final_thr)},
              "final_model": "paper split model" if cfg.protocol == "paper" else "refit on all labelled records, median fold thresholds",
              "libraries": library_versions(), "command": command or " ".join(sys.argv),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    ids = X.index.astype(str) if hasattr(X, "index") else X.ids.astype(str)
    pred_df = pd.DataFrame({"record_id": ids, "fold": folds.astype(int) + 1, "tested": tested,
                            "patient_id": pd.array(notes["groups"] if groups is not None else [None] * len(ids),
                                                   dtype="string")})
    for j, c in enumerate(classes):
        pred_df[f"y_true__{c}"] = Y[:, j]
        pred_df[f"y_score__{c}"] = scores[:, j]
        # never tested (the paper protocol's train and validation folds): no prediction, not a 0
        pred_df[f"y_pred__{c}"] = pd.array(np.where(tested, preds[:, j], 0), dtype="Int8")
        pred_df.loc[~tested, f"y_pred__{c}"] = pd.NA

    def build(folder: Path) -> None:
        if cfg.model == "cnn":
            from .deep.persist import save_cnn
            config["network"] = save_cnn(final, folder / "model")
        else:
            from .models.persist import save_ovr
            config["estimators"] = save_ovr(final, folder / "model")
        (folder / "config.json").write_text(json.dumps(config, indent=2, default=_json) + "\n")
        (folder / "metrics.json").write_text(json.dumps(metrics_doc, indent=2, default=_json) + "\n")
        (folder / "thresholds.json").write_text(json.dumps(config["thresholds"], indent=2) + "\n")
        pred_df.to_parquet(folder / "predictions.parquet", index=False)

    out = Path(models_dir) / name
    _write_atomic(out, build)
    if ckpt is not None:
        shutil.rmtree(ckpt, ignore_errors=True)
    return {"model_dir": str(out), "metrics": metrics_doc}


class CheckpointMismatch(ValueError):
    pass


def _checkpoints(cfg: TrainConfig, models_dir: Path, name: str, resume: bool) -> Path:
    """models/.<name>.ckpt/ holding run.json (the configuration) and split-<k>/state.pt."""
    folder = models_dir / f".{name}.ckpt"
    want = {k: v for k, v in asdict(cfg).items() if k not in ("jobs", "n_boot")}
    want["leads"] = list(cfg.leads)
    run = folder / "run.json"
    if resume and run.exists():
        have = json.loads(run.read_text())
        if have != json.loads(json.dumps(want, default=_json)):
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != json.loads(json.dumps(want.get(k), default=_json)))
            raise CheckpointMismatch(f"{folder}: the checkpoint is of another configuration (differs in "
                                     f"{', '.join(diff)}); run without --resume to start over")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    tmp = folder / f".run.json.tmp-{os.getpid()}"     # complete or absent, like every file we commit
    tmp.write_text(json.dumps(want, indent=2, default=_json) + "\n")
    os.replace(tmp, run)
    return folder


def _json(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)

"""`train`: protocol -> metrics -> one atomic model folder (config, metrics, thresholds, predictions, model)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..models.labelled import N_FOLDS
from .config import TrainConfig, check_replace, default_name, library_versions, to_json
from .folder import checkpoints, write_atomic
from .protocol import feature_names, load_matrix, refit, run_protocol


def train(cfg: TrainConfig, models_dir: str | Path, name: str | None = None,
          progress: Callable[[str], None] | None = None, command: str | None = None,
          on_epoch: Callable[[int, dict], None] | None = None, resume: bool = False, force: bool = False) -> dict:
    """Train, evaluate and save; returns {"model_dir", "metrics"}.

    A folder `name` that holds a model of another configuration (`IDENTITY`) is refused
    (`ModelExists`) unless `force`; the same configuration again replaces it (a re-run).

    CNN runs keep their per-epoch state in models/.<name>.ckpt/ until the model folder is written;
    `resume=True` continues from there (refused if the checkpoint is of another configuration),
    otherwise a stale checkpoint is discarded and training starts over."""
    from ..evaluation import classification_metrics

    t0 = time.perf_counter()
    name = name or default_name(cfg)
    check_replace(Path(models_dir) / name, cfg, force)
    if cfg.model == "cnn":
        from ..deep.data import load_signals
        X, Y, classes, folds, notes = load_signals(cfg)
    else:
        X, Y, classes, folds, notes = load_matrix(cfg)
    ckpt = checkpoints(cfg, Path(models_dir), name, resume) if cfg.model == "cnn" else None
    scores, preds, tested, thresholds, models = run_protocol(cfg, X, Y, folds, progress, ckpt, on_epoch, classes)
    groups = notes["groups"] if notes.get("bootstrap_unit") == "patient" else None
    metrics = classification_metrics(Y[tested], scores[tested], preds[tested], classes, n_boot=cfg.n_boot,
                                     seed=cfg.seed, groups=None if groups is None else groups[tested])
    if cfg.protocol == "paper":
        final, final_thr = models[0], thresholds[0]
    else:
        final, final_thr = refit(cfg, X, Y, models, thresholds, classes, checkpoint=ckpt / "refit" if ckpt else None,
                                 on_epoch=(lambda rec: on_epoch(N_FOLDS, rec)) if on_epoch else None)
        if progress:
            progress("refit on every labelled record for predict")
    seconds = time.perf_counter() - t0
    metrics_doc = {"model": name, "estimator": cfg.model, "dataset": cfg.dataset, "labels": cfg.labels,
                   "protocol": cfg.protocol, "leads": list(cfg.leads), "record_features": cfg.record_features,
                   "n_records": int(tested.sum()), "classes": classes,
                   **{k: v for k, v in metrics.items() if k != "classes"},
                   "dropped_unlabelled": notes["dropped_unlabelled"],
                   "dropped_classes": notes.get("dropped_classes", []),
                   "folds": notes["folds"], "seconds": round(seconds, 2)}
    if cfg.model == "cnn":
        metrics_doc["preset"] = cfg.preset
        metrics_doc["epochs"] = [m.history_ for m in models]
    names = feature_names(final)
    config = {**asdict(cfg), "leads": list(cfg.leads), "name": name, "classes": classes,
              "families": notes.get("families", []), "families_requested": list(cfg.families) if cfg.families else None,
              "feature_versions": notes.get("feature_versions", {}),
              "feature_names": names, "n_features": len(names),
              "n_labelled": int(Y.shape[0]), "store_fingerprint": notes["fingerprint"],
              "dataset_path": notes["source_path"], "fold_source": notes["folds"], "n_folds": N_FOLDS,
              "thresholds": {c: float(t) for c, t in zip(classes, final_thr)},
              "final_model": ("paper split model" if cfg.protocol == "paper"
                              else "refit on all labelled records, median fold thresholds"),
              "libraries": library_versions(), "command": command or " ".join(sys.argv),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    pred_df = _predictions(X, Y, folds, tested, scores, preds, classes, notes["groups"] if groups is not None else None)

    def build(folder: Path) -> None:
        if cfg.model == "cnn":
            from ..deep.persist import save_cnn
            config["network"] = save_cnn(final, folder / "model")
        else:
            from ..models.persist import save_ovr
            config["estimators"] = save_ovr(final, folder / "model", params=cfg.params, preset=cfg.preset,
                                            seed=cfg.seed)
        (folder / "config.json").write_text(json.dumps(config, indent=2, default=to_json) + "\n")
        (folder / "metrics.json").write_text(json.dumps(metrics_doc, indent=2, default=to_json) + "\n")
        (folder / "thresholds.json").write_text(json.dumps(config["thresholds"], indent=2) + "\n")
        pred_df.to_parquet(folder / "predictions.parquet", index=False)

    out = Path(models_dir) / name
    write_atomic(out, build)
    if ckpt is not None:
        shutil.rmtree(ckpt, ignore_errors=True)
    return {"model_dir": str(out), "metrics": metrics_doc}


def _predictions(X, Y, folds, tested, scores, preds, classes, groups) -> pd.DataFrame:
    """predictions.parquet: per record its fold, whether tested, truth, score and label per class."""
    ids = X.index.astype(str) if hasattr(X, "index") else X.ids.astype(str)
    pred_df = pd.DataFrame({"record_id": ids, "fold": folds.astype(int) + 1, "tested": tested,
                            "patient_id": pd.array(groups if groups is not None else [None] * len(ids),
                                                   dtype="string")})
    for j, c in enumerate(classes):
        pred_df[f"y_true__{c}"] = Y[:, j]
        pred_df[f"y_score__{c}"] = scores[:, j]
        # never tested (the paper protocol's train and validation folds): no prediction, not a 0
        pred_df[f"y_pred__{c}"] = pd.array(np.where(tested, preds[:, j], 0), dtype="Int8")
        pred_df.loc[~tested, f"y_pred__{c}"] = pd.NA
    return pred_df

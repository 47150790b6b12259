"""Find the trained model folders, load what the report needs, group the comparable ones.

Comparable means tested on the same question: same dataset, label scheme, protocol and leads.
Results of different label schemes (other classes) or protocols (one test fold vs out-of-fold)
are never put in one table. Single-lead runs (`--leads each`) answer another question, which
lead carries the diagnosis, so they are grouped by (dataset, labels, protocol) for the lead
ranking instead, one column per model family.

A folder that cannot be read is skipped with a reason, never a crash: a report of the other
models is still useful, and the reason tells the user which folder to look at.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..vocab import LEADS

REQUIRED = ("dataset", "labels", "protocol", "leads", "classes", "macro", "macro_ci", "per_class")


@dataclass
class ModelRun:
    """One model folder: its metrics.json, config.json and (loaded on demand) predictions."""

    folder: Path
    metrics: dict
    config: dict = field(default_factory=dict)
    _pred: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def estimator(self) -> str:
        # metrics.json of older runs lack "estimator": the config's model, else the name's prefix
        return str(self.metrics.get("estimator") or self.config.get("model") or self.name.split("-")[0])

    @property
    def leads(self) -> tuple[str, ...]:
        return tuple(self.metrics["leads"])

    @property
    def record_features(self) -> bool:
        return bool(self.metrics.get("record_features", True))

    @property
    def command(self) -> str | None:
        return self.config.get("command")

    @property
    def is_cnn(self) -> bool:
        return self.estimator == "cnn"

    @property
    def family(self) -> str:
        """The lead-ranking column: estimator, with and without record-level features apart."""
        return self.estimator + ("" if self.record_features else " (no record features)")

    @property
    def label(self) -> str:
        """Short name within a group: the estimator plus what the default folder name adds to it
        (e.g. `xgb (seed)`), or the folder name when the user named the folder."""
        leads = "all" if self.leads == LEADS else "+".join(self.leads)
        m = self.metrics
        prefix = "-".join(str(p) for p in (self.estimator, m["dataset"], m["labels"], m["protocol"], leads))
        if self.name == prefix:
            return self.estimator
        if self.name.startswith(prefix + "-"):
            return f"{self.estimator} ({self.name[len(prefix) + 1:]})"
        return self.name

    def auc(self) -> float:
        """Macro AUC for ranking models; undefined sorts last."""
        v = self.metrics["macro"].get("auc")
        return -math.inf if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    def predictions(self) -> pd.DataFrame:
        """The tested (out-of-sample) rows of predictions.parquet, indexed by record_id."""
        if self._pred is None:
            df = pd.read_parquet(self.folder / "predictions.parquet")
            df = df[df["tested"].astype(bool)].copy()
            df["record_id"] = df["record_id"].astype(str)
            self._pred = df.set_index("record_id")
        return self._pred


def _read_json(path: Path) -> dict:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def load_run(folder: Path) -> ModelRun:
    """A ModelRun, or ValueError with the reason the folder cannot be used."""
    for needed in ("metrics.json", "predictions.parquet"):
        if not (folder / needed).is_file():
            raise ValueError(f"no {needed}")
    try:
        metrics = _read_json(folder / "metrics.json")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"metrics.json is not valid JSON ({str(err).splitlines()[0]})") from None
    missing = [k for k in REQUIRED if k not in metrics]
    if missing:
        raise ValueError(f"metrics.json lacks {', '.join(missing)}")
    _check_predictions(folder / "predictions.parquet", [str(c) for c in metrics["classes"]])
    config = {}
    if (folder / "config.json").is_file():
        try:
            config = _read_json(folder / "config.json")
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"config.json is not valid JSON ({str(err).splitlines()[0]})") from None
    return ModelRun(folder=folder, metrics=metrics, config=config)


def _check_predictions(path: Path, classes: list[str]) -> None:
    """Read only the Parquet footer: a truncated or foreign file is caught here, at gathering
    time, not halfway through drawing the report."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise ValueError(f"predictions.parquet is unreadable ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    want = ["record_id", "tested"] + [f"{k}__{c}" for c in classes for k in ("y_true", "y_score", "y_pred")]
    missing = [w for w in want if w not in names]
    if missing:
        raise ValueError(f"predictions.parquet lacks column(s) {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")


def find_models(models_dir: str | Path) -> tuple[list[ModelRun], list[dict]]:
    """(usable runs, skipped [{"folder", "reason"}]) of the model folders under `models_dir`.

    Folders starting with "." are in-progress writes or checkpoints (training.py writes
    `.name.tmp-pid`, `.name.ckpt`): ignored without a word, they are not models yet."""
    runs, skipped = [], []
    for folder in sorted(Path(models_dir).iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            runs.append(load_run(folder))
        except ValueError as err:
            skipped.append({"folder": str(folder), "reason": str(err)})
    return runs, skipped


@dataclass
class Group:
    """Comparable runs: one key, runs sorted by macro AUC (best first)."""

    dataset: str
    labels: str
    protocol: str
    leads: tuple[str, ...] | None  # None: a lead-ranking group (single-lead runs of every lead)
    runs: list[ModelRun]

    @property
    def id(self) -> str:
        leads = "each-lead" if self.leads is None else ("all" if self.leads == LEADS else "+".join(self.leads))
        return "-".join([self.dataset, self.labels, self.protocol, leads])

    @property
    def classes(self) -> list[str]:
        """Union of the runs' classes, in the order they first appear (models may drop a class
        that has no positive in their records)."""
        out: list[str] = []
        for r in self.runs:
            out += [c for c in r.metrics["classes"] if c not in out]
        return out


def group_runs(runs: list[ModelRun]) -> tuple[list[Group], list[Group]]:
    """(comparison groups keyed by dataset, labels, protocol, leads; lead-ranking groups of the
    single-lead runs keyed by dataset, labels, protocol), in a stable order."""
    compare: dict[tuple, list[ModelRun]] = {}
    ranking: dict[tuple, list[ModelRun]] = {}
    for r in runs:
        m = r.metrics
        base = (str(m["dataset"]), str(m["labels"]), str(m["protocol"]))
        if len(r.leads) == 1:
            ranking.setdefault(base, []).append(r)
        else:
            compare.setdefault(base + (r.leads,), []).append(r)

    def order(rs):
        return sorted(rs, key=lambda r: (-r.auc(), r.name))

    groups = [Group(*k[:3], leads=k[3], runs=order(v))
              for k, v in sorted(compare.items(), key=lambda kv: (kv[0][:3], kv[0][3] != LEADS, kv[0][3]))]
    ranks = [Group(*k, leads=None, runs=order(v)) for k, v in sorted(ranking.items())]
    return groups, ranks


@dataclass
class ExternalRun:
    """One model's predictions on an external dataset (``models/<name>/external/<dataset>/``),
    shaped like a ModelRun for the curve plots: name, label, estimator, predictions()."""

    run: ModelRun
    doc: dict
    _pred: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def label(self) -> str:
        return self.run.label

    @property
    def estimator(self) -> str:
        return self.run.estimator

    def predictions(self) -> pd.DataFrame:
        if self._pred is None:
            df = pd.read_parquet(Path(self.doc["folder"]) / "predictions.parquet")
            df["record_id"] = df["record_id"].astype(str)
            self._pred = df.set_index("record_id")
        return self._pred


def external_runs(runs: list[ModelRun]) -> list[ExternalRun]:
    """Every external evaluation (`ecgfeat evaluate`) of the runs, sorted by source dataset, label
    scheme, external dataset and model; one with unreadable predictions is left out."""
    from ..evaluation.external import find_external

    out = []
    for r in runs:
        for doc in find_external(r.folder):
            if (Path(doc["folder"]) / "predictions.parquet").is_file():
                out.append(ExternalRun(r, doc))
    return sorted(out, key=lambda e: (str(e.doc.get("source_dataset")), str(e.doc.get("labels")),
                                      str(e.doc["dataset"]), e.name))


def external_entry(e: ExternalRun, colour: str | None = None) -> dict:
    """The compare.json entry of one external evaluation: internal and external metrics of the
    same classes, the drop (external - internal) and what the external set lacks."""
    d = e.doc
    internal = d.get("internal") or {}
    return {"model": e.name, "label": e.label, "estimator": e.estimator, "colour": colour,
            "source_dataset": d.get("source_dataset", e.run.metrics.get("dataset")),
            "source_protocol": d.get("source_protocol", e.run.metrics.get("protocol")),
            "dataset": d["dataset"], "labels": d.get("labels"), "format": d.get("format"),
            "n_records": d.get("n_records"), "bootstrap": d.get("bootstrap"), "classes": list(d.get("classes") or []),
            "external": {k: d.get(k) for k in ("macro", "macro_ci", "per_class")},
            "internal": {k: internal.get(k) for k in ("n_records", "macro", "macro_ci", "per_class", "bootstrap")}
            if internal else None,
            "drop": d.get("drop"), "absent_classes": d.get("absent_classes") or {},
            "not_in_model": d.get("not_in_model") or {}, "thresholds_origin": d.get("thresholds_origin"),
            "command": d.get("command"), "folder": d["folder"]}

"""`explain_model`: a model folder -> reports/explain/<model>/ (PNGs + explain.json).

Classical models, on the feature matrix they were trained on: TreeSHAP for rf, gbm, xgb, lgbm
(trees.py), exact linear SHAP for lr (coefficients x standardised values, linear.py), permutation
SHAP on a seeded background sample for mlp (agnostic.py). cnn: DeepSHAP on its signal cache (cnn.py).
On the synthetic set (params.csv beside the data) the explanation is checked against the generating
mechanism of each class (groups.py: `ground_truth`, "hits"); on any data set labelled with cpsc9 or
ptbxl-super, against the clinical criteria of each class (criteria.py: `clinical`,
"clinical_hits"). When explain.json files of a tree model and of a cnn of the same dataset and
label scheme sit side by side, their per-class lead importances are compared (Spearman).
"""

from __future__ import annotations

import importlib
import json
import os
import time
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..vocab import LEADS, RECORD_LEVEL
from .trees import OUTPUT, TREE_MODELS

FEATURE_MODELS = TREE_MODELS + ("lr", "mlp")
METHOD = {"lr": "exact linear SHAP (coefficients x standardised values)",
          "mlp": "shap.PermutationExplainer (log-odds, {n} seeded background records)"}
DEFAULT_N = {"tree": 200, "lr": 200, "mlp": 30, "cnn": 50}


@contextmanager
def _no_bar(description, total, unit="records"):
    yield lambda n=1, description=None: None


def resolve(path_text: str, folder: Path) -> Path:
    """A path saved in config.json: absolute as saved; relative (to the training run's working
    directory, normally the workspace) first against the model's workspace (models/..), then cwd."""
    p = Path(path_text)
    if p.is_absolute():
        return p
    alt = folder.resolve().parent.parent / p
    return alt if alt.exists() else p


def has_ground_truth(config: dict) -> bool:
    path = config.get("dataset_path")
    return bool(path) and (Path(path) / "params.csv").exists()


def sample_ids(ids: list[str], n: int, seed: int) -> list[str]:
    if len(ids) <= n:
        return sorted(ids)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(sorted(ids), size=n, replace=False).tolist())


def predicted_classes(proba: np.ndarray, classes: list[str], thresholds: dict) -> tuple[list[str], str]:
    got = [c for c, p in zip(classes, proba) if p >= thresholds.get(c, 0.5)]
    if got:
        return got, "above the class thresholds"
    return [classes[int(np.argmax(proba))]], "no class above its threshold: the most probable class"


def explain_model(folder: str | Path, out_root: str | Path, records: list[str] | None = None, n: int | None = None,
                  jobs: int = 1, bar=None) -> dict:
    """Explain one model; returns the explain.json document (with "explain_json", its path)."""
    from ..optional import require
    from ..predict import load_model

    require("shap", "explain", "ecgfeat explain (SHAP)")

    t0 = time.perf_counter()
    with warnings.catch_warnings():    # shap 0.51's colour maps call matplotlib methods marked for deprecation
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        importlib.import_module("shap")
    folder = Path(folder)
    bar = bar or _no_bar
    try:
        kind = json.loads((folder / "config.json").read_text()).get("model")
    except (OSError, ValueError) as err:
        raise ValueError(f"{folder / 'config.json'}: unreadable ({type(err).__name__}: {err})") from None
    if kind not in FEATURE_MODELS + ("cnn",):
        raise ValueError(f"--model {folder.name}: config.json names model {kind!r}, which explain does not know; "
                         f"it explains {', '.join(FEATURE_MODELS + ('cnn',))}")
    config, est = load_model(folder, n_jobs=jobs)
    out = Path(out_root) / folder.name
    n = n or DEFAULT_N.get(kind, DEFAULT_N["tree"])
    pred = pd.read_parquet(folder / "predictions.parquet")
    pred["record_id"] = pred["record_id"].astype(str)
    pred = pred.set_index("record_id")
    load_s = time.perf_counter() - t0
    if kind == "cnn":
        from .cnn import explain_cnn
        doc = explain_cnn(folder, config, est, pred, out, records or [], n, jobs, bar)
    else:
        doc = explain_features(folder, config, est, pred, out, records or [], n, jobs, bar)
    doc["timings"] = {"load_s": round(load_s, 2), **doc.get("timings", {}),
                      "total_s": round(time.perf_counter() - t0, 2)}
    path = out / "explain.json"
    keep_earlier_records(path, doc)
    _write_json(path, doc)
    doc["agreement"] = update_agreement(path)
    doc["explain_json"] = str(path)
    return doc


def fresh_folder(out: Path) -> None:
    """The model's output folder, without the population figures of an earlier run; the patient
    figures (record_*) are sorted out by `keep_earlier_records` once this run's records are known."""
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.png")) + list(out.glob("*.npz")):
        if not old.name.startswith("record_"):
            old.unlink()


def keep_earlier_records(path: Path, doc: dict) -> None:
    """Re-running explain keeps the patient figures of records explained earlier for the same model
    (same training run: config.json's `created`), listed in `doc["records"]` with `earlier_run`; the
    figures of another model of that name (retrained since) are removed, as they no longer explain it."""
    old = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = {}
    same = bool(old.get("model_created")) and old.get("model_created") == doc.get("model_created")
    kept = {}
    if same:
        for rid, e in (old.get("records") or {}).items():
            if rid not in doc.get("records", {}) and isinstance(e, dict):
                kept[rid] = {**e, "earlier_run": e.get("earlier_run") or old.get("created")}
    prefixes = [f"record_{safe_name(r)}" for r in list(doc.get("records", {})) + list(kept)]
    for f in list(path.parent.glob("record_*")):
        if not any(f.name == p + ".npz" or f.name.startswith(p + "_") for p in prefixes):
            f.unlink()
    earlier = [f for f in old.get("figures") or [] if any(f.startswith(f"record_{safe_name(r)}_") for r in kept)]
    doc["records"] = {**kept, **doc.get("records", {})}
    doc["figures"] = list(doc.get("figures", [])) + [f for f in earlier if (path.parent / f).exists()]


def base_doc(config: dict, method: str, output: str) -> dict:
    import shap

    return {"model": config["name"], "estimator": config["model"], "dataset": config["dataset"],
            "labels": config["labels"], "protocol": config["protocol"], "leads": config["leads"],
            "classes": config["classes"], "method": method, "output": output, "shap_version": shap.__version__,
            "model_created": config.get("created"), **in_sample_note(config),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def in_sample_note(config: dict) -> dict:
    """A cv model folder holds the refit on every labelled record (the out-of-fold models are not
    kept): its explanations are of records it was trained on, and say so."""
    if config.get("protocol") != "cv":
        return {"in_sample": False}
    return {"in_sample": True, "in_sample_note": "cv protocol: the saved model is the refit on every labelled record, so "
            "the explained records are in-sample (trained on), not test records; the out-of-fold metrics are in metrics.json"}


def add_ground_truth(doc: dict, checks: dict[str, dict | None]) -> None:
    """SPEC keys: ground_truth {class: bool} and hits; the evidence in ground_truth_detail."""
    from .groups import CNN_MIN_RATIO, MIN_SHARE, NOT_CHECKED

    checked = {c: v for c, v in checks.items() if v is not None}
    doc["not_checked"] = {c: NOT_CHECKED.get(c, "no expected mechanism") for c, v in checks.items() if v is None}
    doc["hit_rule"] = (f"cnn: the expected region's attribution density at least {CNN_MIN_RATIO} times the rest's"
                       if doc.get("estimator") == "cnn" else
                       f"features: the expected features carry at least {MIN_SHARE:.0%} of the top-3 mean |SHAP|")
    doc["ground_truth"] = {c: v["hit"] for c, v in checked.items()}
    doc["hits"] = int(sum(v["hit"] for v in checked.values()))
    doc["n_checked"] = len(checked)
    doc["ground_truth_detail"] = checked


# -- feature models (trees, lr, mlp) ---------------------------------------------------------

def load_features(folder: Path, config: dict) -> pd.DataFrame:
    """The model's feature matrix (labelled records x its exact training columns)."""
    from ..training import TrainConfig, load_matrix

    cfg = TrainConfig(model=config["model"], dataset=config["dataset"], store=str(resolve(config["store"], folder)),
                      labels=config["labels"], protocol=config["protocol"], leads=tuple(config["leads"]),
                      record_features=config["record_features"], families=tuple(config["families"]) or None,
                      seed=config["seed"])
    X = load_matrix(cfg)[0]
    X.index = X.index.astype(str)
    return X.reindex(columns=config["feature_names"])


def make_explainer(kind: str, est, classes: list[str], X: pd.DataFrame, pred: pd.DataFrame, seed: int):
    """(explainer, method) for a feature model: TreeShap, LinearShap (lr) or PermutationShap (mlp, its
    background a seeded sample of the training records: those not tested, or all for a cv refit)."""
    if kind == "lr":
        from .linear import LinearShap
        return LinearShap(est, classes), METHOD["lr"]
    if kind == "mlp":
        from .agnostic import BACKGROUND, PermutationShap
        tested = set(pred.index[pred["tested"].astype(bool)])
        train_ids = [r for r in X.index if r not in tested] or list(X.index)
        bg = X.loc[sample_ids(train_ids, BACKGROUND, seed)].to_numpy(np.float32)
        return PermutationShap(est, classes, bg, seed=seed), METHOD["mlp"].format(n=len(bg))
    from .trees import TreeShap
    return TreeShap(est, classes), "shap.TreeExplainer"


def explain_features(folder, config, est, pred, out: Path, records, n, jobs, bar) -> dict:
    from threadpoolctl import threadpool_limits

    from . import plots
    from .criteria import clinical_check, clinical_summary
    from .groups import EXPECTED_FEATURES, MECHANISM
    from .trees import explain_population

    classes, names = config["classes"], config["feature_names"]
    X = load_features(folder, config)
    missing = [r for r in records if r not in X.index]
    if missing:
        raise ValueError(f"--record {missing[0]}: not a record of {config['name']}'s data set {config['dataset']!r} "
                         f"(its {len(X)} labelled records in the feature store are e.g. {', '.join(X.index[:3])})")
    fresh_folder(out)
    tested = [r for r in pred.index[pred["tested"].astype(bool)] if r in X.index]
    ids = sample_ids(tested, n, config["seed"])
    A = X.loc[ids].to_numpy(np.float32)
    units = OUTPUT[config["model"]]
    t = time.perf_counter()
    with threadpool_limits(max(1, jobs)):
        ts, method = make_explainer(config["model"], est, classes, X, pred, config["seed"])
        doc = base_doc(config, method, units)
        doc.update(n_records=len(ids), n_features=len(names),
                   records_from="labelled records, in-sample for the cv refit" if doc["in_sample"] else "test fold(s) of predictions.parquet")
        with bar(f"{method.split(' (')[0]} per class", len(ts.explainers), unit="classes") as advance:
            pop = explain_population(ts, A, names, progress=advance)
    doc["timings"] = {"shap_s": round(time.perf_counter() - t, 2)}
    doc["skipped_classes"] = ts.skipped
    doc["per_class"] = {c: {k: s[k] for k in ("top_features", "top_importance", "lead_importance", "family_importance")}
                        | {"expected_value": round(s["expected_value"], 5)} for c, s in pop.items()}
    if has_ground_truth(config):
        add_ground_truth(doc, {c: s["check"] for c, s in pop.items()})
        doc["expected"] = {c: {"mechanism": MECHANISM[c], "patterns": EXPECTED_FEATURES[c]} for c in pop if c in EXPECTED_FEATURES}
    positives = {c: int(pred.loc[ids, f"y_true__{c}"].sum()) for c in pop if f"y_true__{c}" in pred.columns}
    doc.update(clinical_summary(config["labels"], {c: clinical_check(config["labels"], c, [names[k] for k in s["order"]],
                                                                     [s["importance"][k] for k in s["order"]])
                                                   for c, s in pop.items()}, positives))
    t = time.perf_counter()
    figs = []
    shown = list(pop)
    cols = list(LEADS) + [RECORD_LEVEL]
    figs.append(plots.heatmap([[pop[c]["lead_importance"][l] for l in cols] for c in shown], shown, cols,
                              f"{config['name']}: mean |SHAP| per lead and class (normalised per class)",
                              out / "lead_class_heatmap.png", "share of the class's mean |SHAP|"))
    fams = sorted({f for c in shown for f in pop[c]["family_importance"]})
    figs.append(plots.heatmap([[pop[c]["family_importance"].get(f, 0) for f in fams] for c in shown], shown, fams,
                              f"{config['name']}: mean |SHAP| per feature family", out / "family_class_heatmap.png",
                              "share of the class's mean |SHAP|"))
    with bar("beeswarm plots", len(shown), unit="classes") as advance:
        for c in shown:
            figs.append(plots.beeswarm(pop[c]["values"], A, names, c, units, out / f"beeswarm_{safe_name(c)}.png"))
            advance(1)
    doc["records"] = {}
    with bar("patient level", len(records), unit="records") as advance:
        for rid in records:
            doc["records"][rid] = _tree_record(rid, X, est, ts, config, pred, out, figs)
            advance(1)
    doc["timings"]["plots_s"] = round(time.perf_counter() - t, 2)
    doc["figures"] = [Path(f).name for f in figs]
    return doc


def _tree_record(rid, X, est, ts, config, pred, out, figs) -> dict:
    from . import plots
    from .trees import explain_record

    classes, names = config["classes"], config["feature_names"]
    x = X.loc[[rid]].to_numpy(np.float32)
    proba = est.predict_proba(x)[0]
    chosen, why = predicted_classes(proba, classes, config["thresholds"])
    rec = explain_record(ts, x, names, chosen)
    signal = _raw_signal(config, rid)
    entry = {"predicted": chosen, "why": why,
             "in_test_fold": config.get("protocol") != "cv" and bool(pred["tested"].get(rid, False)),
             "probabilities": {c: round(float(p), 4) for c, p in zip(classes, proba)}, "classes": {}}
    entry.update(record_warnings(signal, dict(zip(names, x[0]))))
    for c, r in rec.items():
        head = f"{rid}: {c} (p = {proba[classes.index(c)]:.2f}; f(x) = {r['output']:.2f} {OUTPUT[config['model']].split(' (')[0]})"
        figs.append(plots.waterfall(r["values"], r["expected_value"], x[0], names, c, head,
                                    out / f"record_{safe_name(rid)}_{safe_name(c)}_waterfall.png"))
        if signal is not None:
            figs.append(plots.ecg_reasons(signal[0], signal[1], r["lead_mass"], r["reasons"], c, head,
                                          out / f"record_{safe_name(rid)}_{safe_name(c)}_ecg.png"))
        entry["classes"][c] = {k: r[k] for k in ("expected_value", "output", "reasons", "lead_mass")}
    return entry


def record_warnings(signal, features: dict | None = None) -> dict:
    """{"quality": ..., "warnings": [...]} of a record: its flat and low-quality leads (signal/quality.py),
    the LA/RA reversal flag and beat credibility when the model's features hold them; {} without the
    signal (its dataset folder gone)."""
    from ..signal.quality import assess_quality, quality_entry

    if signal is None:
        return {}
    q = assess_quality(signal[0], signal[1])
    row = {k: float(v) for k, v in (features or {}).items() if "__quality__" in k}
    refused = None
    if row.get("all__quality__credible_beats") == 0.0:
        refused = "no credible beats: the expert and rhythm features are NaN"
    e = quality_entry(q, (), row, refused)
    return {"quality": {k: v for k, v in e.items() if k != "warnings"}, "warnings": e["warnings"]}


def _raw_signal(config: dict, rid: str):
    """(12 x n mV, fs) of the record from its dataset folder, or None when that folder is gone."""
    from ..datasets import open_dataset

    path = config.get("dataset_path")
    if not path or not Path(path).exists():
        return None
    ds = open_dataset(path, name=config["dataset"])
    ref = next((r for r in ds.refs() if r.record_id == rid), None)
    if ref is None:
        return None
    rec = ds.read(ref)
    return rec.signal, float(rec.fs)


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text))


# -- output -----------------------------------------------------------------------------------------

def _write_json(path: Path, doc: dict) -> None:
    from ..jsonable import json_safe

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)


def spearman_agreement(a: dict, b: dict) -> dict:
    """Per class shared by two explain.json docs: Spearman rho of their 12 lead importances."""
    from scipy.stats import spearmanr

    out = {}
    for c in a.get("per_class", {}):
        la, lb = a["per_class"][c].get("lead_importance"), b.get("per_class", {}).get(c, {}).get("lead_importance")
        if not la or not lb:
            continue
        leads = [l for l in LEADS if l in la and l in lb and la[l] is not None and lb[l] is not None]
        if len(leads) < 3:
            continue
        rho = spearmanr([la[l] for l in leads], [lb[l] for l in leads]).statistic
        out[c] = None if not np.isfinite(rho) else round(float(rho), 3)
    vals = [v for v in out.values() if v is not None]
    return {"per_class": out, "mean": round(float(np.mean(vals)), 3) if vals else None}


def update_agreement(path: Path) -> dict:
    """Compare the explain.json at `path` with every explain.json beside it of the other kind (tree vs
    cnn) and the same dataset and labels; both files get the result under "agreement"."""
    doc = json.loads(path.read_text())
    mine_cnn = doc.get("estimator") == "cnn"
    found = {}
    for other in sorted(path.parent.parent.glob("*/explain.json")):
        if other == path:
            continue
        try:
            od = json.loads(other.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(od, dict) or not od.get("model") or not isinstance(od.get("per_class"), dict):
            continue
        if (od.get("estimator") == "cnn") == mine_cnn or (od.get("dataset"), od.get("labels")) != (doc.get("dataset"), doc.get("labels")):
            continue
        tree, cnn = (od, doc) if mine_cnn else (doc, od)
        res = {"tree_model": tree["model"], "cnn_model": cnn["model"], "measure": "Spearman rho of the 12 lead importances",
               **spearman_agreement(tree, cnn)}
        found[od["model"]] = res
        od.setdefault("agreement", {})[doc["model"]] = res
        _write_json(other, od)
    doc["agreement"] = found
    _write_json(path, doc)
    return found

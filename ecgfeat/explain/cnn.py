"""The cnn's explanation: DeepSHAP over a sample of test records (population) and chosen records.

Population: test records drawn class by class in turn (so every class gets its share of `n`), each
explained for its true classes; per class the |attribution| summed per lead (the paper's lead x class
heatmap, normalised per class). Patient level: each `--record` explained for its predicted classes,
its input window drawn with the attribution over it, the arrays kept in record_<id>.npz.

Ground truth (synthetic set): where in the cycle the attribution of a class lies, from the params'
wave positions (regions.py). Raw DeepSHAP mass follows the signal's amplitude: DeepLIFT multiplies by
the input's distance from the background, which is largest on the QRS, and on a 10-epoch cnn the QRS
was the densest region of every one of the nine classes. The check therefore uses the attribution
per mV of that distance (|attribution| / mean |input - background record|, per second of region):
how strongly the network weighs a region rather than how large the signal is there. Both the raw and
the normalised densities are in explain.json.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .deep import BACKGROUND, DeepAttributor, background_records, lead_mass


def _round_robin(pred, classes: list[str], available: set[str], n: int, seed: int) -> list[str]:
    """Up to n tested records, taken class by class in turn (seeded order within a class)."""
    rng = np.random.default_rng(seed)
    tested = pred[pred["tested"].astype(bool)]
    pools = []
    for c in classes:
        ids = [r for r in tested.index[tested[f"y_true__{c}"] == 1] if r in available]
        pools.append(list(rng.permutation(sorted(ids))))
    chosen: list[str] = []
    while len(chosen) < n and any(pools):
        for pool in pools:
            while pool and pool[0] in chosen:
                pool.pop(0)
            if pool and len(chosen) < n:
                chosen.append(pool.pop(0))
    return chosen


def _deviation(att: DeepAttributor, x: np.ndarray) -> np.ndarray:
    """Per sample: mean over background records of |input - background|, summed over leads."""
    bg = att.background.numpy()
    return np.abs(x[None] - bg).mean(axis=0).sum(axis=0)


def _regions(att, out, params_row) -> dict:
    from .regions import densities, region_masks

    masks = region_masks(params_row, out["t"])
    raw = np.abs(out["values"]).sum(axis=0)
    dev = _deviation(att, out["x"])
    per_mv = np.divide(raw, dev, out=np.zeros_like(raw), where=dev > 1e-9)
    return {"raw": densities(raw, masks, att.fs), "per_mv": densities(per_mv, masks, att.fs)}


def _mean(dicts: list[dict]) -> dict:
    keys = dicts[0].keys() if dicts else []
    out = {}
    for k in keys:
        vals = [d[k] for d in dicts if d.get(k) is not None and np.isfinite(d[k])]
        out[k] = float(np.mean(vals)) if vals else float("nan")
    return out


def explain_cnn(folder: Path, config, est, pred, out: Path, records, n, jobs, bar) -> dict:
    from ..deep import SignalCache
    from . import plots
    from .groups import CNN_MIN_RATIO, EXPECTED_REGIONS, MECHANISM
    from .regions import region_hit
    from .run import base_doc, add_ground_truth, fresh_folder, has_ground_truth, resolve

    classes = config["classes"]
    sig, _ = SignalCache(resolve(config["cache"], folder), config["dataset"], est.effective_settings.fs).open()
    ids = [str(r) for r in sig.ids]
    pos = {r: k for k, r in enumerate(ids)}
    missing = [r for r in records if r not in pos]
    if missing:
        raise ValueError(f"--record {missing[0]}: not in the signal cache of {config['name']}'s data set "
                         f"{config['dataset']!r} ({len(ids)} records, e.g. {', '.join(ids[:3])})")
    fresh_folder(out)
    att = DeepAttributor(est, sig, background_records(pred, ids, BACKGROUND, config["seed"], refit=config.get("protocol") == "cv"), threads=jobs)
    params = None
    if has_ground_truth(config):
        from ..synth import read_params
        params = read_params(config["dataset_path"])
        params.index = params.index.astype(str)
    sample = _round_robin(pred, classes, set(pos), n, config["seed"])
    jobs_list = [(r, j) for r in sample for j, c in enumerate(classes) if pred.loc[r, f"y_true__{c}"] == 1]
    doc = base_doc(config, "shap.DeepExplainer", "logit (log-odds) of each class")
    doc.update(n_records=len(sample), records_from=("labelled records, in-sample for the cv refit" if doc["in_sample"]
                                                   else "test fold(s) of predictions.parquet") + ", class by class in turn",
               background=len(att.background), window_s=est.effective_settings.window_s, fs=est.effective_settings.fs)
    mass = {c: [] for c in classes}
    dens = {c: [] for c in classes}
    t = time.perf_counter()
    with bar("DeepSHAP (population)", len(jobs_list), unit="record-classes") as advance:
        for r, j in jobs_list:
            res = att.explain(pos[r], j)
            mass[classes[j]].append(lead_mass(res["values"]))
            if params is not None and r in params.index:
                dens[classes[j]].append(_regions(att, res, params.loc[r]))
            advance(1)
    shap_s = time.perf_counter() - t
    doc["per_class"] = {}
    for c in classes:
        if not mass[c]:
            continue
        m = np.mean(mass[c], axis=0)
        li = {lead: round(float(v), 5) for lead, v in zip(est.leads, m)}
        doc["per_class"][c] = {"top_features": [est.leads[k] for k in np.argsort(-m)[:5]], "lead_importance": li,
                               "n_records": len(mass[c])}
        if dens[c]:
            doc["per_class"][c]["regions"] = {"raw": _round(_mean([d["raw"] for d in dens[c]])),
                                              "per_mv": _round(_mean([d["per_mv"] for d in dens[c]]))}
    doc["top_features_are"] = "leads ranked by mean |attribution| (a cnn has no named features)"
    if params is not None:
        checks = {c: region_hit(c, _mean([d["per_mv"] for d in dens[c]])) for c in classes if dens[c]}
        add_ground_truth(doc, checks)
        doc["expected"] = {c: {"mechanism": MECHANISM[c], "region": EXPECTED_REGIONS.get(c)} for c in classes}
        doc["ground_truth_measure"] = ("attribution per mV of input-to-background distance, per second of region; "
                                       f"hit: the expected region at least {CNN_MIN_RATIO} times as dense as the rest of the record "
                                       "(Normal: no region of its own, not checked)")
    shown = [c for c in classes if c in doc["per_class"]]
    figs = [plots.heatmap([[doc["per_class"][c]["lead_importance"][l] for l in est.leads] for c in shown], shown,
                          list(est.leads), f"{config['name']}: DeepSHAP |attribution| per lead (normalised per class)",
                          out / "lead_class_heatmap.png", "share of the class's |attribution|")]
    doc["records"] = {}
    with bar("DeepSHAP (patient level)", len(records), unit="records") as advance:
        for rid in records:
            doc["records"][rid] = _record(rid, pos[rid], att, est, sig, config, pred, params, out, figs)
            advance(1)
    doc["method"] = att.method if att.fallback_reason is None else f"{att.method} (fallback: {att.fallback_reason})"
    doc["timings"] = {"shap_s": round(shap_s, 2),
                      "deepshap_s_per_record": round(float(np.mean(att.seconds)), 2) if att.seconds else None,
                      "deepshap_s_per_record_max": round(float(np.max(att.seconds)), 2) if att.seconds else None,
                      "threads": max(1, int(jobs))}
    doc["additivity_max_error"] = round(att.max_additivity_error, 6)
    doc["figures"] = [Path(f).name for f in figs]
    return doc


def _record(rid, i, att, est, sig, config, pred, params, out, figs) -> dict:
    from . import plots
    from .run import safe_name, predicted_classes

    classes = config["classes"]
    proba = est.predict_proba(sig[[i]])[0]
    chosen, why = predicted_classes(proba, classes, config["thresholds"])
    entry = {"predicted": chosen, "why": why,
             "in_test_fold": config.get("protocol") != "cv" and bool(pred["tested"].get(rid, False)),
             "probabilities": {c: round(float(p), 4) for c, p in zip(classes, proba)}, "classes": {}}
    arrays = {}
    for c in chosen:
        j = classes.index(c)
        res = att.explain(i, j)
        lm = lead_mass(res["values"])
        item = {"window_start_s": round(res["start"] / att.fs, 3), "seconds": round(res["seconds"], 2),
                "lead_mass": {lead: round(float(v), 4) for lead, v in zip(est.leads, lm)}}
        if params is not None and rid in params.index:
            from .regions import region_hit
            d = _regions(att, res, params.loc[rid])
            item["regions"] = {"raw": _round(d["raw"]), "per_mv": _round(d["per_mv"])}
            item["check"] = region_hit(c, d["per_mv"])
        head = f"{rid}: {c} (p = {proba[j]:.2f}), DeepSHAP of the logit, window at {res['start'] / att.fs:.1f} s"
        figs.append(plots.ecg_attribution(res["x"], res["t"], res["values"], list(est.leads), c, head,
                                          out / f"record_{safe_name(rid)}_{safe_name(c)}_attribution.png"))
        arrays[f"{c}__values"], arrays[f"{c}__t"], arrays[f"{c}__x"] = res["values"], res["t"], res["x"]
        entry["classes"][c] = item
    np.savez_compressed(out / f"record_{safe_name(rid)}.npz", leads=np.array(est.leads), **arrays)
    entry["arrays"] = f"record_{safe_name(rid)}.npz"
    return entry


def _round(d: dict) -> dict:
    return {k: (None if v is None or not np.isfinite(v) else round(float(v), 4)) for k, v in d.items()}


"""Where in the cardiac cycle a CNN's attribution lies: time regions from the synthetic params.

The synthetic set saves every beat's wave positions (p_on_s, p_off_s, qrs_on_s, qrs_off_s, t_off_s,
beat_kinds); these give, for a window of the network's input, boolean masks of the regions named in
groups.EXPECTED_REGIONS. Attribution *density* (mass per second) per region, not mass, is compared,
so a long region does not win by being long.
"""

from __future__ import annotations

import numpy as np

from .groups import CNN_MIN_RATIO, EXPECTED_REGIONS, PARTITION

ECTOPIC_LEAD_S = 0.10      # an ectopic beat's region starts this long before its QRS when it has no P


def _fill(mask: np.ndarray, t: np.ndarray, a: float, b: float) -> None:
    if np.isfinite(a) and np.isfinite(b) and b > a:
        mask |= (t >= a) & (t < b)


def region_masks(params, t: np.ndarray) -> dict[str, np.ndarray]:
    """Masks over sample times `t` (s from the record's start; NaN where the window is padding) of
    PR, QRS, ST, TQ (a partition of the record) and ectopic (the premature beats)."""
    p_on = np.asarray(params["p_on_s"], float)
    q_on, q_off = np.asarray(params["qrs_on_s"], float), np.asarray(params["qrs_off_s"], float)
    t_off = np.asarray(params["t_off_s"], float)
    kinds = str(params.get("beat_kinds", "") or "")
    real = np.isfinite(t)
    m = {k: np.zeros(t.shape, bool) for k in ("PR", "QRS", "ST", "ectopic")}
    for i in range(len(q_on)):
        _fill(m["PR"], t, p_on[i], q_on[i])
        _fill(m["QRS"], t, q_on[i], q_off[i])
        _fill(m["ST"], t, q_off[i], t_off[i])
        if i < len(kinds) and kinds[i] != "N":
            _fill(m["ectopic"], t, p_on[i] if np.isfinite(p_on[i]) else q_on[i] - ECTOPIC_LEAD_S, t_off[i])
    m["QRS"] &= ~m["PR"]                    # overlaps (none in the simulator) go to the earlier region
    m["ST"] &= ~(m["PR"] | m["QRS"])
    m["TQ"] = real & ~(m["PR"] | m["QRS"] | m["ST"])
    return {k: v & real for k, v in m.items()}


def densities(mass: np.ndarray, masks: dict[str, np.ndarray], fs: float) -> dict[str, float]:
    """Attribution mass per second in each region and in the rest of the record (`not_<region>`),
    divided by the record's mean density (1: no concentration); NaN for an empty region.
    `mass` is |attribution| (summed over leads) per sample."""
    real = masks["PR"] | masks["QRS"] | masks["ST"] | masks["TQ"]
    mean = mass[real].mean() if real.any() else 0.0
    out = {}
    for k, mk in masks.items():
        for name, sel in ((k, mk), (f"not_{k}", real & ~mk)):
            out[name] = float(mass[sel].mean() / mean) if sel.any() and mean > 0 else float("nan")
    return out


def region_hit(cls: str, dens: dict[str, float]) -> dict | None:
    """The check of one class from its (population mean) relative densities: the expected region
    must be at least CNN_MIN_RATIO times as dense as the rest of the record (groups.py). The densest of PR / QRS / ST / TQ is
    reported beside it: a stricter reading, which QRS, the largest deflection, often wins."""
    want = EXPECTED_REGIONS.get(cls)
    if want is None:
        return None
    inside, rest = dens.get(want, float("nan")), dens.get(f"not_{want}", float("nan"))
    ratio = inside / rest if np.isfinite(inside) and np.isfinite(rest) and rest > 0 else float("nan")
    part = {k: dens[k] for k in PARTITION if np.isfinite(dens.get(k, float("nan")))}
    top = max(part, key=part.get) if part else None
    return {"hit": bool(np.isfinite(ratio) and ratio >= CNN_MIN_RATIO), "min_ratio": CNN_MIN_RATIO, "expected_region": want,
            "ratio": None if not np.isfinite(ratio) else round(float(ratio), 3), "densest_region": top,
            "density": {k: None if not np.isfinite(v) else round(v, 3) for k, v in dens.items() if not k.startswith("not_")}}

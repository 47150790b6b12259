"""Seconds per training epoch of 1,000 records, per CNN preset, on this CPU.

    .venv/bin/python bench/train_cnn.py [--jobs 2] [--records 96] [--presets cpu,paper]

Times real optimiser steps (forward + backward + Adam) of the ResNet-34-1D on random batches of
the preset's input size (the network's cost does not depend on the values), after one warm-up
step, then prediction (one window per record). Prints per preset: s/epoch per 1,000 records, the
minutes an epoch of 5,000 records takes, and whether it is under the 5-minute target (cpu preset).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ecgfeat.deep.network import ResNet1d
from ecgfeat.deep.presets import PRESETS


def epoch_seconds(n_samples: int, batch: int, records: int, jobs: int) -> tuple[float, float]:
    torch.set_num_threads(jobs)
    torch.manual_seed(0)
    net = ResNet1d(12, 9, n_samples)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x = torch.randn(batch, 12, n_samples)
    y = (torch.rand(batch, 9) > 0.8).float()
    steps = max(1, records // batch)
    for i in range(steps + 1):
        if i == 1:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()
    train = (time.perf_counter() - t0) / (steps * batch) * 1000
    net.eval()
    with torch.no_grad():
        net(x)
        t0 = time.perf_counter()
        for _ in range(steps):
            net(x)
    infer = (time.perf_counter() - t0) / (steps * batch) * 1000
    return train, infer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--records", type=int, default=96, help="records timed per preset (paper: a third)")
    ap.add_argument("--presets", default="cpu,paper")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {args.jobs} threads")
    print(f"{'preset':8} {'input':>12} {'train s/1k rec':>15} {'predict s/1k':>13} {'5,000-record epoch':>19}")
    per_epoch = {}
    for name in args.presets.split(","):
        s = PRESETS[name]
        records = args.records if name == "cpu" else max(s.batch_size, args.records // 3)
        train, infer = epoch_seconds(s.n_samples, s.batch_size, records, args.jobs)
        per_epoch[name] = train
        five = train * 5 / 60
        verdict = ("(target < 5 min: " + ("met" if five < 5 else "MISSED") + ")") if name == "cpu" else ""
        print(f"{name:8} {f'12 x {s.n_samples}':>12} {train:15.1f} {infer:13.1f} {five:15.1f} min {verdict}")
    if {"cpu", "paper"} <= set(per_epoch):
        print(f"paper / cpu training cost per record: {per_epoch['paper'] / per_epoch['cpu']:.1f}x "
              f"(input {PRESETS['paper'].n_samples / PRESETS['cpu'].n_samples:.0f}x longer)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

"""ResNet-34-1D of Zhang et al. (2020), built so that `shap.DeepExplainer` can explain it.

Architecture as the seed: conv k=15 stride 2 (64 ch) + BN + ReLU + max-pool k=3 stride 2, basic
blocks (conv k=7, BN, ReLU, dropout 0.2, conv k=7, BN, residual add, ReLU) in layers [3, 4, 6, 3] of
64/128/256/512 channels (stride 2 from the second layer on), then average and max pooling over time,
concatenated (1,024 values), and a linear head with one logit per class.

What differs from the seed's code, and why (DeepExplainer attributes through registered modules):
- every ReLU is its own module and never in place (shap stores each module's input for the
  backward pass; an in-place ReLU overwrites it: "a leaf Variable that requires grad is being used
  in an in-place operation");
- the residual addition is a module (`Add`), not `out += identity` (linear: its gradient passes
  through, which is DeepLIFT's rule for a sum);
- the global pools are `AvgPool1d` / `MaxPool1d` with the kernel equal to the known final length
  instead of `AdaptiveAvg/MaxPool1d(1)`: identical outputs for that input length (tested), and
  `MaxPool1d` has a DeepLIFT rule in shap while `AdaptiveMaxPool1d` has none (additivity then
  fails by ~0.013 with shap 0.51). Hence the network is built for one input length.
"""

from __future__ import annotations

import torch
from torch import nn

LAYERS = (3, 4, 6, 3)
WIDTHS = (64, 128, 256, 512)


class Add(nn.Module):
    """Residual addition as a module (out of place)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class BasicBlock1d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, dropout: float = 0.2):
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 7, stride=stride, padding=3, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.relu1 = nn.ReLU(inplace=False)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(cout, cout, 7, padding=3, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.down = (nn.Sequential(nn.Conv1d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm1d(cout))
                     if stride != 1 or cin != cout else nn.Identity())
        self.add = Add()
        self.relu2 = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(self.relu1(self.bn1(self.conv1(x))))
        out = self.bn2(self.conv2(out))
        return self.relu2(self.add(out, self.down(x)))


def _conv_len(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def final_length(n_samples: int) -> int:
    """Time steps left after the stem and the three stride-2 layers, for an input of n_samples."""
    n = _conv_len(n_samples, 15, 2, 7)       # stem conv
    n = _conv_len(n, 3, 2, 1)                # stem max-pool
    for _ in LAYERS[1:]:
        n = _conv_len(n, 7, 2, 3)            # first conv of layers 2-4 (the 1x1 downsample agrees)
    return n


class ResNet1d(nn.Module):
    """ResNet-34-1D: input (batch, n_leads, n_samples) in mV, output (batch, n_classes) logits."""

    def __init__(self, n_leads: int, n_classes: int, n_samples: int, dropout: float = 0.2):
        super().__init__()
        if not 1 <= n_leads <= 12:
            raise ValueError(f"n_leads must be 1..12, got {n_leads}")
        self.n_leads, self.n_classes, self.n_samples = n_leads, n_classes, n_samples
        self.conv1 = nn.Conv1d(n_leads, 64, 15, stride=2, padding=7, bias=False)
        self.bn1 = nn.BatchNorm1d(64)
        self.relu = nn.ReLU(inplace=False)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        blocks, cin = [], 64
        for i, (n, w) in enumerate(zip(LAYERS, WIDTHS)):
            for j in range(n):
                blocks.append(BasicBlock1d(cin, w, stride=2 if (i > 0 and j == 0) else 1, dropout=dropout))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        t = final_length(n_samples)
        if t < 1:
            raise ValueError(f"n_samples={n_samples} is too short for ResNet-34-1D")
        self.avg = nn.AvgPool1d(t)
        self.max = nn.MaxPool1d(t)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(2 * WIDTHS[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.pool(self.relu(self.bn1(self.conv1(x)))))
        x = torch.cat([self.avg(x), self.max(x)], dim=1)
        return self.fc(self.flat(x))

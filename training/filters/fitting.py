"""Fit one `FilterNet` to one training pair (deterministic for a given seed)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from training.filters.model import FilterNet, clipped_l1


@dataclass(frozen=True)
class FitConfig:
    terms: int = 1
    hidden: int = 48
    position_hidden: int = 16
    steps: int = 3000
    batch: int = 16384
    lr: float = 5e-3
    weight_decay: float = 1e-5
    seed: int = 0


# The second stage: the chosen variant trained on with bigger batches and a lower peak rate
# (on 1977, 3000 such steps took the error from 3.22 to 3.09 levels; 1500 are the default).
REFINE = FitConfig(steps=1500, batch=32768, lr=1.5e-3)


def fit(
    features: np.ndarray,
    target: np.ndarray,
    config: FitConfig,
    log: Callable[[str], object] = print,
    *,
    start: FilterNet | None = None,
) -> FilterNet:
    """Train a new net, or go on training `start` (refining a checkpoint)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    x = torch.from_numpy(features)
    y = torch.from_numpy(target.astype(np.float32) / 255.0)
    net = start or FilterNet(config.terms, config.hidden, config.position_hidden)
    steps, peak = config.steps, config.lr
    optimiser = torch.optim.AdamW(net.parameters(), lr=peak, weight_decay=config.weight_decay)
    progress = Progress("step", steps, log)
    for step in range(steps):
        lr = peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for group in optimiser.param_groups:
            group["lr"] = lr
        index = torch.randint(0, x.shape[0], (config.batch,), generator=generator)
        progress.update(descend(optimiser, clipped_l1(net(x[index]), y[index])))
    return net


def descend(optimiser: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One optimiser step on `loss`; returns its value."""
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return float(loss.detach())


class Progress:
    """A running mean of the loss, logged in levels every `every` steps."""

    def __init__(
        self, label: str, steps: int, log: Callable[[str], object], every: int = 500
    ) -> None:
        self.label, self.steps, self.log, self.every = label, steps, log, every
        self.step, self.running = 0, 0.0
        self.started = time.perf_counter()

    def update(self, loss: float) -> None:
        self.running = 0.98 * self.running + 0.02 * loss if self.step else loss
        self.step += 1
        if self.step % self.every == 0:
            elapsed = time.perf_counter() - self.started
            self.log(
                f"  {self.label} {self.step}/{self.steps}: {self.running * 255:.2f} levels, "
                f"{elapsed:.0f} s"
            )


@torch.no_grad()
def predict(net: FilterNet, features: np.ndarray, chunk: int = 1 << 17) -> np.ndarray:
    """(N, 3) uint8 output of the network (clipped and rounded, like the shipped filter)."""
    parts = []
    for start in range(0, features.shape[0], chunk):
        out = net(torch.from_numpy(features[start : start + chunk]))
        parts.append(torch.clamp(out, 0, 1).mul(255).round().to(torch.uint8).numpy())
    return np.concatenate(parts)


def mean_abs_error(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.abs(prediction.astype(np.int16) - target.astype(np.int16)).mean())

"""Stage three: train a filter network through the serving step that follows it.

The served filter is `inference.chroma.smooth_chroma(network(photo))`. Stages one and two fit
the network pixel by pixel, as if nothing came after it; here the loss is taken after the same
chroma smoothing (the torch twin of `smooth_chroma`, same taps and luma weights), on random
crops of the training pair, so the network can leave to the step what the step does. The crops
carry a margin of the kernel's radius on each side and the loss is read only inside it, where
the smoothing sees real neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from inference.chroma import KERNEL_SIZE, LUMA_BGR, gaussian_taps
from training.filters.fitting import Progress, descend
from training.filters.model import FilterNet

RADIUS = KERNEL_SIZE // 2
LUMA_RGB = tuple(reversed(LUMA_BGR))


@dataclass(frozen=True)
class ChromaConfig:
    steps: int = 1500
    crops: int = 6
    crop: int = 96  # the scored part; the network sees crop + 2 * RADIUS
    lr: float = 1e-3
    seed: int = 0


def smooth_chroma_torch(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 3, H - 2R, W - 2R): chroma smoothed, luma kept (valid part)."""
    taps = torch.from_numpy(gaussian_taps())
    batch, channels, height, width = rgb.shape
    planes = rgb.reshape(batch * channels, 1, height, width)
    blurred = F.conv2d(F.conv2d(planes, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
    blurred = blurred.reshape(batch, channels, height - 2 * RADIUS, width - 2 * RADIUS)
    centre = rgb[:, :, RADIUS:-RADIUS, RADIUS:-RADIUS]
    luma = torch.tensor(LUMA_RGB, dtype=rgb.dtype).view(1, 3, 1, 1)
    return blurred + ((centre - blurred) * luma).sum(dim=1, keepdim=True)


def fit_through_chroma(
    net: FilterNet,
    features: np.ndarray,
    target: np.ndarray,
    shape: tuple[int, int],
    config: ChromaConfig,
    log: Callable[[str], object] = print,
) -> FilterNet:
    """Go on training `net` (in place; also returned) with the loss after the chroma step.
    `features` (H * W, 7) and `target` (H * W, 3) uint8 RGB are the pair in row-major order."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    height, width = shape
    grid = torch.from_numpy(features).reshape(height, width, features.shape[1])
    wanted = torch.from_numpy(target.reshape(height, width, 3).astype(np.float32) / 255.0)
    wanted = wanted.permute(2, 0, 1)
    side = min(config.crop + 2 * RADIUS, height, width)  # smaller photos: crops as large
    if side <= 2 * RADIUS:
        raise ValueError(f"a {width}x{height} photo is too small to train through the step")
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr)
    progress = Progress("through chroma", config.steps, log)
    for step in range(config.steps):
        for group in optimiser.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / config.steps))
        tops = torch.randint(0, height - side + 1, (config.crops,), generator=generator).tolist()
        lefts = torch.randint(0, width - side + 1, (config.crops,), generator=generator).tolist()
        corners = list(zip(tops, lefts, strict=True))
        inputs = torch.stack([grid[t : t + side, x : x + side] for t, x in corners])
        out = torch.clamp(net(inputs.reshape(-1, grid.shape[2])), 0, 1)
        out = out.reshape(config.crops, side, side, 3).permute(0, 3, 1, 2)
        scored = torch.stack(
            [
                wanted[:, t + RADIUS : t + side - RADIUS, x + RADIUS : x + side - RADIUS]
                for t, x in corners
            ]
        )
        progress.update(descend(optimiser, (smooth_chroma_torch(out) - scored).abs().mean()))
    return net

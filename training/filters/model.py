"""`FilterNet`: colour terms from a small MLP on (R, G, B, lightness, saturation), mixed by a tiny
smooth function of where the pixel is.

    out = clip(C0(colour) + sum_k v_k(x, y) * C_k(colour), 0, 1)      (per channel)

C0 = rgb + MLP(...)[0:3] (an identity prior: an untrained net is the untouched photo). Every term
is a plain function of either the colour or the position, never both, so each bakes into a
lookup table: C_k into 3-D colour tables, v_k into 2-D position tables. With `terms=1` this
covers what Instagram-style vignettes do: multiply, screen and overlay with a radial gradient
are all of the form a + b(x, y) * c(colour).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class FilterNet(nn.Module):
    def __init__(self, terms: int = 1, hidden: int = 48, position_hidden: int = 16) -> None:
        super().__init__()
        self.terms = terms
        self.colour = nn.Sequential(
            nn.Linear(5, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, 3 * (terms + 1)),
        )
        nn.init.zeros_(self.colour[-1].weight)
        nn.init.zeros_(self.colour[-1].bias)
        self.position = nn.Sequential(
            nn.Linear(3, position_hidden), nn.Tanh(), nn.Linear(position_hidden, 3 * terms)
        )

    def parts(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(colour terms (N, 3(K+1)) with C0 first, position terms (N, 3K))."""
        colour = features[:, :5] * 2 - 1  # centred inputs; folded into the first layer on export
        c = self.colour(colour)
        c0 = features[:, :3] + c[:, :3]
        xy = features[:, 5:7]
        r2 = (xy * xy).sum(dim=1, keepdim=True) * 0.5
        v = self.position(torch.cat([xy, r2], dim=1))
        return torch.cat([c0, c[:, 3:]], dim=1), v

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        colour_terms, v = self.parts(features)
        out = colour_terms[:, :3]
        for k in range(self.terms):
            out = out + v[:, 3 * k : 3 * k + 3] * colour_terms[:, 3 * k + 3 : 3 * k + 6]
        return out

    def weights(self) -> dict[str, np.ndarray]:
        """The parameters as numpy arrays, named for `export.build_onnx`."""
        layers = [m for m in self.colour if isinstance(m, nn.Linear)]
        position = [m for m in self.position if isinstance(m, nn.Linear)]
        out: dict[str, np.ndarray] = {}
        for prefix, group in (("colour", layers), ("position", position)):
            for index, layer in enumerate(group):
                out[f"{prefix}{index}.w"] = layer.weight.detach().numpy().T.copy()
                out[f"{prefix}{index}.b"] = layer.bias.detach().numpy().copy()
        return out


def clipped_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |clip(prediction) - target| but with a gradient beyond the clip: a prediction past 0
    or 1 where the target is saturated costs nothing, elsewhere the plain L1 pulls it back."""
    low = torch.where(target <= 0, torch.full_like(target, -1e9), target)
    high = torch.where(target >= 1, torch.full_like(target, 1e9), target)
    return (torch.relu(low - prediction) + torch.relu(prediction - high)).mean()


def load_weights(net: FilterNet, weights: dict[str, np.ndarray]) -> FilterNet:
    """The inverse of `FilterNet.weights` (for resuming from a checkpoint)."""
    for prefix, group in (("colour", net.colour), ("position", net.position)):
        layers = [m for m in group if isinstance(m, nn.Linear)]
        for index, layer in enumerate(layers):
            layer.weight.data = torch.from_numpy(
                np.ascontiguousarray(weights[f"{prefix}{index}.w"].T)
            )
            layer.bias.data = torch.from_numpy(np.ascontiguousarray(weights[f"{prefix}{index}.b"]))
    return net

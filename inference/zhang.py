"""What the two published Zhang et al. networks share: normalisation and VGG-style blocks.

Both PyTorch ports (richzhang/colorization, BSD-2-Clause) see L* as (L - 50) / 100 and predict
ab / 110. Their blocks are nn.Sequential runs of Conv2d + ReLU closed by a BatchNorm2d, so a
block's keys are `<block>.<i>` with the ReLUs taking the odd (or even) indices in between.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from inference.onnx_graph import Conv, GraphBuilder, Layer, Norm

L_CENT = 50.0
L_NORM = 100.0
AB_NORM = 110.0
WORKING_SIZE = 256
INPUT_NAME = "L"
OUTPUT_NAME = "ab"


def vgg_block(
    key: str, channels: Sequence[int], *, first: int = 0, stride_last: int = 1, dilation: int = 1
) -> list[Layer]:
    """Conv(3x3)+ReLU for each step in `channels`, then BatchNorm: keys `key.first`,
    `key.first+2`, ... (the ReLUs sit in between), the last conv strided by `stride_last`."""
    layers: list[Layer] = []
    index = first
    steps = list(itertools.pairwise(channels))
    for n, (c_in, c_out) in enumerate(steps):
        stride = stride_last if n == len(steps) - 1 else 1
        layers.append(Conv(f"{key}.{index}", c_in, c_out, 3, stride, dilation, dilation))
        index += 2
    layers.append(Norm(f"{key}.{index}", channels[-1]))
    return layers


def normalised_l(g: GraphBuilder) -> str:
    """(L - 50) / 100 of the graph input."""
    centred = g.node("Sub", [INPUT_NAME, g.scalar("l_cent", L_CENT)], "l_centred")
    return g.node("Div", [centred, g.scalar("l_norm", L_NORM)], "l_normalised")


def run_layers(g: GraphBuilder, x: str, layers: Sequence[Layer], *, relu_last: bool = True) -> str:
    """Each Conv followed by ReLU (not the last one when `relu_last` is false); Norm as is."""
    for n, layer in enumerate(layers):
        if isinstance(layer, Norm):
            x = g.norm(x, layer)
            continue
        x = g.conv(x, layer)
        if relu_last or n < len(layers) - 1:
            x = g.node("Relu", [x], f"{layer.key}.relu")
    return x


def unnormalised_ab(g: GraphBuilder, x: str) -> str:
    return g.node("Mul", [x, g.scalar("ab_norm", AB_NORM)], "ab_scaled")


def model_metadata(name: str, source_sha256: str | None) -> dict[str, str]:
    metadata = {
        "colorbot.input_size": str(WORKING_SIZE),
        "colorbot.model": name,
        "colorbot.licence": "BSD-2-Clause (richzhang/colorization)",
    }
    if source_sha256:
        metadata["colorbot.source_sha256"] = source_sha256
    return metadata

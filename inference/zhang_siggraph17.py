"""Zhang et al., Real-Time User-Guided Image Colorization (SIGGRAPH 2017), as ONNX.

The published network (PyTorch port, richzhang/colorization) takes L, user ab hints and a hint
mask, concatenated as 4 channels: [(L - 50) / 100, a / 110, b / 110, mask]. We serve it without
hints: they are all zero, and a zero input channel adds nothing to a convolution (zero padding
included), so the first conv keeps only its L column of weights; this is exact, not an
approximation. U-Net: subsampling by [::2, ::2] between blocks 1-4, transposed convs with skip
connections back to full resolution, a 1x1 conv + tanh, * 110. The classification head
(`model_class`) is not used for the colours and is left out of the graph.
Our contract: input "L" [N, 1, 256, 256] in 0..100, output "ab" [N, 2, 256, 256].
"""

from __future__ import annotations

import numpy as np
import onnx

from inference.onnx_graph import Conv, GraphBuilder, Layer, StateDict, check_state_dict
from inference.zhang import (
    INPUT_NAME,
    OUTPUT_NAME,
    WORKING_SIZE,
    model_metadata,
    normalised_l,
    run_layers,
    unnormalised_ab,
    vgg_block,
)

NAME = "siggraph17"
CLASSES = 529
HINT_CHANNELS = 4  # L, a, b, mask

ENCODER: tuple[list[Layer], ...] = (
    vgg_block("model1", [HINT_CHANNELS, 64, 64]),
    vgg_block("model2", [64, 128, 128]),
    vgg_block("model3", [128, 256, 256, 256]),
    vgg_block("model4", [256, 512, 512, 512]),
    vgg_block("model5", [512, 512, 512, 512], dilation=2),
    vgg_block("model6", [512, 512, 512, 512], dilation=2),
    vgg_block("model7", [512, 512, 512, 512]),
)
UP8 = Conv("model8up.0", 512, 256, kernel=4, stride=2, pad=1, transpose=True)
BLOCK8 = vgg_block("model8", [256, 256, 256], first=1)
UP9 = Conv("model9up.0", 256, 128, kernel=4, stride=2, pad=1, transpose=True)
BLOCK9 = vgg_block("model9", [128, 128], first=1)
UP10 = Conv("model10up.0", 128, 128, kernel=4, stride=2, pad=1, transpose=True)
CONV10 = Conv("model10.1", 128, 128)
SHORT8 = Conv("model3short8.0", 256, 256)
SHORT9 = Conv("model2short9.0", 128, 128)
SHORT10 = Conv("model1short10.0", 64, 128)
CLASSIFIER = Conv("model_class.0", 256, CLASSES, kernel=1, pad=0)  # in the checkpoint, unused
OUT = Conv("model_out.0", 128, 2, kernel=1, pad=0)
LAYERS: tuple[Layer, ...] = (
    *(layer for block in ENCODER for layer in block),
    UP8,
    *BLOCK8,
    UP9,
    *BLOCK9,
    UP10,
    CONV10,
    SHORT8,
    SHORT9,
    SHORT10,
    CLASSIFIER,
    OUT,
)
LEAKY_SLOPE = 0.2


def _subsample(g: GraphBuilder, x: str) -> str:
    """x[:, :, ::2, ::2]"""
    starts = g.constant("sub_starts", np.array([0, 0], np.int64))
    ends = g.constant("sub_ends", np.array([np.iinfo(np.int64).max] * 2, np.int64))
    axes = g.constant("sub_axes", np.array([2, 3], np.int64))
    steps = g.constant("sub_steps", np.array([2, 2], np.int64))
    return g.node("Slice", [x, starts, ends, axes, steps], "subsampled")


def _first_block(g: GraphBuilder, x: str) -> str:
    """model1 on [L, 0, 0, 0]: the first conv with only its L input column."""
    first, *rest = ENCODER[0]
    assert isinstance(first, Conv)
    only_l = g.state[f"{first.key}.weight"][:, :1]
    x = g.node("Relu", [g.conv(x, first, only_l)], f"{first.key}.relu")
    return run_layers(g, x, rest)


def _up(g: GraphBuilder, deep: str, up: Conv, skip: str, short: Conv, block: list[Layer]) -> str:
    """block(relu(up(deep) + short(skip))): the ReLU that opens each decoder block."""
    joined = g.node("Add", [g.conv(deep, up), g.conv(skip, short)], f"{up.key}.sum")
    x = g.node("Relu", [joined], f"{up.key}.relu")
    return run_layers(g, x, block)


def build_siggraph17(state: StateDict, source_sha256: str | None = None) -> onnx.ModelProto:
    """The ONNX model of the SIGGRAPH17 network (no hints) with the weights in `state`."""
    check_state_dict(state, LAYERS, "SIGGRAPH17")
    g = GraphBuilder(state, reserved=(INPUT_NAME, OUTPUT_NAME))
    conv1 = _first_block(g, normalised_l(g))
    conv2 = run_layers(g, _subsample(g, conv1), ENCODER[1])
    conv3 = run_layers(g, _subsample(g, conv2), ENCODER[2])
    x = run_layers(g, _subsample(g, conv3), ENCODER[3])
    for block in ENCODER[4:]:
        x = run_layers(g, x, block)
    conv8 = _up(g, x, UP8, conv3, SHORT8, BLOCK8)
    conv9 = _up(g, conv8, UP9, conv2, SHORT9, BLOCK9)
    conv10 = _up(g, conv9, UP10, conv1, SHORT10, [])
    conv10 = g.node("LeakyRelu", [g.conv(conv10, CONV10)], "model10.leaky", alpha=LEAKY_SLOPE)
    ab = g.node("Tanh", [g.conv(conv10, OUT)], "ab_tanh")
    size = WORKING_SIZE
    return g.model(
        INPUT_NAME,
        ["N", 1, size, size],
        unnormalised_ab(g, ab),
        OUTPUT_NAME,
        ["N", 2, size, size],
        model_metadata(NAME, source_sha256),
        "zhang_siggraph17",
    )

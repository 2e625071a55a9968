"""Zhang et al., Colorful Image Colorization (ECCV 2016), as ONNX from the published weights.

The network (PyTorch port, richzhang/colorization): eight blocks over (L - 50) / 100 at 256x256,
313 class logits at 64x64, softmax, a 1x1 conv without bias whose weights are the ab bin
centres / 110 (`model_out.weight`, as stored in the checkpoint), bilinear x4 upsampling, * 110.
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

NAME = "eccv16"
BINS = 313

BLOCKS: tuple[list[Layer], ...] = (
    vgg_block("model1", [1, 64, 64], stride_last=2),
    vgg_block("model2", [64, 128, 128], stride_last=2),
    vgg_block("model3", [128, 256, 256, 256], stride_last=2),
    vgg_block("model4", [256, 512, 512, 512]),
    vgg_block("model5", [512, 512, 512, 512], dilation=2),
    vgg_block("model6", [512, 512, 512, 512], dilation=2),
    vgg_block("model7", [512, 512, 512, 512]),
    [
        Conv("model8.0", 512, 256, kernel=4, stride=2, pad=1, transpose=True),
        Conv("model8.2", 256, 256),
        Conv("model8.4", 256, 256),
        Conv("model8.6", 256, BINS, kernel=1, pad=0),
    ],
)
DECODER = Conv("model_out", BINS, 2, kernel=1, pad=0, bias=False)
LAYERS: tuple[Layer, ...] = (*(layer for block in BLOCKS for layer in block), DECODER)


def build_eccv16(state: StateDict, source_sha256: str | None = None) -> onnx.ModelProto:
    """The ONNX model of the ECCV16 network with the weights in `state` (checked first)."""
    check_state_dict(state, LAYERS, "ECCV16")
    g = GraphBuilder(state, reserved=(INPUT_NAME, OUTPUT_NAME))
    x = normalised_l(g)
    for block in BLOCKS[:-1]:
        x = run_layers(g, x, block)
    logits = run_layers(g, x, BLOCKS[-1], relu_last=False)
    probabilities = g.node("Softmax", [logits], "probabilities", axis=1)
    ab = g.conv(probabilities, DECODER)
    scales = g.constant("upsample_scales", np.array([1, 1, 4, 4], np.float32))
    upsampled = g.node(
        "Resize",
        [ab, "", scales],
        "ab_upsampled",
        mode="linear",
        coordinate_transformation_mode="half_pixel",
    )
    size = WORKING_SIZE
    return g.model(
        INPUT_NAME,
        ["N", 1, size, size],
        unnormalised_ab(g, upsampled),
        OUTPUT_NAME,
        ["N", 2, size, size],
        model_metadata(NAME, source_sha256),
        "zhang_eccv16",
    )

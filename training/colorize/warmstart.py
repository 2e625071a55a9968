"""Start a run from an exported model: the weights of `colorize-embedded.onnx` read back into a
`ColorDecoder` (and, for a fine-tune of the encoder, into its `EncoderTop`), so a new run
fine-tunes the shipped model instead of starting over.

The export folded every batch norm into the convolution before it (weight and bias), so each
conv-BN pair is loaded as that convolution plus an identity batch norm (mean 0, variance
1 - eps, scale 1) carrying the folded bias; the norms' statistics must then stay frozen
(`TrainConfig.freeze_norm`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from training.colorize.network import ColorDecoder, EncoderTop

PREFIX = "/decoder/"
ENCODER_PREFIX = "/taps/"
# EfficientNet's convolutions and the batch norm that follows each (bias-free convolutions)
ENCODER_NORMS = {"_expand_conv": "_bn0", "_depthwise_conv": "_bn1", "_project_conv": "_bn2"}


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _sibling(path: str, offset: int) -> str:
    head, _, last = path.rpartition(".")
    return f"{head}.{int(last) + offset}"


@torch.no_grad()
def _load_folded(conv: nn.Module, norm: nn.Module, weight: np.ndarray, bias: np.ndarray) -> None:
    """A folded conv (weight, bias) as the conv's weight plus an identity batch norm."""
    if not isinstance(norm, nn.BatchNorm2d) or not isinstance(conv, nn.Conv2d):
        raise ValueError(f"{conv!r} / {norm!r}: not a conv-BN pair")
    conv.weight.copy_(torch.from_numpy(weight.copy()))
    norm.weight.fill_(1.0)
    norm.bias.copy_(torch.from_numpy(bias.copy()))
    norm.running_mean.zero_()  # type: ignore[union-attr]
    norm.running_var.fill_(1.0 - norm.eps)  # type: ignore[union-attr]


def load_encoder_top_from_onnx(top: EncoderTop, path: Path) -> int:
    """Copy the encoder's blocks from `top.first_block` on and its head, as an exported model
    has them, into `top` (so a fine-tune of a fine-tuned model starts where it ended);
    -> convolutions loaded."""
    model = onnx.load(str(path))
    values = _constants(model)
    loaded = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or not node.name.startswith(ENCODER_PREFIX):
            continue
        parts = node.name.removeprefix(ENCODER_PREFIX).split("/")
        if parts[0] == "_conv_head":
            conv, norm = top.conv_head, top.bn1
        elif parts[0].startswith("_blocks.") and int(parts[0][8:]) >= top.first_block:
            block = top.blocks[int(parts[0][8:]) - top.first_block]
            conv, norm = getattr(block, parts[1]), getattr(block, ENCODER_NORMS[parts[1]])
        else:
            continue  # the frozen bottom of the encoder: its ImageNet weights
        weight, bias = values[node.input[1]], values[node.input[2]]
        if tuple(conv.weight.shape) != weight.shape:
            raise ValueError(f"{node.name}: {weight.shape} != {tuple(conv.weight.shape)}")
        _load_folded(conv, norm, weight, bias)
        loaded += 1
    expected = 1 + sum(isinstance(m, nn.Conv2d) for block in top.blocks for m in block.modules())
    if loaded != expected:
        raise ValueError(f"loaded {loaded} encoder convolutions from {path}, expected {expected}")
    return loaded


@torch.no_grad()
def load_decoder_from_onnx(decoder: ColorDecoder, path: Path) -> int:
    """Copy the decoder weights of an exported model into `decoder`; -> tensors loaded."""
    model = onnx.load(str(path))
    values = _constants(model)
    loaded = 0
    for node in model.graph.node:
        if node.op_type == "Conv" and node.name.startswith(PREFIX):
            conv_path = node.name.removeprefix(PREFIX).rsplit("/", 2)[-2]
            conv = decoder.get_submodule(conv_path)
            norm = decoder.get_submodule(_sibling(conv_path, 1))
            _load_folded(conv, norm, values[node.input[1]], values[node.input[2]])
            loaded += 2
    for name, parameter in decoder.named_parameters():
        key = f"decoder.{name}"
        if key in values:
            parameter.copy_(torch.from_numpy(values[key].copy()))
            loaded += 1
    # every conv-BN pair (2), the context layer and the classifier (2 each)
    expected = 2 * sum(isinstance(m, nn.BatchNorm2d) for m in decoder.modules()) + 4
    if loaded != expected:
        raise ValueError(f"loaded {loaded} tensors from {path}, expected {expected}")
    return loaded

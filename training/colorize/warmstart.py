"""Start a decoder from an exported model: the weights of `colorize-embedded.onnx` read back
into a `ColorDecoder`, so a new run fine-tunes the shipped model instead of starting over.

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

from training.colorize.network import ColorDecoder

PREFIX = "/decoder/"


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
            if not isinstance(conv, nn.Conv2d) or not isinstance(norm, nn.BatchNorm2d):
                raise ValueError(f"{node.name}: not a conv-BN pair in the decoder")
            conv.weight.copy_(torch.from_numpy(values[node.input[1]].copy()))
            norm.weight.fill_(1.0)
            norm.bias.copy_(torch.from_numpy(values[node.input[2]].copy()))
            norm.running_mean.zero_()  # type: ignore[union-attr]
            norm.running_var.fill_(1.0 - norm.eps)  # type: ignore[union-attr]
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

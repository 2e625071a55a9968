"""Variants of an exported colouriser for measuring, without re-exporting from a checkpoint:
another decoding temperature, or dynamic H and W so the photo keeps its aspect ratio.

Both edit the ONNX graph: the annealed mean is `Softmax(Mul(logits, 1 / T))`, so a new T is a
new constant for that Mul; our network is fully convolutional (EfficientNet's "same" padding is
constant for sides that are multiples of 32), so dynamic H and W only rename the input's dims.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from inference.colorize import DEFAULT_INPUT_STRIDE, INPUT_STRIDE_KEY

TEMPERATURE_KEY = "colorbot.decode_temperature"


def _set_metadata(model: onnx.ModelProto, key: str, value: str) -> None:
    for entry in model.metadata_props:
        if entry.key == key:
            entry.value = value
            return
    entry = model.metadata_props.add()
    entry.key, entry.value = key, value


def set_temperature(model: onnx.ModelProto, temperature: float) -> None:
    """Decode at `temperature`: rewrite the 1 / T constant that scales the Softmax's input."""
    nodes = {output: node for node in model.graph.node for output in node.output}
    softmax = [node for node in model.graph.node if node.op_type == "Softmax"]
    if len(softmax) != 1 or nodes[softmax[0].input[0]].op_type != "Mul":
        raise ValueError("not an annealed-mean model: no single Softmax(Mul(logits, 1 / T))")
    scale = nodes[softmax[0].input[0]]
    value = numpy_helper.from_array(np.array(1.0 / temperature, np.float32))
    for name in scale.input:
        constant = nodes.get(name)
        if constant is not None and constant.op_type == "Constant":
            constant.attribute[0].t.CopyFrom(value)
            _set_metadata(model, TEMPERATURE_KEY, f"{temperature:g}")
            return
    for initializer in model.graph.initializer:
        if initializer.name in scale.input:
            inverse = np.array(1.0 / temperature, np.float32)
            initializer.CopyFrom(numpy_helper.from_array(inverse, initializer.name))
            _set_metadata(model, TEMPERATURE_KEY, f"{temperature:g}")
            return
    raise ValueError("the temperature's Mul has no constant input")


def make_dynamic(model: onnx.ModelProto) -> None:
    """Input L [N, 1, H, W] with H and W dynamic (multiples of the stride)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for index, name in ((2, "H"), (3, "W")):
        dims[index].ClearField("dim_value")
        dims[index].dim_param = name
    _set_metadata(model, INPUT_STRIDE_KEY, str(DEFAULT_INPUT_STRIDE))


def load_variant(path: Path, temperature: float | None, *, dynamic: bool) -> bytes:
    """The model at `path`, re-decoded at `temperature` (when given) and with dynamic H, W
    (when asked and it is one of ours), as serialized ONNX."""
    model = onnx.load(str(path))
    if temperature is not None:
        set_temperature(model, temperature)
    meta = {entry.key: entry.value for entry in model.metadata_props}
    if dynamic and meta.get("colorbot.model") == "colorize-embedded":
        make_dynamic(model)
    data: bytes = model.SerializeToString()
    return data

"""`GraphBuilder`: writes an ONNX graph, layer by layer, from a numpy state_dict.

The layer descriptions (`Conv`, `Norm`) name the state_dict keys they read and the shapes they
expect, so a checkpoint is checked against the network before anything is built. BatchNorm is
written in eval mode (running statistics, PyTorch's epsilon 1e-5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # onnxruntime CPU runs every op used here well at this opset
IR_VERSION = 8  # readable by every onnxruntime >= 1.18 (see pyproject)
BN_EPSILON = 1e-5

StateDict = dict[str, np.ndarray]


class ConversionError(ValueError):
    """The state_dict does not match the network; the message names the first difference."""


@dataclass(frozen=True)
class Conv:
    """nn.Conv2d / nn.ConvTranspose2d at `key` (square kernel, stride, padding, dilation)."""

    key: str
    c_in: int
    c_out: int
    kernel: int = 3
    stride: int = 1
    pad: int = 1
    dilation: int = 1
    transpose: bool = False
    bias: bool = True

    def shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.kernel
        weight = (self.c_in, self.c_out, k, k) if self.transpose else (self.c_out, self.c_in, k, k)
        shapes: dict[str, tuple[int, ...]] = {f"{self.key}.weight": weight}
        if self.bias:
            shapes[f"{self.key}.bias"] = (self.c_out,)
        return shapes


@dataclass(frozen=True)
class Norm:
    """nn.BatchNorm2d at `key`."""

    key: str
    channels: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        c = (self.channels,)
        names = ("weight", "bias", "running_mean", "running_var")
        return {f"{self.key}.{name}": c for name in names}


Layer = Conv | Norm
OPTIONAL_SUFFIX = ".num_batches_tracked"  # bookkeeping some PyTorch versions save


def expected_shapes(layers: Iterable[Layer]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in layers:
        shapes.update(layer.shapes())
    return shapes


def check_state_dict(state: StateDict, layers: Sequence[Layer], network: str) -> None:
    """Raise `ConversionError` unless `state` has exactly the keys and shapes of `layers`."""
    shapes = expected_shapes(layers)
    norms = {f"{layer.key}{OPTIONAL_SUFFIX}" for layer in layers if isinstance(layer, Norm)}
    for key, shape in shapes.items():
        if key not in state:
            raise ConversionError(f"not a {network} checkpoint: {key} is missing")
        if tuple(state[key].shape) != shape:
            raise ConversionError(
                f"not a {network} checkpoint: {key} has shape {tuple(state[key].shape)}, "
                f"expected {shape}"
            )
        if not np.issubdtype(state[key].dtype, np.floating):
            raise ConversionError(f"{key} holds {state[key].dtype}, expected floating point")
        if not np.all(np.isfinite(state[key])):
            raise ConversionError(f"{key} holds NaN or infinite values")
    unexpected = [key for key in state if key not in shapes and key not in norms]
    if unexpected:
        raise ConversionError(f"not a {network} checkpoint: unexpected key {unexpected[0]}")


class GraphBuilder:
    """Appends nodes and float32 initialisers; `model()` returns the checked ModelProto."""

    def __init__(self, state: StateDict, reserved: Iterable[str] = ()) -> None:
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set(reserved)

    def _fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            n += 1
            name = f"{hint}_{n}"
        self._names.add(name)
        return name

    def constant(self, hint: str, array: np.ndarray) -> str:
        name = self._fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, key: str, array: np.ndarray | None = None) -> str:
        value = self.state[key] if array is None else array
        return self.constant(key, np.ascontiguousarray(value, dtype=np.float32))

    def node(self, op: str, inputs: Sequence[str], hint: str = "", **attrs: Any) -> str:
        output = self._fresh(hint or op.lower())
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attrs))
        return output

    def conv(self, x: str, layer: Conv, weight: np.ndarray | None = None) -> str:
        inputs = [x, self.weight(f"{layer.key}.weight", weight)]
        if layer.bias:
            inputs.append(self.weight(f"{layer.key}.bias"))
        op = "ConvTranspose" if layer.transpose else "Conv"
        return self.node(
            op,
            inputs,
            layer.key,
            kernel_shape=[layer.kernel, layer.kernel],
            strides=[layer.stride, layer.stride],
            pads=[layer.pad] * 4,
            dilations=[layer.dilation, layer.dilation],
        )

    def norm(self, x: str, layer: Norm) -> str:
        names = ("weight", "bias", "running_mean", "running_var")
        inputs = [x, *(self.weight(f"{layer.key}.{name}") for name in names)]
        return self.node("BatchNormalization", inputs, layer.key, epsilon=BN_EPSILON)

    def scalar(self, hint: str, value: float) -> str:
        return self.constant(hint, np.array(value, dtype=np.float32))

    def model(
        self,
        input_name: str,
        input_shape: Sequence[int | str],
        output: str,
        output_name: str,
        output_shape: Sequence[int | str],
        metadata: dict[str, str],
        graph_name: str,
    ) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], [output_name], name=output_name))
        graph = helper.make_graph(
            self.nodes,
            graph_name,
            [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
            [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(output_shape))],
            self.initializers,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="colorbot"
        )
        model.ir_version = IR_VERSION
        helper.set_model_props(model, metadata)
        onnx.checker.check_model(model)
        return model

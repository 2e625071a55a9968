"""Tiny ONNX models built inside tests, so the pipeline is checked against known answers."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(graph: onnx.GraphProto, metadata: dict[str, str] | None = None) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model.SerializeToString()


def oracle_colorizer(
    expected_input: np.ndarray, ab: np.ndarray, *, size: int, dynamic: bool = False
) -> bytes:
    """A colouriser that returns the known `ab` [2, h, w] of a known photo, and punishes any
    deviation of its input from `expected_input` [1, size, size] (the L* it should be fed):
    ab_out = ab + 1000 * relu(mean|L - expected| - 0.5). With `dynamic`, its input's H and W
    are dynamic (stride 16), and `expected_input` has the shape the pipeline must feed."""
    dims: list[int | str] = ["N", 1, "H", "W"] if dynamic else ["N", 1, size, size]
    inputs = [helper.make_tensor_value_info("L", TensorProto.FLOAT, dims)]
    outputs = [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, *ab.shape[1:]])]
    initialisers = [
        numpy_helper.from_array(expected_input[np.newaxis].astype(np.float32), "expected"),
        numpy_helper.from_array(ab[np.newaxis].astype(np.float32), "true_ab"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "tolerance"),
        numpy_helper.from_array(np.array(1000.0, dtype=np.float32), "penalty"),
    ]
    nodes = [
        helper.make_node("Sub", ["L", "expected"], ["diff"]),
        helper.make_node("Abs", ["diff"], ["absdiff"]),
        helper.make_node("ReduceMean", ["absdiff"], ["err"], keepdims=1, axes=[1, 2, 3]),
        helper.make_node("Sub", ["err", "tolerance"], ["excess"]),
        helper.make_node("Relu", ["excess"], ["over"]),
        helper.make_node("Mul", ["over", "penalty"], ["punish"]),
        helper.make_node("Add", ["true_ab", "punish"], ["ab"]),
    ]
    graph = helper.make_graph(nodes, "oracle", inputs, outputs, initialisers)
    metadata = {"colorbot.input_size": str(size)}
    if dynamic:
        metadata["colorbot.input_stride"] = "16"
    return _model(graph, metadata)


def scale_model(size: int, factor: float = 2.0, batch: int | str = "N") -> bytes:
    """y = factor * x on [batch, 1, size, size]: a model whose answer per item is known."""
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, size, size])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1, size, size])]
    factor_init = numpy_helper.from_array(np.array(factor, dtype=np.float32), "factor")
    nodes = [helper.make_node("Mul", ["x", "factor"], ["y"])]
    graph = helper.make_graph(nodes, "scale", inputs, outputs, [factor_init])
    return _model(graph)

"""Write a trained filter as a small ONNX graph, built directly from its numpy weights.

Input `features` (N, 7) float32, see `inference.filter_features`. Outputs:

- `rgb` (N, 3): the filtered pixel in [0, 1], clipped: what the filter does;
- `colour_terms` (N, 3 (K + 1)): C0, C1, ... (position-free, for baking the colour tables);
- `position_terms` (N, 3 K): v1, ... (colour-free, for baking the position table); only when
  the filter uses the position (K > 0).

Metadata: `filter_name`, `position_terms` (K), `feature_names`, `train_mae` (the training-pair
error as served, i.e. after `inference.chroma.smooth_chroma`, which serving applies to `rgb`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inference.filter_features import FEATURE_NAMES

OPSET = 17


def build_onnx(
    weights: Mapping[str, np.ndarray], *, terms: int, name: str, train_mae: float
) -> onnx.ModelProto:
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(key: str, value: np.ndarray | list[int] | list[float]) -> str:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        inits.append(numpy_helper.from_array(array, key))
        return key

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def mlp(prefix: str, x: str, w0: np.ndarray, b0: np.ndarray) -> str:
        count = sum(1 for k in weights if k.startswith(prefix) and k.endswith(".w"))
        for index in range(count):
            w = w0 if index == 0 else weights[f"{prefix}{index}.w"]
            b = b0 if index == 0 else weights[f"{prefix}{index}.b"]
            x = node("MatMul", [x, const(f"{prefix}{index}.W", w)], f"{prefix}{index}.mm")
            x = node("Add", [x, const(f"{prefix}{index}.B", b)], f"{prefix}{index}.lin")
            if index < count - 1:
                x = node("Tanh", [x], f"{prefix}{index}.act")
        return x

    def columns(x: str, start: int, stop: int, out: str) -> str:
        return node(
            "Slice",
            [x, const(f"{out}.s", [start]), const(f"{out}.e", [stop]), const(f"{out}.a", [1])],
            out,
        )

    colour_in = columns("features", 0, 5, "colour_features")
    rgb_in = columns("features", 0, 3, "rgb_in")
    # The training graph centres the colour features (2 f - 1); fold that into layer 0.
    w0, b0 = weights["colour0.w"], weights["colour0.b"]
    c = mlp("colour", colour_in, 2 * w0, b0 - w0.sum(axis=0))
    c_first = columns(c, 0, 3, "c_first")
    c0 = node("Add", [rgb_in, c_first], "c0")
    outputs = [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, ["N", 3])]
    mixed = c0
    if terms:
        c_rest = columns(c, 3, 3 * (terms + 1), "c_rest")
        node("Concat", [c0, c_rest], "colour_terms", axis=1)
        xy = columns("features", 5, 7, "xy")
        squares = node("Mul", [xy, xy], "xy_sq")
        r2 = node("MatMul", [squares, const("half", [[0.5], [0.5]])], "r2")
        position_in = node("Concat", [xy, r2], "position_features", axis=1)
        pw0, pb0 = weights["position0.w"], weights["position0.b"]
        v = mlp("position", position_in, pw0, pb0)
        node("Identity", [v], "position_terms")
        for k in range(terms):
            vk = columns(v, 3 * k, 3 * k + 3, f"v{k + 1}")
            ck = columns("colour_terms", 3 * k + 3, 3 * k + 6, f"c{k + 1}")
            term = node("Mul", [vk, ck], f"term{k + 1}")
            mixed = node("Add", [mixed, term], f"mixed{k + 1}")
        width = 3 * (terms + 1)
        outputs.append(
            helper.make_tensor_value_info("colour_terms", TensorProto.FLOAT, ["N", width])
        )
        outputs.append(
            helper.make_tensor_value_info("position_terms", TensorProto.FLOAT, ["N", 3 * terms])
        )
    else:
        node("Identity", [c0], "colour_terms")
        outputs.append(helper.make_tensor_value_info("colour_terms", TensorProto.FLOAT, ["N", 3]))
    node("Clip", [mixed, const("zero", 0.0), const("one", 1.0)], "rgb")
    graph = helper.make_graph(
        nodes,
        f"filter_{name}",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(FEATURE_NAMES)])],
        outputs,
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="colorbot"
    )
    model.ir_version = 8
    metadata = {
        "filter_name": name,
        "position_terms": str(terms),
        "feature_names": ",".join(FEATURE_NAMES),
        "train_mae": f"{train_mae:.3f}",
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model

"""Scoring pieces shared by the evaluation, the sweep, the gallery and the tests (no torch):
constant-ab baseline models with the served contract, colourisers through the served pipeline,
and per-photo scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from inference.colorize import Colorizer, bgr_from_lab, lab_from_bgr
from inference.sessions import ModelSession
from training.colorize.bins import AbBins
from training.colorize.metrics import AucCurve, colourfulness, psnr


def constant_model(ab: tuple[float, float], size: int) -> bytes:
    """A colouriser with the model contract that answers the same ab everywhere."""
    lightness = helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, size, size])
    out = helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, 1, 1])
    value = helper.make_tensor("value", TensorProto.FLOAT, [1, 2, 1, 1], list(ab))
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    nodes = [
        helper.make_node("ReduceMean", ["L"], ["m"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["z", "value"], ["ab"]),
    ]
    graph = helper.make_graph(nodes, "constant_ab", [lightness], [out], [value, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "colorbot.input_size", str(size)
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def load_colorizer(name: str, model: Path | bytes, threads: int) -> Colorizer:
    session = ModelSession(name, model, threads=threads, warmup_shape=Colorizer.warmup_shape)
    return Colorizer(session)


def print_report(text: str, path: Path | None) -> None:
    """Print a markdown report and, when a path is given, write it there too."""
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def grey_of(bgr: np.ndarray) -> np.ndarray:
    """The photo as a grey 8-bit BGR image: its L* with a* = b* = 0 (like testdata/*_grey)."""
    lab = lab_from_bgr(bgr)
    lab[..., 1:] = 0
    return bgr_from_lab(lab)


@dataclass
class Scores:
    curve: AucCurve = field(default_factory=AucCurve)
    colourfulness: list[float] = field(default_factory=list)
    original_colourfulness: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)

    def add(self, result: np.ndarray, original: np.ndarray, bins: AbBins) -> None:
        true_ab = lab_from_bgr(original)[..., 1:]
        self.curve.add(lab_from_bgr(result)[..., 1:], true_ab, bins.nearest(true_ab))
        self.colourfulness.append(colourfulness(result[..., ::-1]))
        self.original_colourfulness.append(colourfulness(original[..., ::-1]))
        self.psnr.append(psnr(result, original))

    def row(self, name: str) -> str:
        share = 100 * np.mean(self.colourfulness) / np.mean(self.original_colourfulness)
        return (
            f"| {name} | {self.curve.plain():.1f} | {self.curve.rebalanced():.1f} "
            f"| {share:.0f} % | {np.mean(self.psnr):.2f} |"
        )


TABLE_HEAD = (
    "| colouriser | AuC plain | AuC rebalanced | colourfulness (% of originals') | PSNR dB |\n"
    "|---|---:|---:|---:|---:|"
)

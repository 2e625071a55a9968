"""Checks that an ONNX file honours the colourisation model contract (see `inference.colorize`):
one input "L" float32 [N, 1, S, S] (S from metadata `colorbot.input_size`, default 256), one
output "ab" float32 [N, 2, h, w], and a test run on an L* ramp gives finite, plausible ab."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from inference.colorize import DEFAULT_WORKING_SIZE, WORKING_SIZE_KEY
from inference.providers import CPU, session_options

AB_LIMIT = 200.0  # CIE a*b* of real colours stay within about +-128
ORT_ERRORS: tuple[type[BaseException], ...] = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.InvalidProtobuf,
    ort_state.NoSuchFile,
    ort_state.NotImplemented,
    ort_state.RuntimeException,
    RuntimeError,
)


@dataclass(frozen=True)
class ContractReport:
    problems: tuple[str, ...]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems


def _dims(shape: list[int | str | None]) -> str:
    return (
        "[" + ",".join(str(d) if isinstance(d, int | str) and d != "" else "N" for d in shape) + "]"
    )


def check_colorize_contract(model: Path | bytes, threads: int = 0) -> ContractReport:
    """Load `model` in onnxruntime (CPU) and check the contract; problems are one line each."""
    source = str(model) if isinstance(model, Path) else model
    try:
        session = ort.InferenceSession(source, session_options(threads), providers=[CPU])
    except ORT_ERRORS as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ContractReport((f"onnxruntime cannot load it: {first_line[:200]}",), "")
    inputs, outputs = session.get_inputs(), session.get_outputs()
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    try:
        size = int(metadata.get(WORKING_SIZE_KEY, DEFAULT_WORKING_SIZE))
    except ValueError:
        return ContractReport((f"metadata {WORKING_SIZE_KEY} is not an integer",), "")
    problems: list[str] = []
    if [i.name for i in inputs] != ["L"]:
        problems.append(f"inputs are {[i.name for i in inputs]}, expected ['L']")
    elif inputs[0].type != "tensor(float)" or len(inputs[0].shape) != 4:
        problems.append(f"input L is {inputs[0].type} {inputs[0].shape}, expected float32 rank 4")
    elif [d if isinstance(d, int) else size for d in inputs[0].shape[1:]] != [1, size, size]:
        problems.append(f"input L is {_dims(inputs[0].shape)}, expected [N,1,{size},{size}]")
    if not outputs or outputs[0].name != "ab":
        problems.append(f"outputs are {[o.name for o in outputs]}, expected 'ab' first")
    elif outputs[0].type != "tensor(float)":
        problems.append(f"output ab is {outputs[0].type}, expected float32")
    if problems:
        return ContractReport(tuple(problems), "")
    ramp = np.linspace(0.0, 100.0, size * size, dtype=np.float32).reshape(1, 1, size, size)
    try:
        ab = session.run(["ab"], {"L": ramp})[0]
    except ORT_ERRORS as exc:
        return ContractReport((f"a test run failed: {str(exc).strip()[:200]}",), "")
    if ab.ndim != 4 or ab.shape[:2] != (1, 2):
        problems.append(f"output ab has shape {list(ab.shape)} for one item, expected [1,2,h,w]")
    elif not np.all(np.isfinite(ab)):
        problems.append("output ab has NaN or infinite values on a test input")
    elif float(np.abs(ab).max()) > AB_LIMIT:
        problems.append(f"output ab reaches {float(np.abs(ab).max()):.0f}, beyond any colour")
    summary = f"L {_dims(inputs[0].shape)} -> ab [N,2,{ab.shape[2]},{ab.shape[3]}]"
    return ContractReport(tuple(problems), summary if ab.ndim == 4 else "")

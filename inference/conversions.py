"""Published checkpoint -> ONNX model bytes, by model name. Needs neither PyTorch nor a network
(PyTorch only as the fallback `inference.checkpoints.load_state_dict` describes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx

from inference.checkpoints import StateDict, load_state_dict
from inference.zhang_eccv16 import build_eccv16
from inference.zhang_siggraph17 import build_siggraph17

Builder = Callable[[StateDict, str | None], onnx.ModelProto]
BUILDERS: dict[str, Builder] = {"eccv16": build_eccv16, "siggraph17": build_siggraph17}


def convert_state_dict(name: str, state: StateDict, source_sha256: str | None = None) -> bytes:
    """The serialized ONNX model of network `name` with the weights in `state`."""
    try:
        build = BUILDERS[name]
    except KeyError:
        raise ValueError(f"no converter for {name!r} (known: {', '.join(BUILDERS)})") from None
    model: bytes = build(state, source_sha256).SerializeToString()
    return model


def convert_checkpoint(name: str, checkpoint: Path, source_sha256: str | None = None) -> bytes:
    """Read a (hash-verified) PyTorch checkpoint and convert it; see `convert_state_dict`."""
    return convert_state_dict(name, load_state_dict(checkpoint), source_sha256)

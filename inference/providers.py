"""The one place that chooses onnxruntime execution providers and session options."""

from __future__ import annotations

import logging

import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def choose_providers(available: list[str] | None = None) -> list[str]:
    """CUDA first when onnxruntime-gpu is installed and sees a GPU, the CPU always as fallback."""
    names = ort.get_available_providers() if available is None else available
    if CUDA in names:
        return [CUDA, CPU]
    return [CPU]


def session_options(threads: int) -> ort.SessionOptions:
    """Options for every session: `threads` intra-op threads (0 lets onnxruntime use all
    cores), one inter-op thread (we never run branches in parallel), full graph optimisation."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options

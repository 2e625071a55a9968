"""ModelSession: shared onnxruntime session with micro-batching."""

from __future__ import annotations

import asyncio

import numpy as np

from inference.providers import CPU, CUDA, choose_providers
from inference.sessions import BatchPolicy, ModelSession
from tests.onnx_builders import scale_model


class BatchLog:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, name: str, size: int, seconds: float) -> None:
        self.sizes.append(size)


def make_session(policy: BatchPolicy, log: BatchLog, size: int = 4) -> ModelSession:
    return ModelSession(
        "scale",
        scale_model(size),
        threads=1,
        policy=policy,
        warmup_shape=(1, size, size),
        observer=log,
    )


async def test_concurrent_calls_share_one_batch_and_get_their_own_answers() -> None:
    log = BatchLog()
    session = make_session(BatchPolicy(max_batch=8, max_wait_ms=50), log)
    log.sizes.clear()  # forget the warm-up run
    items = [np.full((1, 4, 4), float(i), dtype=np.float32) for i in range(8)]
    results = await asyncio.gather(*(session.run(item) for item in items))
    assert log.sizes == [8]
    for i, result in enumerate(results):
        assert result.shape == (1, 4, 4)
        assert np.all(result == 2.0 * i)


async def test_batches_are_capped_at_max_batch() -> None:
    log = BatchLog()
    session = make_session(BatchPolicy(max_batch=3, max_wait_ms=50), log)
    log.sizes.clear()
    items = [np.full((1, 4, 4), float(i), dtype=np.float32) for i in range(7)]
    results = await asyncio.gather(*(session.run(item) for item in items))
    assert sorted(log.sizes) == [1, 3, 3]
    assert [float(r[0, 0, 0]) for r in results] == [2.0 * i for i in range(7)]


async def test_different_shapes_run_in_different_batches() -> None:
    log = BatchLog()
    session = ModelSession(
        "scale-dyn",
        scale_model_dynamic(),
        threads=1,
        warmup_shape=(1, 4, 4),
        observer=log,
        policy=BatchPolicy(max_batch=8, max_wait_ms=30),
    )
    log.sizes.clear()
    small = [np.ones((1, 4, 4), dtype=np.float32) for _ in range(2)]
    large = [np.ones((1, 6, 6), dtype=np.float32) for _ in range(3)]
    results = await asyncio.gather(*(session.run(item) for item in small + large))
    assert sorted(log.sizes) == [2, 3]
    assert [r.shape for r in results] == [(1, 4, 4)] * 2 + [(1, 6, 6)] * 3


async def test_a_lone_request_is_not_held_back_waiting_for_company() -> None:
    log = BatchLog()
    session = make_session(BatchPolicy(max_batch=8, max_wait_ms=5), log)
    log.sizes.clear()
    result = await asyncio.wait_for(session.run(np.ones((1, 4, 4), np.float32)), timeout=5)
    assert log.sizes == [1]
    assert np.all(result == 2.0)


async def test_a_failing_run_fails_every_caller_in_the_batch() -> None:
    session = make_session(BatchPolicy(max_batch=4, max_wait_ms=20), BatchLog())
    wrong = [np.ones((1, 5, 5), dtype=np.float32) for _ in range(2)]  # the model wants 4x4
    outcomes = await asyncio.gather(*(session.run(item) for item in wrong), return_exceptions=True)
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
    # and the session still works afterwards
    assert np.all(await session.run(np.ones((1, 4, 4), np.float32)) == 2.0)


def test_provider_choice_prefers_cuda_and_always_keeps_the_cpu() -> None:
    assert choose_providers([CPU]) == [CPU]
    assert choose_providers([CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers()[-1] == CPU


async def test_a_model_with_a_fixed_batch_of_one_is_not_batched() -> None:
    log = BatchLog()
    session = ModelSession(
        "fixed",
        scale_model(4, batch=1),
        threads=1,
        observer=log,
        policy=BatchPolicy(max_batch=8, max_wait_ms=20),
    )
    assert not session.batchable
    log.sizes.clear()
    items = [np.full((1, 4, 4), float(i), dtype=np.float32) for i in range(3)]
    results = await asyncio.gather(*(session.run(item) for item in items))
    assert log.sizes == [1, 1, 1]
    assert [float(r[0, 0, 0]) for r in results] == [0.0, 2.0, 4.0]


def scale_model_dynamic() -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    from tests.onnx_builders import _model

    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, "H", "W"])]
    factor = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "factor")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])], "scale", inputs, outputs, [factor]
    )
    return _model(graph)

"""`ModelSession`: one onnxruntime `InferenceSession` per model, shared by every caller.

Blocking runs happen on the session's own single thread, never on the event loop. Concurrent
`await session.run(x)` calls for the same input shape that arrive within `max_wait_ms` are
stacked into one batch of up to `max_batch` items (micro-batching); while a batch is running,
the next one keeps filling, so a busy model naturally runs fuller batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inference.providers import choose_providers, session_options

log = logging.getLogger(__name__)

BatchObserver = Callable[[str, int, float], None]
"""Called after each model run with (model name, batch size, seconds)."""

WarmupShape = tuple[int, ...] | Callable[[dict[str, str]], tuple[int, ...]]
"""One item's shape for the warm-up run, or a function of the model's metadata giving it."""


@dataclass(frozen=True)
class BatchPolicy:
    max_batch: int = 8
    max_wait_ms: float = 10.0


@dataclass
class _Batch:
    key: tuple[object, ...]
    items: list[np.ndarray] = field(default_factory=list)
    futures: list[asyncio.Future[np.ndarray]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class ModelSession:
    """An onnxruntime session with one input and (at least) one output; `run` returns the first
    output. The input's first dimension is the batch dimension."""

    def __init__(
        self,
        name: str,
        model: Path | bytes,
        *,
        threads: int = 0,
        policy: BatchPolicy | None = None,
        providers: list[str] | None = None,
        warmup_shape: WarmupShape | None = None,
        observer: BatchObserver | None = None,
        thread_initializer: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy or BatchPolicy()
        source = str(model) if isinstance(model, Path) else model
        self._session = ort.InferenceSession(
            source, sess_options=session_options(threads), providers=providers or choose_providers()
        )
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"model {name!r} has {len(inputs)} inputs; ModelSession needs one")
        self.input_name: str = inputs[0].name
        self.input_shape: list[int | str | None] = list(inputs[0].shape)
        self.output_name: str = self._session.get_outputs()[0].name
        self.metadata: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        self.batchable = not isinstance(self.input_shape[0], int)
        self._observer = observer
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"ort-{name}", initializer=thread_initializer
        )
        self._filling: dict[tuple[object, ...], _Batch] = {}
        self._ready: deque[_Batch] = deque()
        self._running = False
        self.warmup_seconds = self._warm_up(warmup_shape)

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def _warm_up(self, warmup_shape: WarmupShape | None) -> float:
        shape = warmup_shape(self.metadata) if callable(warmup_shape) else warmup_shape
        if shape is None:
            if not all(isinstance(d, int) for d in self.input_shape[1:]):
                raise ValueError(f"model {self.name!r} has dynamic dimensions: give warmup_shape")
            shape = tuple(int(d) for d in self.input_shape[1:])  # type: ignore[arg-type]
        started = time.perf_counter()
        self.run_batch(np.zeros((1, *shape), dtype=np.float32))
        seconds = time.perf_counter() - started
        log.info(
            "model %s loaded on %s, warm-up %.0f ms", self.name, self.providers[0], seconds * 1e3
        )
        return seconds

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch now, blocking the calling thread (use from threads or the CLI)."""
        started = time.perf_counter()
        outputs = self._session.run([self.output_name], {self.input_name: batch})
        if self._observer is not None:
            self._observer(self.name, int(batch.shape[0]), time.perf_counter() - started)
        result: np.ndarray = outputs[0]
        return result

    async def run(self, item: np.ndarray) -> np.ndarray:
        """Run one item (the input without its batch dimension) off the event loop, batched
        with concurrent calls of the same shape."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        key: tuple[object, ...] = (item.shape, item.dtype.str)
        batch = self._filling.get(key)
        if batch is None:
            batch = _Batch(key)
            self._filling[key] = batch
            wait_s = self.policy.max_wait_ms / 1000.0
            batch.timer = loop.call_later(wait_s, self._close_batch, batch)
        batch.items.append(item)
        batch.futures.append(future)
        limit = self.policy.max_batch if self.batchable else 1
        if len(batch.items) >= limit:
            self._close_batch(batch)
        return await future

    def _close_batch(self, batch: _Batch) -> None:
        if self._filling.get(batch.key) is batch:
            del self._filling[batch.key]
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        self._ready.append(batch)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._running or not self._ready:
            return
        batch = self._ready.popleft()
        self._running = True
        loop = asyncio.get_running_loop()
        stacked = np.stack(batch.items)
        done = loop.run_in_executor(self._executor, self.run_batch, stacked)
        done.add_done_callback(lambda finished: self._finish(batch, finished))

    def _finish(self, batch: _Batch, finished: asyncio.Future[np.ndarray]) -> None:
        self._running = False
        error = finished.exception()
        for index, future in enumerate(batch.futures):
            if future.done():  # the caller was cancelled
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(finished.result()[index])
        self._dispatch()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

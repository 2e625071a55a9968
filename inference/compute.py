"""`ComputePool`: the threads that do the CPU-heavy photo work (decode, colourise, filter,
encode), running at a lower CPU priority than the event loop.

On a small machine the workers' photo work would otherwise take the cores from the event loop,
and every webhook and upload would wait behind it; at a lower priority it uses what the loop
leaves. Threads created from these threads (onnxruntime's and OpenCV's pools, when sessions
are made here) inherit the priority.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
# The lowest priority there is. Measured with benchmarks.bench_submit (2 cores, workers
# saturated): submit p99 70-77 ms at nice 0, 43-73 ms at 10, 40-43 ms at 19, with the workers
# finishing as many jobs (they get the cores whenever the loop is idle).
NICENESS = 19


def lower_thread_priority(niceness: int = NICENESS) -> None:
    """Raise this thread's nice value by `niceness` (Linux schedules threads one by one)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (OSError, AttributeError) as exc:  # not Linux, or not permitted: run at normal priority
        log.debug("could not lower the compute thread's priority: %s", exc)


def idle_thread_priority() -> None:
    """Let this thread run only on CPU time nothing else wants (Linux SCHED_IDLE), below even
    the photo work's niceness: a long clip's decoding, optical flow and encoding (and the
    threads its codecs start from here, which inherit it) give way to photos. Elsewhere, or
    when not permitted: the compute pool's usual low priority."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: this thread, on Linux
    except (OSError, AttributeError) as exc:
        log.debug("could not make the thread SCHED_IDLE (%s); lowering its priority", exc)
        lower_thread_priority()


class ComputePool:
    def __init__(
        self,
        threads: int = 0,
        *,
        initializer: Callable[[], None] = lower_thread_priority,
        name: str = "compute",
    ) -> None:
        self.threads = threads or os.cpu_count() or 2
        self._executor = ThreadPoolExecutor(
            max_workers=self.threads,
            thread_name_prefix=name,
            initializer=initializer,
        )

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run on a pool thread and wait (for start-up code that is not async)."""
        return self._executor.submit(function, *args, **kwargs).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

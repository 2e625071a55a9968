"""The compute pool's threads run below the event loop's priority, so photo work cannot starve
webhooks and uploads (benchmarks/bench_submit measures the effect)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from inference.compute import NICENESS, ComputePool, idle_thread_priority
from tests.conftest import MakeApp


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
async def test_pool_threads_run_at_the_lowest_priority() -> None:
    pool = ComputePool(threads=2)
    try:
        loop_niceness = _own_niceness()
        pool_niceness = await pool.run(_own_niceness)
        assert pool_niceness == min(19, loop_niceness + NICENESS)
        assert pool_niceness > loop_niceness
        assert _own_niceness() == loop_niceness  # the caller's own priority is untouched
    finally:
        pool.close()


def _own_policy() -> int:
    return os.sched_getscheduler(0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's")
async def test_clip_threads_run_only_on_idle_cpu_time_and_photo_threads_do_not(
    make_app: MakeApp,
) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    services = app.services
    assert await services.video.compute.run(_own_policy) == os.SCHED_IDLE
    assert await services.pipeline.compute.run(_own_policy) == os.SCHED_OTHER
    assert _own_policy() == os.SCHED_OTHER  # the event loop's thread is untouched
    pool = ComputePool(threads=1, initializer=idle_thread_priority)
    try:
        assert await pool.run(_own_policy) == os.SCHED_IDLE
    finally:
        pool.close()

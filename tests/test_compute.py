"""The compute pool's threads run below the event loop's priority, so photo work cannot starve
webhooks and uploads (benchmarks/bench_submit measures the effect)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from inference.compute import NICENESS, ComputePool


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

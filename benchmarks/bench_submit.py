"""Submission latency under load: 200 API submissions a second for 10 s while the workers are
saturated, against a real `colorbot serve` on loopback (SQLite, temporary data dir).

Prints p50/p99 of `POST /api/v1/jobs`, the error count (only the documented 503 busy answer is
allowed), the server's memory before/after, and, as the in-run baseline, the same statistics for
`GET /healthz` sent at the same rate just before. Bounded: it stops by itself.

    python -m benchmarks.bench_submit [--rate 200] [--seconds 10] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from tests.conftest import create_postgres_database
from tests.postgres import postgres_cluster
from tests.service_process import photo_bytes, service_env, start, wait_ready


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def open_loop(
    rate: float, seconds: float, send: Callable[[], Awaitable[int]]
) -> tuple[list[float], Counter[int]]:
    """Fire requests on a fixed schedule (not waiting for answers), like real traffic."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def one() -> None:
        started = time.perf_counter()
        status = await send()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1

    tasks = []
    begin = time.perf_counter()
    for index in range(int(rate * seconds)):
        delay = begin + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, statuses


def report(name: str, latencies: list[float], statuses: Counter[int]) -> float:
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(
        f"{name:<22} n={len(latencies):5d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    return p99


async def run(rate: float, seconds: float, database: str) -> None:
    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = f"sqlite+aiosqlite:///{data}/colorbot.db"
        if database == "postgresql":
            url = await create_postgres_database(stack.enter_context(postgres_cluster()))
        print(f"database: {database}; {rate:.0f} submissions/s for {seconds:.0f} s")
        env = service_env(
            data,
            url,
            AUTO_MIGRATE="true",
            USER_JOBS_PER_HOUR="1000000",
            MAX_QUEUE="1000",
            WORKER_CONCURRENCY="2",
            LOG_LEVEL="WARNING",
        )
        server = start("serve", env, data / "serve.log")
        try:
            wait_ready(env, server)
            base = f"http://127.0.0.1:{env['PORT']}"
            photos = [photo_bytes(seed, (1200, 850)) for seed in range(8)]
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:

                async def health() -> int:
                    async with client.get(f"{base}/healthz") as response:
                        await response.read()
                        return response.status

                counter = iter(range(10**9))

                async def submit() -> int:
                    form = aiohttp.FormData()
                    form.add_field(
                        "image",
                        photos[next(counter) % len(photos)],
                        filename="photo.jpg",
                        content_type="image/jpeg",
                    )
                    form.add_field("operation", "filter")
                    form.add_field("filter", "Lo-fi")
                    async with client.post(f"{base}/api/v1/jobs", data=form) as response:
                        await response.read()
                        return response.status

                async def jobs_finished() -> float:
                    async with client.get(f"{base}/metrics") as response:
                        text = await response.text()
                    return sum(
                        float(line.rsplit(" ", 1)[1])
                        for line in text.splitlines()
                        if line.startswith("colorbot_jobs_total{")
                    )

                memory_before = rss_mb(server.pid)
                base_p99 = report("GET /healthz (base)", *await open_loop(rate, seconds, health))
                finished_before = await jobs_finished()
                latencies, statuses = await open_loop(rate, seconds, submit)
                submit_p99 = report("POST /api/v1/jobs", latencies, statuses)
                memory_after = rss_mb(server.pid)
                finished = await jobs_finished() - finished_before
            errors = sum(n for status, n in statuses.items() if status not in (202, 503))
            print(f"errors (anything but 202 or the documented 503 busy answer): {errors}")
            print(f"busy answers (503): {statuses.get(503, 0)}")
            print(f"server memory: {memory_before:.0f} MB before, {memory_after:.0f} MB after")
            print(f"jobs the workers finished meanwhile: {finished:.0f}")
            print(
                f"p99 ratio submit / healthz baseline: {submit_p99 / base_p99:.2f}x "
                f"(target: submit p99 <= 50 ms; measured {submit_p99:.1f} ms)"
            )
        finally:
            server.terminate()
            server.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.database))


if __name__ == "__main__":
    main()

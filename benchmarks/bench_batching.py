"""Micro-batching: throughput gain and added latency against unbatched calls, same run.

A burst of `--requests` concurrent colourisation-model calls (the embedded model at its working
size; the ECCV16 network on random weights when the embedded model is absent) goes through
`ModelSession.run` twice: once with batching off (max_batch=1) and once with the default policy
(max_batch=8, max_wait 10 ms). Then a lone request, both ways, shows what the wait costs a
request that has no company.

    python -m benchmarks.bench_batching [--requests 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from benchmarks.bench_colorize import random_eccv16_state
from inference.colorize import Colorizer
from inference.conversions import convert_state_dict
from inference.registry import PACKAGE_MODEL_DIR
from inference.sessions import BatchPolicy, ModelSession

EMBEDDED = PACKAGE_MODEL_DIR / "colorize-embedded.onnx"


def model_path(scratch: Path) -> tuple[str, Path]:
    if EMBEDDED.is_file():
        return "embedded", EMBEDDED
    path = scratch / "eccv16.onnx"
    onnx.save(convert_state_dict("eccv16", random_eccv16_state()), path)
    return "eccv16 (random weights)", path


async def burst(session: ModelSession, items: list[np.ndarray]) -> tuple[float, list[float]]:
    """-> (seconds for the whole burst, each request's latency in ms)."""
    latencies: list[float] = []

    async def one(item: np.ndarray) -> None:
        started = time.perf_counter()
        await session.run(item)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in items))
    return time.perf_counter() - started, latencies


async def lone(session: ModelSession, item: np.ndarray, repeats: int = 10) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await session.run(item)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def run(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        name, path = model_path(Path(scratch))
        sizes: list[int] = []
        plain = ModelSession(
            "unbatched", path, policy=BatchPolicy(1, 0), warmup_shape=Colorizer.warmup_shape
        )
        batched = ModelSession(
            "batched",
            path,
            policy=BatchPolicy(8, 10),
            warmup_shape=Colorizer.warmup_shape,
            observer=lambda _n, size, _s: sizes.append(size),
        )
        size = Colorizer.working_size(plain.metadata)
        rng = np.random.default_rng(0)
        items = [rng.uniform(0, 100, (1, size, size)).astype(np.float32) for _ in range(requests)]
        print(f"model: {name} at {size}x{size}; {requests} concurrent requests, best of {rounds}")
        results = {}
        for label, session in (("unbatched", plain), ("batched", batched)):
            runs = [await burst(session, items) for _ in range(rounds)]
            seconds, latencies = min(runs, key=lambda r: r[0])
            results[label] = (
                requests / seconds,
                statistics.median(latencies),
                max(latencies),
                await lone(session, items[0]),
            )
        for label, (throughput, p50, worst, alone) in results.items():
            print(
                f"{label:<10} {throughput:7.1f} req/s  burst latency p50 {p50:7.1f} ms, "
                f"max {worst:7.1f} ms  lone request {alone:6.1f} ms"
            )
        print(f"batch sizes run (batched): {sorted(set(sizes))}")
        gain = results["batched"][0] / results["unbatched"][0]
        added = results["batched"][3] - results["unbatched"][3]
        print(f"throughput gain: {gain:.2f}x; added latency for a lone request: {added:+.1f} ms")
        plain.close()
        batched.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds))


if __name__ == "__main__":
    main()

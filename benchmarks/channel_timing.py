"""Shared pieces of the channel benchmarks (bench_telegram, bench_x): the 1 MP photo, the
in-run baseline (the bare photo work), alternating runs, and the report lines."""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from PIL import Image

from inference.images import decode_image, encode_jpeg
from inference.pipeline import PhotoPipeline

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
ONE_MP = (1000, 1000)


def one_mp_jpeg(name: str) -> bytes:
    with Image.open(TESTDATA / name) as image:
        photo = image.convert("RGB").resize(ONE_MP, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(seconds) * 1e3:7.1f} ms  p90 {p90 * 1e3:7.1f} ms"


async def interleaved(
    first: Callable[[], Awaitable[float]], second: Callable[[], Awaitable[float]], repeats: int
) -> tuple[list[float], list[float]]:
    """Alternate the two runs (after two warm-ups each), so both see the same machine load."""
    for _ in range(2):
        await first()
        await second()
    pairs = [(await first(), await second()) for _ in range(repeats)]
    return [a for a, _ in pairs], [b for _, b in pairs]


async def bare_work(
    pipeline: PhotoPipeline, operation: str, name: str | None, jpeg: bytes
) -> float:
    """The baseline: decode, the photo work and encode, without any channel."""
    started = time.perf_counter()
    photo = await asyncio.to_thread(decode_image, jpeg)
    outcome = await pipeline.run(operation, name, photo)
    await asyncio.to_thread(encode_jpeg, outcome.bgr)
    return time.perf_counter() - started


def report(title: str, channel: list[float], bare: list[float]) -> None:
    ratio = statistics.median(channel) / statistics.median(bare)
    added = (statistics.median(channel) - statistics.median(bare)) * 1e3
    print(f"  {title:<13} end to end   {summary(channel)}")
    print(f"  {'':<13} bare work    {summary(bare)}   (baseline)")
    print(f"  {'':<13} ratio {ratio:5.2f}; the channel adds {added:.1f} ms")

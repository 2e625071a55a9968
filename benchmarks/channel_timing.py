"""Shared pieces of the channel benchmarks (bench_telegram, bench_x): the 1 MP photo, the
in-run baseline (the bare photo work), alternating runs, and the report lines."""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.app import close_services, create_app, open_services
from bot.services import Services
from bot.settings import Settings
from inference.images import decode_image, encode_jpeg
from inference.pipeline import COLORIZE, FILTER, PhotoPipeline

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


async def compare_with_bare_work(
    pipeline: PhotoPipeline,
    end_to_end: Callable[[bytes, str | None], Awaitable[float]],
    *,
    filter_words: str,
    colourise_words: str | None,
    repeats: int,
) -> None:
    """Time the channel end to end against the bare work, alternating: a colour photo with the
    words that ask for Lo-Fi, and (when a model is installed) a grey photo with the words that
    ask for colourisation. `end_to_end(jpeg, words)` sends one message and returns seconds."""
    cases: list[tuple[str, str, str | None, str, str | None]] = [
        ("filter Lo-Fi", FILTER, "Lo-Fi", "astronaut_color.png", filter_words)
    ]
    if pipeline.can_colorize:
        cases.append(("colourise", COLORIZE, None, "astronaut_grey.png", colourise_words))
    for title, operation, name, photo, words in cases:
        jpeg = one_mp_jpeg(photo)
        channel, bare = await interleaved(
            lambda j=jpeg, w=words: end_to_end(j, w),  # type: ignore[misc]
            lambda o=operation, n=name, j=jpeg: bare_work(pipeline, o, n, j),  # type: ignore[misc]
            repeats,
        )
        report(title, channel, bare)
    if not pipeline.can_colorize:
        print("  colourise     skipped: no colourisation model is installed")


@asynccontextmanager
async def channel_app(
    channel: str, env: dict[str, str], threads: int
) -> AsyncIterator[tuple[TestClient[Any, Any], Services]]:
    """The real app serving one channel on loopback, with a scratch SQLite database and data
    folder, the shipped models, and no per-user limit; `env` adds the channel's settings."""
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.from_env(
            {
                **env,
                "COLORBOT_DATA_DIR": scratch,
                "DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/colorbot.db",
                "USER_JOBS_PER_HOUR": "100000",
                "INFERENCE_THREADS": str(threads),
            }
        )
        services = await open_services(settings)
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(services, channel_names=[channel]))
        )
        await client.start_server()
        try:
            yield client, services
        finally:
            await client.close()
            await close_services(services)

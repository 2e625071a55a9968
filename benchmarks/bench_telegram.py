"""Telegram end to end: the time from a webhook POST to the fake Bot API receiving the
sendPhoto, for a 1-megapixel photo, with a filter (/filter Lo-Fi) and with colourisation; and
with `--clips N`, webhook -> sendVideo for a black-and-white 640x360 clip of 5 s (with sound),
against the bare engine work on the same file (probe + process, as the runner calls it).

The real app (real SQLite in a temporary folder, the real models, its worker) and the fake Bot
API run in this process on 127.0.0.1; each update is sent after the previous reply arrived.
The in-run baseline is the bare work for the same photo (decode, pipeline, JPEG encode, as the
runner does it), so the ratio shows what the channel adds: the webhook, the queue, getFile and
the download, the upload, and the worker's hand-offs.

    python -m benchmarks.bench_telegram [--repeats 20] [--threads 0] [--clips 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from benchmarks.channel_timing import ONE_MP, channel_app, compare_with_bare_work, summary
from bot.services import Services
from inference.pipeline import PhotoPipeline
from tests.clip_helpers import grey_video
from tests.fake_telegram import FakeTelegram
from tests.telegram_helpers import SECRET_HEADER, TOKEN, WEBHOOK, WEBHOOK_SECRET

USER = 4242


async def run(repeats: int, threads: int, clips: int) -> None:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    try:
        async with channel_app(
            "telegram",
            {
                "TELEGRAM_TOKEN": TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "PUBLIC_BASE_URL": "https://bot.example",
                "TELEGRAM_API_URL": fake.url,
            },
            threads,
        ) as (client, services):
            await measure(client, fake, services.pipeline, repeats)
            if clips:
                await measure_clips(client, fake, services, clips)
    finally:
        await fake.close()


async def measure(
    client: TestClient[Any, Any], fake: FakeTelegram, pipeline: PhotoPipeline, repeats: int
) -> None:
    webhook_answers: list[float] = []

    async def end_to_end(jpeg: bytes, caption: str | None) -> float:
        update = fake.updates.photo(USER, jpeg, caption=caption)
        before = len(fake.sent("sendPhoto"))
        started = time.monotonic()
        response = await client.post(WEBHOOK, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
        await response.read()
        webhook_answers.append(time.monotonic() - started)
        assert response.status == 200, response.status
        await fake.wait_for(lambda: len(fake.sent("sendPhoto")) > before, timeout=120)
        return fake.sent("sendPhoto")[-1].at - started

    print(f"Telegram webhook -> sendPhoto, {ONE_MP[0]}x{ONE_MP[1]} JPEG, median of {repeats}")
    await compare_with_bare_work(
        pipeline, end_to_end, filter_words="/filter Lo-Fi", colourise_words=None, repeats=repeats
    )
    print(f"  webhook answered (job stored) {summary(webhook_answers)}")


async def measure_clips(
    client: TestClient[Any, Any], fake: FakeTelegram, services: Services, repeats: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        clip = grey_video(Path(scratch) / "in.mp4", frames=125, size=(640, 360), fps=25)
        data = clip.read_bytes()

        async def end_to_end() -> float:
            update = fake.updates.video(USER, data)
            before = len(fake.sent("sendVideo"))
            started = time.monotonic()
            headers = {SECRET_HEADER: WEBHOOK_SECRET}
            response = await client.post(WEBHOOK, json=update, headers=headers)
            assert response.status == 200, response.status
            await fake.wait_for(lambda: len(fake.sent("sendVideo")) > before, timeout=600)
            return fake.sent("sendVideo")[-1].at - started

        async def bare(index: int) -> float:
            started = time.monotonic()
            output = Path(scratch) / f"bare-{index}.mp4"
            await services.video.process(clip, output, "colorize")
            output.unlink()
            return time.monotonic() - started

        channel, work = [], []
        for index in range(repeats):  # alternated, so both see the same machine load
            channel.append(await end_to_end())
            work.append(await bare(index))
    ratio = statistics.median(channel) / statistics.median(work)
    print(f"Telegram webhook -> sendVideo, 640x360 25 fps 5 s grey clip, median of {repeats}")
    print(f"  colourise     end to end   {summary(channel)}")
    print(f"  {'':<13} bare engine  {summary(work)}   (baseline)")
    speed = 5.0 / statistics.median(channel)
    print(f"  {'':<13} ratio {ratio:5.2f}; end to end at {speed:.2f}x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    parser.add_argument("--clips", type=int, default=0, help="also time N video replies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.repeats, args.threads, args.clips))


if __name__ == "__main__":
    main()

"""X end to end: the time from a signed webhook POST (a mention with a photo) to the fake X API
answering the reply's `POST /2/tweets`, for a 1-megapixel photo, with a filter ("lofi") and,
when a colourisation model is installed, colourised.

The real app (real SQLite in a temporary folder, the real models, its worker) and the fake X
API (OAuth 1.0a checked on every call) run in this process on 127.0.0.1; each mention is sent
after the previous reply arrived. The in-run baseline is the bare work for the same photo
(decode, pipeline, JPEG encode, as the runner does it), run alternately with the end-to-end
runs so both see the same machine load; the ratio shows what the channel adds: the webhook,
the queue, the download, the media upload, alt text and the post.

    python -m benchmarks.bench_x [--repeats 20] [--threads 0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from aiohttp.test_utils import TestClient

from benchmarks.channel_timing import ONE_MP, channel_app, compare_with_bare_work, summary
from inference.pipeline import PhotoPipeline
from tests.fake_x import FakeX
from tests.x_helpers import ALICE, BOT, BOT_ID, CREDENTIALS, x_env
from tests.x_payloads import account_activity_posts, signed


async def run(repeats: int, threads: int) -> None:
    fake = FakeX(CREDENTIALS, BOT_ID, BOT)
    fake.add_user(ALICE, "alice")
    await fake.start()
    try:
        async with channel_app("x", x_env(fake), threads) as (client, services):
            await measure(client, fake, services.pipeline, repeats)
    finally:
        await fake.close()


async def measure(
    client: TestClient[Any, Any], fake: FakeX, pipeline: PhotoPipeline, repeats: int
) -> None:
    webhook_answers: list[float] = []

    async def end_to_end(jpeg: bytes, words: str | None) -> float:
        post = fake.add_post(ALICE, f"@{BOT} {words or ''}".strip(), photo=jpeg)
        body, headers = signed(account_activity_posts(fake, post), CREDENTIALS.consumer_secret)
        started = time.monotonic()
        response = await client.post("/webhooks/x", data=body, headers=headers)
        await response.read()
        webhook_answers.append(time.monotonic() - started)
        assert response.status == 200, response.status
        deadline = started + 120
        while not fake.replies_to(post):
            assert time.monotonic() < deadline, "no reply within 120 s"
            await asyncio.sleep(0.002)
        [answer] = [
            e
            for e in fake.requests("POST", "/2/tweets")
            if e.body["reply"]["in_reply_to_tweet_id"] == post
        ]
        return answer.at - started

    print(f"X webhook -> POST /2/tweets, {ONE_MP[0]}x{ONE_MP[1]} JPEG, median of {repeats}")
    await compare_with_bare_work(
        pipeline, end_to_end, filter_words="lofi", colourise_words=None, repeats=repeats
    )
    print(f"  webhook answered (job stored) {summary(webhook_answers)}")
    print(f"  fake X API rejected {fake.rejected_auth} request(s) for their OAuth signature")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.repeats, args.threads))


if __name__ == "__main__":
    main()

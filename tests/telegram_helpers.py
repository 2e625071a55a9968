"""Shared pieces of the Telegram channel's tests: the fake Bot API, the app's Telegram
settings, webhook deliveries, photos, and the check that the bot token never leaks."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from db.engine import Database
from db.models import Event, Job, Result, User
from tests.conftest import MakeApp, RunningApp
from tests.fake_telegram import Call, FakeTelegram

TOKEN = "123:SECRET-TOKEN"
TOKEN_SECRET_PART = "SECRET-TOKEN"
WEBHOOK_SECRET = "webhook-secret-0123456789"
ALICE = 4001
BOB = 4002
ADMIN = 4999
WEBHOOK = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@asynccontextmanager
async def running_fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, on 127.0.0.1 for one test (import it and list it in `__all__`)."""
    async with running_fake() as server:
        yield server


def telegram_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUBLIC_BASE_URL": "https://bot.example",
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_ADMIN_IDS": str(ADMIN),
        "USER_JOBS_PER_HOUR": "1000",
        **extra,
    }


async def start_app(make_app: MakeApp, fake: FakeTelegram, **extra: Any) -> RunningApp:
    return await make_app(channels=["telegram"], **telegram_env(fake, **extra))


async def deliver(
    app: RunningApp, fake: FakeTelegram, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET
) -> int:
    """POST the update to the real webhook route, as Telegram does."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    fake.note(f"Telegram -> POST {WEBHOOK} {describe_update(update)}")
    response = await app.client.post(WEBHOOK, json=update, headers=headers)
    await response.read()
    fake.note(f"  <- HTTP {response.status}")
    return response.status


def describe_update(update: dict[str, Any]) -> str:
    if "callback_query" in update:
        query = update["callback_query"]
        return f"update {update['update_id']}: button press data={query['data']!r}"
    message = update["message"]
    parts = [f"update {update['update_id']}: message {message['message_id']}"]
    if "photo" in message:
        largest = message["photo"][-1]
        parts.append(f"photo {largest['width']}x{largest['height']}")
    for kind in ("video", "animation"):
        if kind in message:
            clip = message[kind]
            parts.append(
                f"{kind} {clip['width']}x{clip['height']} {clip['duration']} s "
                f"{clip.get('file_size', '?')} bytes"
            )
    if "video_note" in message:
        note = message["video_note"]
        parts.append(f"video_note {note['length']}px {note['duration']} s")
    if "document" in message and "animation" not in message:
        parts.append(f"document {message['document']['mime_type']}")
    for key in ("text", "caption"):
        if key in message:
            parts.append(f"{key}={message[key]!r}")
    if "reply_to_message" in message:
        parts.append(f"replying to {message['reply_to_message']['message_id']}")
    return ", ".join(parts)


def colour_jpeg(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    """A colour photo: red, green and blue gradients with some noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack(
        [
            xs * 255 // max(1, width - 1),
            ys * 255 // max(1, height - 1),
            255 - xs * 255 // max(1, width - 1),
        ],
        axis=-1,
    ).astype(np.int16)
    image += rng.integers(-12, 12, size=image.shape, dtype=np.int16)
    return _jpeg(np.clip(image, 0, 255).astype(np.uint8))


def grey_jpeg(width: int = 96, height: int = 64) -> bytes:
    """A black-and-white photo: a diagonal gradient with a bright square."""
    ys, xs = np.mgrid[0:height, 0:width]
    grey = ((xs * 255 // max(1, width - 1) + ys * 255 // max(1, height - 1)) // 2).astype(np.uint8)
    grey[height // 4 : height // 2, width // 4 : width // 2] = 230
    return _jpeg(np.stack([grey] * 3, axis=-1))


def corrupt_jpeg() -> bytes:
    """A JPEG with a sound header and a damaged Huffman table (the end marker is intact, so it
    is damaged, not cut off)."""
    data = bytearray(colour_jpeg(64, 48))
    table = data.find(b"\xff\xc4")  # define Huffman table
    data[table + 5 : table + 30] = b"\xff" * 25
    return bytes(data)


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def picture_size(call: Call, field: str = "photo") -> tuple[int, int]:
    picture = next(p for p in call.pictures if p.field == field)
    assert picture.format == "JPEG", f"{call.method} uploaded no valid image: {picture}"
    return picture.width, picture.height


def buttons_of(call: Call) -> list[tuple[str, str | None]]:
    markup = call.params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data"))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def reply_to_id(call: Call) -> int | None:
    parameters = call.params.get("reply_parameters")
    return None if parameters is None else int(parameters["message_id"])


async def stored_rows(db: Database) -> dict[str, int]:
    counts = {}
    async with db.sessions() as session:
        for name, model in (("jobs", Job), ("events", Event), ("users", User), ("results", Result)):
            counts[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


async def jobs_of(db: Database) -> list[Job]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Job).order_by(Job.id))).all())


@pytest.fixture
def no_token_leaks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log line of the test (DEBUG and up, with tracebacks) is free of the token."""
    caplog.set_level(logging.DEBUG)
    yield
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    assert records, "no log records were captured"
    leaks = [
        formatter.format(record)
        for record in records
        if TOKEN_SECRET_PART in formatter.format(record)
    ]
    assert not leaks, f"the bot token appears in the logs: {leaks[:3]}"


def assert_no_token_in_replies(fake: FakeTelegram) -> None:
    for call in fake.calls("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
        assert TOKEN_SECRET_PART not in str(call.params), call


async def wait_for_jobs(db: Database, count: int, timeout: float = 30.0) -> list[Job]:
    """Wait until `count` jobs exist and all of them are done or failed."""
    async with asyncio.timeout(timeout):
        while True:
            jobs = await jobs_of(db)
            if len(jobs) >= count and all(j.status in ("done", "failed") for j in jobs):
                return jobs
            await asyncio.sleep(0.05)


async def wait_for_events(db: Database, count: int, timeout: float = 10.0) -> None:
    """Wait until `count` platform events are recorded (every update is, once taken in)."""
    async with asyncio.timeout(timeout):
        while (await stored_rows(db))["events"] < count:
            await asyncio.sleep(0.05)


def colour_png(width: int = 96, height: int = 64) -> bytes:
    with Image.open(io.BytesIO(colour_jpeg(width, height))) as image:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

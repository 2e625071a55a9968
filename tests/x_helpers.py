"""Shared pieces of the X channel's end-to-end tests: the fake X API, the app's X settings,
signed webhook deliveries, photos, and waiting for jobs."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from db.engine import Database
from db.models import Event, Job, JobStatus, Result, User
from tests.conftest import MakeApp, RunningApp
from tests.fake_x import Credentials, FakeX
from tests.x_payloads import signed

BOT_ID = "1000"
BOT = "colorbot"
ALICE = "2001"
BOB = "2002"
CREDENTIALS = Credentials()
SECRETS = (
    CREDENTIALS.consumer_key,
    CREDENTIALS.consumer_secret,
    CREDENTIALS.token,
    CREDENTIALS.token_secret,
)


@asynccontextmanager
async def running_fake() -> AsyncIterator[FakeX]:
    fake = FakeX(CREDENTIALS, BOT_ID, BOT)
    fake.add_user(ALICE, "alice")
    fake.add_user(BOB, "bob")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    """The fake X API, on 127.0.0.1 for one test (import it and list it in `__all__`)."""
    async with running_fake() as server:
        yield server


def x_env(fake: FakeX, **extra: str) -> dict[str, str]:
    return {
        "X_CONSUMER_KEY": CREDENTIALS.consumer_key,
        "X_CONSUMER_SECRET": CREDENTIALS.consumer_secret,
        "X_ACCESS_TOKEN": CREDENTIALS.token,
        "X_ACCESS_TOKEN_SECRET": CREDENTIALS.token_secret,
        "X_BOT_USER_ID": BOT_ID,
        "PUBLIC_BASE_URL": "https://bot.example",
        "X_API_URL": fake.url,
        "X_MEDIA_HOSTS": "127.0.0.1",
        "X_POLL_INTERVAL_S": "3600",
        **extra,
    }


async def start_app(make_app: MakeApp, fake: FakeX, **extra: str) -> RunningApp:
    return await make_app(channels=["x"], **x_env(fake, **extra))


def grey_jpeg(width: int = 96, height: int = 64) -> bytes:
    """A black-and-white photo: a diagonal gradient with a bright square."""
    ys, xs = np.mgrid[0:height, 0:width]
    image = ((xs * 255 // max(1, width - 1) + ys * 255 // max(1, height - 1)) // 2).astype(np.uint8)
    image[height // 4 : height // 2, width // 4 : width // 2] = 230
    buffer = io.BytesIO()
    Image.fromarray(image, "L").convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def deliver(app: RunningApp, payload: dict[str, Any]) -> int:
    body, headers = signed(payload, CREDENTIALS.consumer_secret)
    response = await app.client.post("/webhooks/x", data=body, headers=headers)
    return response.status


async def wait_until(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


async def find_job(db: Database, event_id: str) -> Job | None:
    async with db.sessions() as session:
        return await session.scalar(select(Job).where(Job.channel == "x", Job.event_id == event_id))


async def finished_job(db: Database, event_id: str, timeout: float = 60) -> Job:
    found: list[Job] = []

    async def finished() -> bool:
        job = await find_job(db, event_id)
        if job is not None and job.status in (JobStatus.DONE, JobStatus.FAILED):
            found.append(job)
            return True
        return False

    await wait_until(finished, timeout)
    return found[0]


async def count(db: Database, model: type[Any]) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_rows(db: Database) -> dict[str, int]:
    return {
        "jobs": await count(db, Job),
        "events": await count(db, Event),
        "users": await count(db, User),
        "results": await count(db, Result),
    }


async def result_of(db: Database, job_id: int) -> Result | None:
    async with db.sessions() as session:
        return await session.scalar(select(Result).where(Result.job_id == job_id))

"""X poll mode end to end: the real app's scheduler reads `GET /2/users/:id/mentions` from the
fake X API, following next_token, with a since_id kept in the database across restarts."""

from __future__ import annotations

import asyncio

from db.channel_state import get_cursor
from db.models import JobStatus
from handlers.x.polling import CURSOR, MentionsPoller
from tests.conftest import MakeApp, RunningApp
from tests.fake_x import FakeX
from tests.x_helpers import (
    ALICE,
    BOB,
    BOT,
    BOT_ID,
    fake,
    finished_job,
    grey_jpeg,
    start_app,
    stored_rows,
    wait_until,
)

__all__ = ["fake"]  # a fixture


def poller(app: RunningApp) -> MentionsPoller:
    channel = app.services.channels["x"]
    found = getattr(channel, "poller", None)
    assert isinstance(found, MentionsPoller)
    return found


async def test_poll_mode_mention_with_photo_pages_and_restart_neither_misses_nor_repeats(
    make_app: MakeApp, fake: FakeX
) -> None:
    fake.mentions_page_size = 2
    early = [fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg()) for _ in range(2)]
    early.append(fake.add_post(BOB, f"hi @{BOT} #lofi", photo=grey_jpeg(64, 48)))
    unrelated = fake.add_post(BOB, "no mention here", photo=grey_jpeg())
    first = await start_app(make_app, fake, X_MODE="poll")  # polls once at start
    for post in early:
        job = await finished_job(first.db, post)
        assert (job.status, job.filter_name) == (JobStatus.DONE, "Lo-Fi"), job.error_message
    polls = fake.requests("GET", f"/2/users/{BOT_ID}/mentions")
    assert [p.query.get("pagination_token") for p in polls] == [None, "2"]
    query = polls[0].query
    assert "since_id" not in query
    assert set(query["expansions"].split(",")) >= {"attachments.media_keys", "author_id"}
    assert query["media.fields"] == "url,type,width,height,variants,duration_ms,preview_image_url"
    assert await get_cursor(first.db, CURSOR) == max(early, key=int)
    await first.client.close()

    late = fake.add_post(ALICE, f"@{BOT} mayfair", photo=grey_jpeg())
    data_dir = str(first.services.settings.data_dir)
    second = await start_app(
        make_app,
        fake,
        X_MODE="poll",
        COLORBOT_DATA_DIR=data_dir,
        DATABASE_URL=first.services.settings.database_url,
    )
    job = await finished_job(second.db, late)
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Mayfair"), job.error_message
    after_restart = fake.requests("GET", f"/2/users/{BOT_ID}/mentions")[len(polls) :]
    assert after_restart[0].query["since_id"] == max(early, key=int)
    assert await poller(second).poll() == 0  # nothing new: nothing read, nothing repeated
    await asyncio.sleep(0.5)
    assert [len(fake.replies_to(p)) for p in [*early, late, unrelated]] == [1, 1, 1, 1, 0]
    assert (await stored_rows(second.db))["jobs"] == 4


async def test_poll_rate_limit_pauses_until_reset_and_loses_nothing(
    make_app: MakeApp, fake: FakeX
) -> None:
    fake.fail("GET", r"/mentions$", 429, reset_in=3600)
    app = await start_app(make_app, fake, X_MODE="poll")
    await wait_until(lambda: len(fake.requests("GET", f"/2/users/{BOT_ID}/mentions")) == 1)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await poller(app).poll() == 0  # paused: no request until the reset
    assert len(fake.requests("GET", f"/2/users/{BOT_ID}/mentions")) == 1
    assert fake.requests("GET", "/2/users/")[0].status == 429
    assert await get_cursor(app.db, CURSOR) is None
    poller(app)._paused_until = 0.0  # as if the reset time had come
    assert await poller(app).poll() == 1
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.DONE, job.error_message


async def test_poll_5xx_is_retried_with_backoff(make_app: MakeApp, fake: FakeX) -> None:
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    fake.fail("GET", r"/mentions$", 503, times=2)
    app = await start_app(make_app, fake, X_MODE="poll")
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.DONE, job.error_message
    statuses = [e.status for e in fake.requests("GET", f"/2/users/{BOT_ID}/mentions")]
    assert statuses == [503, 503, 200]

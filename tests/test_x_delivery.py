"""X replies under trouble, end to end: rate limits, 5xx, a restart mid-job, request forgery,
oversized photos, and the privacy commands ("delete", "forget")."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from bot.media import MediaStore
from db.models import JobStatus
from handlers.x.channel import UPLOAD_LIMIT, fit_upload
from inference.images import ImageLimits, decode_image, encode_jpeg
from tests.conftest import MakeApp
from tests.fake_x import FakeX
from tests.x_helpers import (
    ALICE,
    BOB,
    BOT,
    BOT_ID,
    SECRETS,
    deliver,
    fake,
    find_job,
    finished_job,
    grey_jpeg,
    result_of,
    start_app,
    stored_rows,
    wait_until,
)
from tests.x_payloads import account_activity_dm, account_activity_posts, dm_event

__all__ = ["fake"]  # a fixture


@pytest.fixture
async def bystander() -> AsyncIterator[list[str]]:
    """A server on 127.0.0.1, reached as "localhost" (not on the allowlist): it records every
    request, so a test can show that nothing was fetched from it."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=grey_jpeg(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hits.append(f"http://localhost:{port}")  # hits[0] is the base URL
    yield hits
    await runner.cleanup()


async def test_rate_limited_reply_waits_for_the_reset_and_is_sent_once(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    fake.fail("POST", r"^/2/tweets$", 429, reset_in=2)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    started = time.monotonic()
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.DONE, job.error_message
    assert time.monotonic() - started >= 1.0  # waited for x-rate-limit-reset
    assert [e.status for e in fake.requests("POST", "/2/tweets")] == [429, 201]
    assert len(fake.replies_to(post)) == 1 and job.attempts == 2


async def test_server_errors_are_retried_and_a_permanent_refusal_is_not(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    fake.fail("POST", r"^/2/media/upload$", 503, times=2)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.DONE and job.attempts == 1, job.error_message
    assert [e.status for e in fake.requests("POST", "/2/media/upload")] == [503, 503, 200]

    fake.fail("POST", r"^/2/tweets$", 403, times=5)
    refused = fake.add_post(BOB, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, refused)) == 200
    job = await finished_job(app.db, refused)
    assert (job.status, job.error_kind, job.attempts) == (JobStatus.FAILED, "x_rejected", 1)
    # Tried once, not retried; then the one error message, tried once (refused too).
    _, refused_reply, error_reply = fake.requests("POST", "/2/tweets")
    assert refused_reply.body["media"]["media_ids"] and "media" not in error_reply.body
    assert error_reply.body["text"] == "X did not accept my reply."


@pytest.mark.parametrize("stalled_at", ["photo download", "reply post"])
async def test_restart_mid_job_gives_exactly_one_reply(
    make_app: MakeApp, fake: FakeX, stalled_at: str
) -> None:
    if stalled_at == "photo download":
        stall = fake.stall("GET", r"^/pbs/media/", after=False)
    else:  # the post is published but the process stops before it hears back
        stall = fake.stall("POST", r"^/2/tweets$", after=True)
    first = await start_app(make_app, fake, SHUTDOWN_TIMEOUT_S="0")
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(first, account_activity_posts(fake, post)) == 200
    await asyncio.wait_for(stall.reached.wait(), 60)
    assert len(fake.created) == (1 if stalled_at == "reply post" else 0)
    await first.client.close()  # stop: the running job goes back to the queue
    stall.release.set()
    second = await start_app(
        make_app,
        fake,
        COLORBOT_DATA_DIR=str(first.services.settings.data_dir),
        DATABASE_URL=first.services.settings.database_url,
    )
    job = await finished_job(second.db, post)
    assert job.status == JobStatus.DONE, job.error_message
    await asyncio.sleep(0.5)
    assert len(fake.replies_to(post)) == 1


async def test_media_urls_off_the_allowlist_are_never_fetched(
    make_app: MakeApp, fake: FakeX, bystander: list[str]
) -> None:
    app = await start_app(make_app, fake)
    base = bystander[0]
    elsewhere = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    redirected = fake.add_post(BOB, f"@{BOT} lofi", photo=grey_jpeg())
    payload = account_activity_posts(fake, elsewhere, redirected)
    payload["tweet_create_events"][0]["extended_entities"]["media"][0]["media_url_https"] = (
        f"{base}/internal/admin.jpg"
    )
    fake.redirects["/pbs/media/hop.jpg"] = f"{base}/metadata.jpg"
    payload["tweet_create_events"][1]["extended_entities"]["media"][0]["media_url_https"] = (
        f"{fake.url}/pbs/media/hop.jpg"
    )
    assert await deliver(app, payload) == 200
    for post in (elsewhere, redirected):
        job = await finished_job(app.db, post)
        assert (job.status, job.error_kind) == (JobStatus.FAILED, "photo_refused")
        [answer] = fake.replies_to(post)
        assert "X itself hosts" in answer["text"]
    assert bystander[1:] == []
    assert [e.status for e in fake.requests("GET", "/pbs/media/hop.jpg")] == [302]


async def test_photo_over_the_byte_limit_is_refused(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake, MAX_IMAGE_BYTES="20000")
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg(1200, 900))
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, "too_large")
    assert "too large" in fake.replies_to(post)[0]["text"]


async def test_delete_reply_removes_the_result_its_media_and_our_post(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    result = await result_of(app.db, job.id)
    assert result is not None and result.gallery
    media = MediaStore(app.services.settings.data_dir / "media")
    assert media.exists(result.media) and media.exists(result.input_media or "")
    reply_id = str(job.reply_message_id)

    not_the_author = fake.add_post(BOB, f"@{BOT} delete", reply_to=reply_id)
    assert await deliver(app, account_activity_posts(fake, not_the_author)) == 200
    await asyncio.sleep(0.3)
    assert await result_of(app.db, job.id) is not None and fake.deleted == []

    delete = fake.add_post(ALICE, f"@{BOT} delete", reply_to=reply_id)
    for _ in range(2):  # re-delivered: confirmed once
        assert await deliver(app, account_activity_posts(fake, delete)) == 200
    await wait_until(lambda: len(fake.replies_to(delete)) == 1 and fake.deleted == [reply_id])
    assert await result_of(app.db, job.id) is None
    assert not media.exists(result.media) and not media.exists(result.input_media or "")
    assert "Deleted" in fake.replies_to(delete)[0]["text"]
    await asyncio.sleep(0.3)
    assert len(fake.replies_to(delete)) == 1 and fake.replies_to(not_the_author) == []


async def test_dm_forget_removes_everything_about_the_user(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    result = await result_of(app.db, job.id)
    assert result is not None
    media = MediaStore(app.services.settings.data_dir / "media")
    forget = dm_event(fake, ALICE, BOT_ID, "forget", None)
    assert await deliver(app, account_activity_dm(fake, forget)) == 200
    await wait_until(lambda: len(fake.dms) == 1)
    assert fake.dms[0]["to"] == ALICE and "deleted everything" in fake.dms[0]["text"]
    assert await find_job(app.db, post) is None
    assert not media.exists(result.media)
    assert (await stored_rows(app.db))["users"] == 0


async def test_gallery_sync_stores_like_counts(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    fake.likes[str(job.reply_message_id)] = 42
    channel = app.services.channels["x"]
    await channel.sync_gallery()  # type: ignore[attr-defined]
    result = await result_of(app.db, job.id)
    assert result is not None and result.external_likes == 42
    [likes] = fake.requests("GET", "/2/tweets")[-1:]
    assert likes.query == {"ids": job.reply_message_id, "tweet.fields": "public_metrics"}


async def test_fake_rejects_a_bad_oauth_signature_and_logs_keep_secrets(
    make_app: MakeApp, fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        forged = {"Authorization": 'OAuth oauth_consumer_key="apiKey", oauth_signature="x"'}
        async with session.get(f"{fake.url}/2/tweets/1", headers=forged) as response:
            assert response.status == 401
    app = await start_app(make_app, fake, X_ACCESS_TOKEN_SECRET="wrongSecret")
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.FAILED and fake.rejected_auth >= 2
    assert fake.created == []
    for secret in (*SECRETS, "wrongSecret"):
        assert secret not in caplog.text
        assert secret not in (job.error_message or "")


def test_results_over_five_megabytes_are_re_encoded_to_fit() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (2000, 2500, 3), dtype=np.uint8)
    big = encode_jpeg(noise, quality=100, max_bytes=50_000_000)
    assert len(big) > UPLOAD_LIMIT
    fitted = fit_upload(big, ImageLimits())
    assert len(fitted) <= UPLOAD_LIMIT
    assert decode_image(fitted).shape[2] == 3
    small = encode_jpeg(noise[:100, :100])
    assert fit_upload(small, ImageLimits()) is small

"""The Telegram channel when things go wrong: forged webhooks, re-deliveries, restarts in the
middle of a job, oversized and broken files, floods, and Bot API errors (429, 5xx, no answer,
a user who blocked the bot). Exactly one reply, or none where none can be sent; never two."""

from __future__ import annotations

import asyncio
import time

import pytest

from db.models import JobStatus
from tests.conftest import MakeApp
from tests.fake_telegram import FakeTelegram
from tests.telegram_helpers import (
    ALICE,
    BOB,
    TOKEN_SECRET_PART,
    WEBHOOK,
    colour_jpeg,
    corrupt_jpeg,
    deliver,
    fake,
    jobs_of,
    no_token_leaks,
    picture_size,
    start_app,
    stored_rows,
    wait_for_events,
    wait_for_jobs,
)

pytestmark = pytest.mark.usefixtures("no_token_leaks")
__all__ = ["fake", "no_token_leaks"]


def lofi(fake: FakeTelegram, user: int = ALICE, size: tuple[int, int] = (80, 60)) -> dict:
    return fake.updates.photo(user, colour_jpeg(*size), caption="/filter Lo-Fi")


async def test_a_forged_or_missing_secret_is_refused_and_nothing_is_stored(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    calls_at_start = len(fake.transcript)
    update = lofi(fake)
    assert await deliver(app, fake, update, secret="webhook-secret-012345678X") == 403
    assert await deliver(app, fake, update, secret="") == 403
    assert await deliver(app, fake, update, secret=None) == 403
    response = await app.client.post(
        WEBHOOK,
        data=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-0123456789"},
    )
    assert response.status == 400
    await asyncio.sleep(0.5)
    assert await stored_rows(app.db) == {"jobs": 0, "events": 0, "users": 0, "results": 0}
    assert [c for c in fake.transcript[calls_at_start:] if not isinstance(c, str)] == []


async def test_the_same_update_twice_gets_one_reply(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    photo, text = lofi(fake), fake.updates.text(BOB, "/help")
    for update in (photo, text, photo, text):
        assert await deliver(app, fake, update) == 200
    await wait_for_jobs(app.db, 1)
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    # Both at once, as a retrying Telegram might.
    statuses = await asyncio.gather(*(deliver(app, fake, photo) for _ in range(5)))
    assert statuses == [200] * 5
    await asyncio.sleep(1.0)
    assert len(fake.sent("sendPhoto")) == 1 and len(fake.sent("sendMessage")) == 1
    rows = await stored_rows(app.db)
    assert (rows["jobs"], rows["events"]) == (1, 1)  # the job is the photo's record


async def test_the_same_update_after_a_restart_gets_no_second_reply(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    first = await start_app(make_app, fake)
    photo, text = lofi(fake), fake.updates.text(BOB, "hello")
    for update in (photo, text):
        await deliver(first, fake, update)
    await wait_for_jobs(first.db, 1)
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    await first.client.close()
    settings = first.services.settings
    second = await start_app(
        make_app, fake, COLORBOT_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url
    )
    for update in (photo, text):
        assert await deliver(second, fake, update) == 200
    await asyncio.sleep(1.0)
    assert len(fake.sent("sendPhoto")) == 1 and len(fake.sent("sendMessage")) == 1


@pytest.mark.parametrize("stage", ["download", "sendPhoto"])
async def test_a_restart_in_the_middle_of_a_job_gives_one_reply(
    make_app: MakeApp, fake: FakeTelegram, stage: str
) -> None:
    """Stopped while fetching the photo: the job is run again after the restart. Stopped
    while the reply was on its way (Telegram got it, the answer did not come back): the
    restarted worker does not send it again."""
    first = await start_app(make_app, fake, SHUTDOWN_TIMEOUT_S="0")
    fake.stall(stage, 3.0, after=stage == "sendPhoto")
    await deliver(first, fake, lofi(fake))
    await fake.wait_for(lambda: len(fake.calls(stage)) == 1)
    await first.client.close()  # stop: the running job is cancelled and released
    [job] = await jobs_of(first.db)
    assert job.status == JobStatus.QUEUED
    settings = first.services.settings
    second = await start_app(
        make_app, fake, COLORBOT_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url
    )
    [job] = await wait_for_jobs(second.db, 1)
    assert job.status == JobStatus.DONE
    await asyncio.sleep(1.0)
    assert len(fake.calls("sendPhoto")) == 1
    if stage == "download":
        assert len(fake.calls("download")) == 2 and job.reply_message_id is not None


async def test_a_25_mb_file_is_refused_before_any_download(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    big = fake.updates.document(ALICE, b"\xff\xd8 not really 25 MB", reported_size=25_000_000)
    await deliver(app, fake, big)
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    text = fake.sent("sendMessage")[0].params["text"]
    assert "25.0 MB" in text and "up to 20 MB" in text
    assert fake.calls("getFile", "download") == []
    assert await jobs_of(app.db) == []


async def test_a_file_bigger_than_it_said_is_cut_off_and_refused(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    """getFile says 25 MB although the message did not: refused before the download; a file
    that says 1 MB and is 21 MB: the download stops at the limit."""
    app = await start_app(make_app, fake)
    shy = fake.updates.document(BOB, colour_jpeg(), caption="/filter Lo-Fi")
    shy["message"]["document"].pop("file_size")
    path, data, _ = fake.files[shy["message"]["document"]["file_id"]]
    fake.files[shy["message"]["document"]["file_id"]] = (path, data, 25_000_000)
    liar = fake.updates.document(
        ALICE,
        b"\xff\xd8" + bytes(21 * 1024 * 1024),
        caption="/filter Lo-Fi",
        reported_size=1_000_000,
    )
    await deliver(app, fake, shy)
    await deliver(app, fake, liar)
    jobs = await wait_for_jobs(app.db, 2)
    assert {j.error_kind for j in jobs} == {"too_large"}
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    assert all("too big" in c.params["text"] for c in fake.sent("sendMessage"))
    assert len(fake.calls("download")) == 1  # only the liar's, cut off


async def test_a_corrupt_jpeg_gets_the_friendly_message(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    await deliver(app, fake, fake.updates.document(ALICE, corrupt_jpeg(), caption="/filter Lo-Fi"))
    await deliver(
        app,
        fake,
        fake.updates.document(
            BOB,
            b"GIF89a" + bytes(10),
            file_name="x.gif",
            mime_type="image/gif",
            caption="/filter Lo-Fi",
        ),
    )
    jobs = await wait_for_jobs(app.db, 2)
    assert {j.error_kind for j in jobs} == {"bad_image"}
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    texts = [c.params["text"] for c in fake.sent("sendMessage")]
    assert any("damaged" in t or "cut off" in t for t in texts), texts
    assert fake.sent("sendPhoto") == []


async def test_a_flood_of_500_updates_from_one_user_is_rate_limited(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake, USER_JOBS_PER_HOUR="10")
    photo = colour_jpeg(48, 32)
    updates = [
        fake.updates.photo(ALICE, photo, caption="/filter Lo-Fi")
        if i % 5
        else fake.updates.text(ALICE, f"spam {i}")
        for i in range(500)
    ]
    statuses: list[int] = []
    for start in range(0, 500, 25):
        statuses += await asyncio.gather(
            *(deliver(app, fake, u) for u in updates[start : start + 25])
        )
    assert statuses == [200] * 500
    jobs = await wait_for_jobs(app.db, 10, timeout=60)
    assert len(jobs) == 10 and {j.status for j in jobs} == {JobStatus.DONE}
    await wait_for_events(app.db, 490)  # every update but the 10 jobs
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 10)
    notices = [c.params["text"] for c in fake.sent("sendMessage")]
    assert 1 <= len(notices) <= 3, notices  # at most one notice per user per 30 s
    assert any("the limit" in t or "Send me a photo" in t for t in notices)
    # Still answering.
    await deliver(app, fake, fake.updates.text(BOB, "/help"))
    await fake.wait_for(lambda: any(c.params["chat_id"] == BOB for c in fake.sent("sendMessage")))
    assert (await app.client.get("/healthz")).status == 200


async def test_429_retry_after_is_honoured_and_the_photo_sent_once(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    fake.fail("sendPhoto", 429, retry_after=2)
    await deliver(app, fake, lofi(fake))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1, timeout=30)
    refused, sent = fake.calls("sendPhoto")
    assert refused.status == 429
    assert sent.at - refused.at >= 2.0
    [job] = await wait_for_jobs(app.db, 1)
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert job.reply_message_id == str(sent.result["message_id"])


async def test_5xx_and_broken_downloads_are_retried_with_backoff(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    fake.fail("getFile", 502)
    fake.fail("download", 500)
    fake.fail("sendPhoto", 500)
    started = time.monotonic()
    await deliver(app, fake, lofi(fake))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1, timeout=60)
    [job] = await wait_for_jobs(app.db, 1)
    assert job.status == JobStatus.DONE and job.attempts == 4
    assert time.monotonic() - started > 1.5 + 3 + 6  # backoff: ~2, ~4, ~8 s (+-25%)
    assert [c.status for c in fake.calls("sendPhoto")] == [500, 200]
    assert picture_size(fake.sent("sendPhoto")[0]) == (80, 60)


async def test_no_answer_to_the_reply_means_it_is_never_sent_again(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    fake.drop("sendPhoto")
    await deliver(app, fake, lofi(fake))
    [job] = await wait_for_jobs(app.db, 1)
    await asyncio.sleep(1.0)
    assert len(fake.calls("sendPhoto")) == 1
    assert job.status == JobStatus.DONE and job.reply_message_id is None


async def test_a_user_who_blocked_the_bot_is_not_retried_forever(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    fake.fail("sendPhoto", 403, times=10)
    await deliver(app, fake, lofi(fake))
    [job] = await wait_for_jobs(app.db, 1)
    await asyncio.sleep(1.0)
    assert len(fake.calls("sendPhoto")) == 1
    assert job.status == JobStatus.DONE and job.attempts == 1


async def test_the_token_never_reaches_errors_or_messages(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake, JOB_MAX_ATTEMPTS="2")
    fake.fail("download", 404, times=5)
    await deliver(app, fake, lofi(fake))
    [job] = await wait_for_jobs(app.db, 1, timeout=30)
    assert job.status == JobStatus.FAILED
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    for text in (job.error_message or "", fake.sent("sendMessage")[0].params["text"]):
        assert TOKEN_SECRET_PART not in text
    assert "file_path" not in str(job.source) and TOKEN_SECRET_PART not in str(job.source)

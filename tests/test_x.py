"""The X channel end to end in webhook mode: signed deliveries to the real `/webhooks/x` route of
the real app (real SQLite, real filters, real worker), replies checked at the fake X API."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from db.models import JobStatus
from handlers.x.signatures import SIGNATURE_HEADER
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
    finished_job,
    grey_jpeg,
    result_of,
    start_app,
    stored_rows,
    wait_until,
)
from tests.x_payloads import (
    account_activity_dm,
    account_activity_posts,
    activity_dm,
    activity_mention,
    dm_event,
    signed,
)

__all__ = ["fake"]  # a fixture


async def test_crc_answers_the_published_test_vector(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    response = await app.client.get("/webhooks/x", params={"crc_token": "test token"})
    assert response.status == 200
    assert await response.json() == {
        "response_token": "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0="
    }
    assert (await app.client.get("/webhooks/x")).status == 400


async def test_the_crc_answer_cannot_be_used_to_sign_a_forged_delivery(
    make_app: MakeApp, fake: FakeX
) -> None:
    """The CRC answer is HMAC(consumer secret, crc_token), the very signature of a webhook
    body: asking the CRC to "answer" a forged payload would sign it for anyone."""
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    forged = json.dumps(account_activity_posts(fake, post))
    crc = await app.client.get("/webhooks/x", params={"crc_token": forged})
    signature = (await crc.json()).get("response_token", "sha256=none")
    headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
    posted = await app.client.post("/webhooks/x", data=forged, headers=headers)
    assert posted.status == 403  # (answered, the CRC had signed a post nobody sent)
    assert crc.status == 400
    for token in (" {}", "x{y"):  # anything with a brace could be (part of) a JSON object
        assert (await app.client.get("/webhooks/x", params={"crc_token": token})).status == 400
    await asyncio.sleep(0.3)
    assert await stored_rows(app.db) == {"jobs": 0, "events": 0, "users": 0, "results": 0}


async def test_forged_signature_is_refused_and_nothing_is_stored(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    body, headers = signed(account_activity_posts(fake, post), "notTheSecret")
    assert (await app.client.post("/webhooks/x", data=body, headers=headers)).status == 403
    good_body, good_headers = signed(account_activity_posts(fake, post), "apiSecret")
    tampered = good_body.replace(b"lofi", b"lofy")
    assert (await app.client.post("/webhooks/x", data=tampered, headers=good_headers)).status == 403
    unsigned = {"Content-Type": "application/json"}
    assert (await app.client.post("/webhooks/x", data=good_body, headers=unsigned)).status == 403
    await asyncio.sleep(0.3)
    assert await stored_rows(app.db) == {"jobs": 0, "events": 0, "users": 0, "results": 0}
    assert fake.transcript == []


async def test_mention_with_a_photo_gets_one_reply_with_the_filtered_photo(
    make_app: MakeApp, fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi please", photo=grey_jpeg(160, 120))
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert job.status == JobStatus.DONE, job.error_message
    assert (job.operation, job.filter_name) == ("filter", "Lo-Fi")
    [reply] = fake.replies_to(post)
    assert reply["id"] == job.reply_message_id
    assert "Lo-Fi" in reply["text"] and " s" in reply["text"] and "delete" in reply["text"]
    [media_id] = reply["media"]["media_ids"]
    upload = fake.uploads[media_id]
    assert upload["category"] == "tweet_image" and upload["size"] == (160, 120)
    assert "Lo-Fi" in upload["alt_text"]
    [photo] = fake.requests("GET", "/pbs/media/")
    assert photo.query == {"name": "orig"}
    result = await result_of(app.db, job.id)
    assert result is not None and result.gallery
    assert result.author_handle == "alice"
    assert result.post_url == f"https://x.com/i/status/{reply['id']}"
    assert fake.rejected_auth == 0
    for secret in SECRETS:
        assert secret not in caplog.text


async def test_truncated_post_photo_and_large_fallback(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(
        ALICE, f"@{BOT} a long caption about my grandmother #lofi", photo=grey_jpeg()
    )
    photo_path = fake.media[fake.posts[post]["attachments"]["media_keys"][0]]["url"]
    fake.missing_orig.add(photo_path.removeprefix(fake.url))
    assert await deliver(app, account_activity_posts(fake, post, truncated=True)) == 200
    job = await finished_job(app.db, post)
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Lo-Fi"), job.error_message
    asked = [e.query.get("name") for e in fake.requests("GET", "/pbs/media/")]
    assert asked == ["orig", "large"]
    assert len(fake.replies_to(post)) == 1


async def test_mention_replying_to_a_photo_post_uses_that_photo(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    photo_post = fake.add_post(BOB, "grandpa, 1950", photo=grey_jpeg(80, 60))
    mention = fake.add_post(ALICE, f"@bob @{BOT} mayfair", reply_to=photo_post)
    assert await deliver(app, account_activity_posts(fake, mention)) == 200
    job = await finished_job(app.db, mention)
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Mayfair"), job.error_message
    [lookup] = fake.requests("GET", f"/2/tweets/{photo_post}")
    assert lookup.query == {
        "expansions": "attachments.media_keys",
        "media.fields": "url,type,width,height,variants,duration_ms,preview_image_url",
    }
    [reply] = fake.replies_to(mention)
    assert fake.uploads[reply["media"]["media_ids"][0]]["size"] == (80, 60)
    assert fake.replies_to(photo_post) == []
    # The photo's owner may take the result out of the gallery, like the person who asked.
    delete = fake.add_post(BOB, f"@{BOT} delete", reply_to=reply["id"])
    assert await deliver(app, account_activity_posts(fake, delete)) == 200
    await wait_until(lambda: fake.deleted == [reply["id"]])
    assert await result_of(app.db, job.id) is None


async def test_activity_api_mention_media_is_looked_up_and_hashtag_picks_the_filter(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"hey @{BOT} #lofi", photo=grey_jpeg())
    assert await deliver(app, activity_mention(fake, post)) == 200
    job = await finished_job(app.db, post)
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Lo-Fi"), job.error_message
    assert len(fake.requests("GET", f"/2/tweets/{post}")) == 1
    assert len(fake.replies_to(post)) == 1


async def test_dm_with_a_photo_is_fetched_signed_and_answered_by_dm(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    _, url = fake.add_photo(grey_jpeg(), dm=True)
    event = dm_event(fake, ALICE, BOT_ID, "lofi", url)
    assert await deliver(app, account_activity_dm(fake, event)) == 200
    job = await finished_job(app.db, event["id"])
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Lo-Fi"), job.error_message
    [download] = fake.requests("GET", "/ton/")
    assert download.status == 200  # the fake only serves DM photos to a signed request
    [dm] = fake.dms
    assert dm["to"] == ALICE and dm["id"] == job.reply_message_id and "Lo-Fi" in dm["text"]
    assert fake.uploads[dm["attachments"][0]["media_id"]]["category"] == "dm_image"
    result = await result_of(app.db, job.id)
    assert result is not None and not result.gallery and result.post_url is None
    assert fake.created == []


async def test_activity_api_dm_shape(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    _, url = fake.add_photo(grey_jpeg(), dm=True)
    event = dm_event(fake, BOB, BOT_ID, "filter amaro", url)
    assert await deliver(app, activity_dm(fake, event)) == 200
    job = await finished_job(app.db, event["id"])
    assert (job.status, job.filter_name) == (JobStatus.DONE, "Amaro"), job.error_message
    assert [dm["to"] for dm in fake.dms] == [BOB]


async def test_own_dm_echo_own_posts_and_reposts_are_ignored(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    _, url = fake.add_photo(grey_jpeg(), dm=True)
    echo = dm_event(fake, BOT_ID, ALICE, "Lo-Fi · 0.1 s", url)
    assert await deliver(app, account_activity_dm(fake, echo)) == 200
    assert await deliver(app, activity_dm(fake, echo)) == 200
    original = fake.add_post(BOB, f"look @{BOT}", photo=grey_jpeg())
    own = fake.add_post(BOT_ID, "Lo-Fi · 0.1 s", photo=grey_jpeg(), reply_to=original)
    repost = fake.add_post(ALICE, f"RT @bob: look @{BOT}", repost_of=original)
    assert await deliver(app, account_activity_posts(fake, own, repost)) == 200
    await asyncio.sleep(0.5)
    assert await stored_rows(app.db) == {"jobs": 0, "events": 0, "users": 0, "results": 0}
    assert fake.transcript == []


async def test_duplicate_delivery_makes_one_job_and_one_reply(
    make_app: MakeApp, fake: FakeX
) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    payload = account_activity_posts(fake, post)
    statuses = await asyncio.gather(*(deliver(app, payload) for _ in range(4)))
    assert statuses == [200] * 4
    await finished_job(app.db, post)
    assert await deliver(app, payload) == 200
    assert await deliver(app, activity_mention(fake, post)) == 200
    await asyncio.sleep(1.0)
    assert len(fake.replies_to(post)) == 1
    assert (await stored_rows(app.db))["jobs"] == 1


async def test_mention_without_a_photo_gets_one_hint_a_day(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    first = fake.add_post(ALICE, f"@{BOT} hello?")
    second = fake.add_post(ALICE, f"@{BOT} hello??")
    assert await deliver(app, account_activity_posts(fake, first)) == 200
    await wait_until(lambda: len(fake.replies_to(first)) == 1)
    assert await deliver(app, account_activity_posts(fake, second, first)) == 200
    await asyncio.sleep(0.5)
    assert [len(fake.replies_to(p)) for p in (first, second)] == [1, 0]
    assert "photo" in fake.replies_to(first)[0]["text"]
    assert "media" not in fake.replies_to(first)[0]


async def test_unknown_filter_is_answered_with_suggestions(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake)
    post = fake.add_post(ALICE, f"@{BOT} /filter lofy", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    await wait_until(lambda: len(fake.replies_to(post)) == 1)
    assert "Lo-Fi" in fake.replies_to(post)[0]["text"]
    assert (await stored_rows(app.db))["jobs"] == 0


async def test_blocked_user_is_ignored(make_app: MakeApp, fake: FakeX) -> None:
    from sqlalchemy import update

    from db.jobs import upsert_user
    from db.models import User

    app = await start_app(make_app, fake)
    async with app.db.sessions.begin() as session:
        user = await upsert_user(session, "x", ALICE, "alice")
        await session.execute(update(User).where(User.id == user.id).values(blocked=True))
    post = fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg())
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    await asyncio.sleep(0.5)
    assert (await stored_rows(app.db))["jobs"] == 0
    assert fake.transcript == []


async def test_user_over_the_hourly_limit_is_told_once(make_app: MakeApp, fake: FakeX) -> None:
    app = await start_app(make_app, fake, USER_JOBS_PER_HOUR="1")
    posts = [fake.add_post(ALICE, f"@{BOT} lofi", photo=grey_jpeg()) for _ in range(3)]
    for post in posts:
        assert await deliver(app, account_activity_posts(fake, post)) == 200
    await finished_job(app.db, posts[0])
    await wait_until(lambda: len(fake.replies_to(posts[1])) == 1)
    await asyncio.sleep(0.5)
    assert [len(fake.replies_to(p)) for p in posts] == [1, 1, 0]
    assert "limit" in fake.replies_to(posts[1])[0]["text"]
    assert "media" not in fake.replies_to(posts[1])[0]
    assert await deliver(app, account_activity_posts(fake, posts[1])) == 200  # re-delivered
    await asyncio.sleep(0.3)
    assert len(fake.replies_to(posts[1])) == 1 and (await stored_rows(app.db))["jobs"] == 1

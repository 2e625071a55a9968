"""Videos and animated GIFs on X end to end: signed webhook deliveries to the real app (real
SQLite, real models, real PyAV), the best MP4 variant fetched from the fake's video host, the
result uploaded in chunks and polled until X has processed it, checked where the fake received
it (decoded again: codec, frames, duration, sound); a failed processing reported once, a clip
over a limit refused at intake, duplicates and restarts answered once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from db.models import InputKind, JobStatus
from db.results import get_result_for_job
from tests.clip_helpers import grey, grey_video
from tests.conftest import MakeApp
from tests.fake_x import FakeX, Processing
from tests.video_builders import panning, write_video
from tests.x_helpers import (
    ALICE,
    BOB,
    BOT,
    BOT_ID,
    deliver,
    fake,
    find_job,
    finished_job,
    start_app,
    stored_rows,
)
from tests.x_payloads import account_activity_dm, account_activity_posts, dm_event

__all__ = ["fake"]  # a fixture

STEPS = [
    Processing("pending", check_after_secs=1),
    Processing("in_progress", check_after_secs=1, progress_percent=60),
    Processing("succeeded", progress_percent=100),
]


def upload_steps(fake: FakeX, media_id: str) -> list[str]:
    """The upload's requests in order, shortened: INIT, APPEND n, FINALIZE, STATUS."""
    names = {
        "/2/media/upload/initialize": "INIT",
        f"/2/media/upload/{media_id}/append": "APPEND",
        f"/2/media/upload/{media_id}/finalize": "FINALIZE",
        "/2/media/upload": "STATUS",
    }
    return [names[e.path] for e in fake.transcript if e.path in names]


async def test_a_mention_with_a_video_is_answered_with_the_colourised_video(
    make_app: MakeApp, fake: FakeX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.x.uploads.CHUNK_BYTES", 16 * 1024)
    app = await start_app(make_app, fake)
    fake.processing = list(STEPS)
    clip = grey_video(tmp_path / "in.mp4", frames=30, size=(96, 64), audio=True)
    key, _ = fake.add_video(clip.read_bytes())
    post = fake.add_post(ALICE, f"@{BOT} colourise this please", media_key=key)
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    assert job.input_kind == InputKind.VIDEO and job.attempts == 1
    [reply] = fake.replies_to(post)
    assert reply["id"] == job.reply_message_id
    assert "Colourised" in reply["text"] and "delete" in reply["text"]
    [media_id] = reply["media"]["media_ids"]
    upload = fake.uploads[media_id]
    assert (upload["category"], upload["media_type"]) == ("tweet_video", "video/mp4")
    uploaded = upload["clip"]
    assert (uploaded.codec, uploaded.pix_fmt, uploaded.frames) == ("h264", "yuv420p", 30)
    assert abs(uploaded.duration - 3.0) < 0.05 and uploaded.audio_codec == "aac"
    assert (uploaded.width, uploaded.height) == (96, 64)
    steps = upload_steps(fake, media_id)
    appends = steps.count("APPEND")
    assert appends == -(-uploaded.size // (16 * 1024)) > 1  # in chunks
    assert steps == ["INIT", *["APPEND"] * appends, "FINALIZE", "STATUS", "STATUS"]
    assert fake.early_status_checks == 0  # check_after_secs honoured every time
    assert upload["alt_text"] == "The video colourised by AI. The colours are AI-generated guesses."
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and result.media_kind == InputKind.VIDEO and result.gallery
    assert result.post_url == f"https://x.com/i/status/{reply['id']}"
    assert fake.rejected_auth == 0


async def test_the_best_mp4_variant_that_fits_is_fetched_and_a_smaller_one_if_it_does_not(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    app = await start_app(make_app, fake, MAX_VIDEO_BYTES="300000")
    small = grey_video(tmp_path / "small.mp4", frames=20, size=(64, 48), audio=False)
    rng = np.random.default_rng(5)
    noise = [np.repeat(rng.integers(0, 255, (240, 320, 1), np.uint8), 3, axis=2) for _ in range(20)]
    heavy = write_video(tmp_path / "heavy.mp4", noise, fps=10)
    assert heavy.stat().st_size > 300_000  # the 800 kbit/s variant is bigger than it said
    variants = [
        (5_000_000, heavy.read_bytes()),  # ~1.4 MB by its bit rate: never fetched
        (800_000, heavy.read_bytes()),  # ~230 kB by its bit rate: tried, too big
        (256_000, small.read_bytes()),
    ]
    key, _ = fake.add_video(small.read_bytes(), variants=variants, duration_ms=2000)
    post = fake.add_post(ALICE, f"@{BOT} colourise", media_key=key)
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    fetched = [e.path for e in fake.requests("GET", "/video/")]
    assert [path.split("/vid/")[1].split("/")[0] for path in fetched] == ["800000", "256000"]
    assert not any(path.endswith(".m3u8") for path in fetched)
    [reply] = fake.replies_to(post)
    assert fake.uploads[reply["media"]["media_ids"][0]]["clip"].frames == 20


async def test_an_animated_gif_is_answered_with_a_gif(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    """X serves an animated GIF as a soundless MP4; the answer is uploaded as a GIF."""
    app = await start_app(make_app, fake)
    mp4 = write_video(tmp_path / "gif.mp4", grey(panning(12, 64, 48)), fps=10)
    key, _ = fake.add_video(mp4.read_bytes(), gif=True)
    post = fake.add_post(ALICE, f"@{BOT} lofi", media_key=key)
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    assert (job.operation, job.filter_name) == ("filter", "Lo-Fi")
    [reply] = fake.replies_to(post)
    upload = fake.uploads[reply["media"]["media_ids"][0]]
    assert (upload["category"], upload["media_type"]) == ("tweet_gif", "image/gif")
    assert (upload["clip"].codec, upload["clip"].frames) == ("gif", 12)
    assert upload["alt_text"].startswith("The GIF colourised by AI, then with the Lo-Fi filter.")
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and result.media_kind == InputKind.GIF


@pytest.mark.parametrize("gif", [False, True])
async def test_a_dm_with_a_video_or_gif_is_answered_by_dm(
    make_app: MakeApp, fake: FakeX, tmp_path: Path, gif: bool
) -> None:
    app = await start_app(make_app, fake)
    clip = grey_video(tmp_path / "dm.mp4", frames=10, size=(64, 48), audio=not gif)
    _, media = fake.add_video(clip.read_bytes(), gif=gif, dm=True)
    event = dm_event(fake, ALICE, BOT_ID, "colourise", None, video=media)
    assert await deliver(app, account_activity_dm(fake, event)) == 200
    job = await finished_job(app.db, event["id"], timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    [dm] = fake.dms
    assert dm["to"] == ALICE and "Colourised" in dm["text"]
    upload = fake.uploads[dm["attachments"][0]["media_id"]]
    assert upload["category"] == ("dm_gif" if gif else "dm_video")
    assert upload["clip"].frames == 10
    assert upload["clip"].audio_codec == (None if gif else "aac")
    [download] = fake.requests("GET", "/video/dm_video/")
    assert download.status == 200  # DM media need the OAuth signature: it was signed
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and not result.gallery  # DMs stay private


async def test_a_reply_to_a_post_with_a_video_colourises_that_video(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    """A v1.1 reply carries no media of the post it answers: the post is looked up, turns
    out to hold a video, and the job goes on as a clip job."""
    app = await start_app(make_app, fake)
    clip = grey_video(tmp_path / "bob.mp4", frames=10, size=(64, 48))
    key, _ = fake.add_video(clip.read_bytes())
    original = fake.add_post(BOB, "my grandparents, 1951", media_key=key)
    ask = fake.add_post(ALICE, f"@bob @{BOT} colourise", reply_to=original)
    assert await deliver(app, account_activity_posts(fake, ask)) == 200
    job = await finished_job(app.db, ask, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    assert job.input_kind == InputKind.VIDEO and job.attempts == 2
    [lookup] = fake.requests("GET", f"/2/tweets/{original}")
    assert "variants" in lookup.query["media.fields"]
    [reply] = fake.replies_to(ask)
    assert fake.uploads[reply["media"]["media_ids"][0]]["clip"].frames == 10


async def test_a_failed_processing_is_reported_once_and_nothing_is_kept(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    app = await start_app(make_app, fake)
    fake.processing = [
        Processing("pending", check_after_secs=1),
        Processing("failed", error={"code": 1, "name": "InvalidMedia", "message": "Bad video"}),
    ]
    clip = grey_video(tmp_path / "in.mp4", frames=10, size=(64, 48))
    key, _ = fake.add_video(clip.read_bytes())
    post = fake.add_post(ALICE, f"@{BOT} colourise", media_key=key)
    assert await deliver(app, account_activity_posts(fake, post)) == 200
    job = await finished_job(app.db, post, timeout=120)
    assert (job.status, job.error_kind, job.attempts) == (JobStatus.FAILED, "x_media_failed", 1)
    await asyncio.sleep(0.5)
    [answer] = fake.replies_to(post)
    assert "X couldn't process the colourised clip" in answer["text"]
    assert "media" not in answer and answer["id"] == job.reply_message_id
    assert len(fake.requests("POST", "/2/media/upload/initialize")) == 1  # not retried
    assert await get_result_for_job(app.db, job.id) is None  # withdrawn: nothing was posted


async def test_a_video_over_the_length_limit_is_refused_at_intake_once(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    app = await start_app(make_app, fake)
    clip = grey_video(tmp_path / "in.mp4", frames=10, size=(64, 48))
    key, _ = fake.add_video(clip.read_bytes(), duration_ms=90_000)
    posts = [fake.add_post(ALICE, f"@{BOT} colourise", media_key=key) for _ in range(2)]
    assert await deliver(app, account_activity_posts(fake, *posts)) == 200
    await asyncio.sleep(0.5)
    [answer] = fake.replies_to(posts[0])
    assert "too long (90 s, 30 s over the 60 s limit)" in answer["text"]
    assert fake.replies_to(posts[1]) == []  # one answer a day, whatever the flood
    assert fake.requests("GET", "/video/") == []
    assert (await stored_rows(app.db))["jobs"] == 0


async def test_the_same_video_mention_twice_is_one_job_and_one_reply(
    make_app: MakeApp, fake: FakeX, tmp_path: Path
) -> None:
    app = await start_app(make_app, fake)
    clip = grey_video(tmp_path / "in.mp4", frames=10, size=(64, 48))
    key, _ = fake.add_video(clip.read_bytes())
    post = fake.add_post(ALICE, f"@{BOT} colourise", media_key=key)
    payload = account_activity_posts(fake, post)
    statuses = await asyncio.gather(*(deliver(app, payload) for _ in range(3)))
    assert statuses == [200] * 3
    job = await finished_job(app.db, post, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    assert await deliver(app, payload) == 200
    await asyncio.sleep(0.5)
    assert (await stored_rows(app.db))["jobs"] == 1
    assert len(fake.replies_to(post)) == 1
    assert len(fake.requests("POST", "/2/media/upload/initialize")) == 1


@pytest.mark.parametrize("stalled_at", ["video download", "reply post"])
async def test_a_restart_mid_clip_gives_exactly_one_reply(
    make_app: MakeApp, fake: FakeX, tmp_path: Path, stalled_at: str
) -> None:
    if stalled_at == "video download":
        stall = fake.stall("GET", r"^/video/", after=False)
    else:  # the post is published but the process stops before it hears back
        stall = fake.stall("POST", r"^/2/tweets$", after=True)
    first = await start_app(make_app, fake, SHUTDOWN_TIMEOUT_S="0")
    clip = grey_video(tmp_path / "in.mp4", frames=10, size=(64, 48))
    key, _ = fake.add_video(clip.read_bytes())
    post = fake.add_post(ALICE, f"@{BOT} colourise", media_key=key)
    assert await deliver(first, account_activity_posts(fake, post)) == 200
    await asyncio.wait_for(stall.reached.wait(), 120)
    await first.client.close()  # stop: the running job goes back to the queue
    stall.release.set()
    job = await find_job(first.db, post)
    assert job is not None and job.status == JobStatus.QUEUED
    second = await start_app(
        make_app,
        fake,
        COLORBOT_DATA_DIR=str(first.services.settings.data_dir),
        DATABASE_URL=first.services.settings.database_url,
    )
    job = await finished_job(second.db, post, timeout=120)
    assert job.status == JobStatus.DONE, job.error_message
    await asyncio.sleep(0.5)
    assert len(fake.replies_to(post)) == 1
    uploads = fake.requests("POST", "/2/media/upload/initialize")
    assert len(uploads) == 1  # the clip was uploaded once

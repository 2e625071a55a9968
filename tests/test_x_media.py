"""Videos and GIFs on X: finding them in deliveries, choosing an MP4 variant (pure), and the
v2 chunked upload against the fake X API (INIT, APPEND in chunks, FINALIZE, STATUS polling)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.settings import XSettings
from core.errors import RetryLater
from handlers.x.api import XApi
from handlers.x.commands import HINT, JOB, decide
from handlers.x.events import parse_mentions_page, parse_webhook, video_of_post
from handlers.x.media import GIF, VIDEO, Variant, VideoRef, best_variant, video_of_media
from handlers.x.uploads import MediaProcessingFailedError, clip_category, upload_clip
from tests.fake_x import FakeX, Processing
from tests.video_builders import AudioSpec, panning, write_video
from tests.x_helpers import BOT_ID, CREDENTIALS, fake

__all__ = ["fake"]

MP4 = "https://video.twimg.com/ext_tw_video/1/pu/vid/{}.mp4"
V1_VIDEO = {
    "type": "video",
    "media_url_https": "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/a.jpg",
    "video_info": {
        "aspect_ratio": [16, 9],
        "duration_millis": 10_000,
        "variants": [
            {"content_type": "application/x-mpegURL", "url": "https://video.twimg.com/pl.m3u8"},
            {"bitrate": 256_000, "content_type": "video/mp4", "url": MP4.format("low")},
            {"bitrate": 2_176_000, "content_type": "video/mp4", "url": MP4.format("high")},
            {"bitrate": 832_000, "content_type": "video/mp4", "url": MP4.format("mid")},
        ],
    },
}


def test_a_video_is_its_mp4_variants_best_first_and_the_playlist_is_skipped() -> None:
    video = video_of_media(V1_VIDEO)
    assert video is not None and video.kind == VIDEO and video.duration_s == 10.0
    assert [v.bit_rate for v in video.variants] == [2_176_000, 832_000, 256_000]
    assert VideoRef.from_source(video.as_source()) == video
    gif = video_of_media(
        {
            "type": "animated_gif",
            "variants": [{"bit_rate": 0, "content_type": "video/mp4", "url": MP4.format("g")}],
        }
    )
    assert gif is not None and gif.kind == GIF and gif.duration_ms is None
    assert video_of_media({"type": "photo", "url": "https://pbs.twimg.com/a.jpg"}) is None
    only_hls = {"type": "video", "variants": [{"content_type": "application/x-mpegURL"}]}
    assert video_of_media(only_hls) is None


def test_the_best_variant_is_the_highest_bit_rate_that_fits_the_limit() -> None:
    video = video_of_media(V1_VIDEO)
    assert video is not None
    # 10 s: 2.18 Mbit/s is ~3.1 MB with the margin, 832 kbit/s ~1.2 MB, 256 kbit/s ~0.4 MB
    assert [v.bit_rate for v in best_variant(video, 50_000_000)] == [2_176_000, 832_000, 256_000]
    assert [v.bit_rate for v in best_variant(video, 2_000_000)] == [832_000, 256_000]
    assert [v.bit_rate for v in best_variant(video, 100_000)] == [256_000]  # still tried
    unknown = VideoRef(VIDEO, (Variant(900, "a"), Variant(100, "b")), None)
    assert best_variant(unknown, 10) == list(unknown.variants)  # no duration: no estimate


def test_posts_and_dms_with_a_video_become_clip_jobs_and_replies_look_up_the_parent() -> None:
    post = {
        "id_str": "50",
        "text": "@colorbot lofi",
        "user": {"id_str": "7", "screen_name": "alice"},
        "entities": {"user_mentions": [{"id_str": BOT_ID, "indices": [0, 9]}]},
        "extended_entities": {"media": [V1_VIDEO]},
    }
    [item] = parse_webhook({"for_user_id": BOT_ID, "tweet_create_events": [post]}, BOT_ID)
    assert item.video is not None and item.photo_url is None and item.lookup_post_id is None
    assert decide(item, BOT_ID).action == JOB and decide(item, BOT_ID).filter_name == "Lo-Fi"
    dm = {
        "type": "message_create",
        "id": "77",
        "message_create": {
            "sender_id": "7",
            "target": {"recipient_id": BOT_ID},
            "message_data": {"text": "", "attachment": {"type": "media", "media": V1_VIDEO}},
        },
    }
    [message] = parse_webhook(
        {"for_user_id": BOT_ID, "direct_message_events": [dm], "users": {}}, BOT_ID
    )
    assert message.video == item.video and decide(message, BOT_ID).action == JOB
    page = {
        "data": [
            {
                "id": "60",
                "author_id": "7",
                "text": "@colorbot @bob colourise",
                "referenced_tweets": [{"type": "replied_to", "id": "59"}],
                "entities": {"mentions": [{"start": 0, "end": 9, "id": BOT_ID}]},
            }
        ],
        "includes": {
            "tweets": [{"id": "59", "author_id": "8", "attachments": {"media_keys": ["7_1"]}}],
            "media": [
                {
                    "media_key": "7_1",
                    "type": "video",
                    "duration_ms": 4000,
                    "variants": [
                        {"bit_rate": 632_000, "content_type": "video/mp4", "url": MP4.format("r")}
                    ],
                }
            ],
        },
    }
    [reply] = parse_mentions_page(page, BOT_ID)
    assert reply.video is not None and reply.video.variants[0].url == MP4.format("r")
    assert reply.photo_owner_id == "8"
    looked_up = {"data": page["includes"]["tweets"][0], "includes": page["includes"]}
    assert video_of_post(looked_up) == reply.video
    without_variants = {**V1_VIDEO, "video_info": {"variants": []}}
    post["extended_entities"] = {"media": [without_variants]}
    [bare] = parse_webhook({"for_user_id": BOT_ID, "tweet_create_events": [post]}, BOT_ID)
    assert decide(bare, BOT_ID).action == HINT


def x_settings(fake: FakeX) -> XSettings:
    return XSettings(
        consumer_key=CREDENTIALS.consumer_key,
        consumer_secret=CREDENTIALS.consumer_secret,
        access_token=CREDENTIALS.token,
        access_token_secret=CREDENTIALS.token_secret,
        bot_user_id=BOT_ID,
        mode="webhook",
        api_url=fake.url,
        media_hosts=frozenset({"127.0.0.1"}),
        poll_interval_s=60,
    )


@pytest.fixture
async def api(fake: FakeX) -> AsyncIterator[XApi]:
    async with aiohttp.ClientSession() as session:
        yield XApi(session, x_settings(fake), backoff_s=0.01)


class Sleeps:
    """Stands in for asyncio.sleep in the polling loop: records the waits it was asked for
    and lets the fake's clock believe they passed."""

    def __init__(self, fake: FakeX) -> None:
        self.fake = fake
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        for upload in self.fake.uploads.values():
            if "not_before" in upload:
                upload["not_before"] -= seconds


async def test_a_clip_is_uploaded_in_chunks_and_polled_until_it_succeeds(
    api: XApi, fake: FakeX, tmp_path: Path
) -> None:
    clip = write_video(tmp_path / "c.mp4", panning(30, 160, 96), fps=10, audio=AudioSpec())
    fake.processing = [
        Processing("pending", check_after_secs=2),
        Processing("in_progress", check_after_secs=3, progress_percent=40),
        Processing("succeeded", progress_percent=100),
    ]
    sleeps = Sleeps(fake)
    media_id = await upload_clip(
        api,
        clip,
        media_type="video/mp4",
        category=clip_category(gif=False, dm=False),
        sleep=sleeps,
        chunk_bytes=16 * 1024,
    )
    upload = fake.uploads[media_id]
    assert upload["state"] == "succeeded" and upload["category"] == "tweet_video"
    appends = fake.requests("POST", f"/2/media/upload/{media_id}/append")
    size = clip.stat().st_size
    assert len(appends) == -(-size // (16 * 1024)) > 1
    assert [a.body["segment_index"] for a in appends] == [str(i) for i in range(len(appends))]
    assert upload["clip"].codec == "h264" and upload["clip"].frames == 30
    assert upload["clip"].audio_codec == "aac"
    assert sleeps.waits == [2.0, 3.0]  # as check_after_secs asked, once per answer
    assert upload["status_checks"] == 2 and fake.early_status_checks == 0
    steps = [e.path for e in fake.transcript]
    assert steps[0] == "/2/media/upload/initialize"
    assert steps[-3:] == [
        f"/2/media/upload/{media_id}/finalize",
        "/2/media/upload",
        "/2/media/upload",
    ]
    assert fake.rejected_auth == 0


async def test_a_failed_processing_state_raises_one_user_error(
    api: XApi, fake: FakeX, tmp_path: Path
) -> None:
    clip = write_video(tmp_path / "c.mp4", panning(10, 64, 48), fps=10)
    fake.processing = [
        Processing("in_progress", check_after_secs=1),
        Processing(
            "failed", error={"code": 1, "name": "InvalidMedia", "message": "Unsupported video"}
        ),
    ]
    with pytest.raises(MediaProcessingFailedError) as raised:
        await upload_clip(
            api, clip, media_type="video/mp4", category="dm_video", sleep=Sleeps(fake)
        )
    assert "Unsupported video" in (raised.value.detail or "")
    assert "couldn't process" in raised.value.user_message


async def test_processing_that_never_ends_is_tried_again_later(
    api: XApi, fake: FakeX, tmp_path: Path
) -> None:
    clip = write_video(tmp_path / "c.mp4", panning(10, 64, 48), fps=10)
    fake.processing = [Processing("in_progress", check_after_secs=5)]
    with pytest.raises(RetryLater):
        await upload_clip(
            api,
            clip,
            media_type="video/mp4",
            category="tweet_video",
            sleep=Sleeps(fake),
            processing_wait_s=12,
        )

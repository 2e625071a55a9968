"""Video and GIF jobs through the real app and its worker (web channel, real SQLite, real
models, real PyAV): the original and the result in the media store, progress on the job, a
poster frame, one result, nothing left in the scratch folder; a still GIF done as a photo; a
bad clip answered once; VIDEO_CONCURRENCY keeping photos flowing while a clip runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.media import MediaStore
from bot.scheduler import housekeeping_tasks
from bot.services import SERVICES, Services
from db import jobs as queue
from db.engine import Database
from db.models import InputKind, Job, JobStatus, Result
from db.results import get_result_for_job
from handlers.platform import Reply, VideoProgress
from handlers.web import WebChannel
from tests.clip_helpers import enqueue_clip, grey_gif, grey_video, leftovers, wait_finished
from tests.conftest import MakeApp
from tests.service_process import enqueue_web_jobs
from tests.video_builders import gif_delays_and_loop, read_clip, scene


async def results_of(db: Database, job_id: int) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Result).where(Result.job_id == job_id)
        )
    return int(count or 0)


class RecordingWeb(WebChannel):
    """The web channel, remembering what the runner hands it (progress, the reply)."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.progress: list[VideoProgress] = []
        self.replies: list[Reply] = []

    async def report_progress(self, job: Job, progress: VideoProgress) -> None:
        self.progress.append(progress)

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        self.replies.append(reply)
        return f"web-{job.id}"


async def test_a_video_job_stores_original_result_and_poster_and_reports_progress(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], intake=False)
    services = app.client.app[SERVICES]
    channel = RecordingWeb(services)
    services.channels["web"] = channel
    clip = grey_video(tmp_path / "in.mp4", frames=40, fps=10)
    job = await enqueue_clip(app.db, services.media, clip, event_id="video-1")
    done = await wait_finished(app.db, job.id)
    assert done.status == JobStatus.DONE, done.error_message
    assert done.progress == 1.0 and done.eta_seconds == 0.0
    assert done.replied_at is not None and done.reply_message_id == f"web-{job.id}"

    result = await get_result_for_job(app.db, job.id)
    assert result is not None
    assert (result.media_kind, result.mime_type) == (InputKind.VIDEO, "video/mp4")
    assert result.duration_seconds is not None and abs(result.duration_seconds - 4.0) < 0.05
    assert result.input_media == job.input_media and result.media.endswith(".mp4")
    facts = read_clip(services.media.path(result.media))
    assert (facts.codec, facts.pix_fmt, facts.frames) == ("h264", "yuv420p", 40)
    assert facts.audio_codec == "aac"  # the sound is kept
    assert (facts.width, facts.height) == (result.width, result.height) == (96, 64)
    assert float(np.abs(facts.bgr[20].astype(int) - facts.bgr[20][..., ::-1]).mean()) > 1
    assert result.poster is not None and result.poster.endswith(".jpg")
    poster = cv2.imdecode(
        np.frombuffer(services.media.read(result.poster), np.uint8), cv2.IMREAD_COLOR
    )
    assert poster.shape == (64, 96, 3)

    [reply] = channel.replies
    assert reply.clip is not None and reply.clip.kind == "mp4"
    assert reply.clip.path == services.media.path(result.media)
    assert (reply.clip.frames, reply.clip.has_audio, reply.clip.scaled_down) == (40, True, False)
    assert reply.image == services.media.read(result.poster)
    fractions = [p.fraction for p in channel.progress]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert leftovers(services.media) == []
    assert await results_of(app.db, job.id) == 1


async def test_a_gif_comes_back_a_gif_with_its_frames_and_delays(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], intake=False)
    media = app.client.app[SERVICES].media
    gif = grey_gif(tmp_path / "in.gif", frames=8)
    job = await enqueue_clip(
        app.db,
        media,
        gif,
        event_id="gif-1",
        kind=InputKind.GIF,
        operation="filter",
        filter_name="Lo-Fi",
    )
    done = await wait_finished(app.db, job.id)
    assert done.status == JobStatus.DONE, done.error_message
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and (result.media_kind, result.mime_type) == ("gif", "image/gif")
    assert result.filter_name == "Lo-Fi" and result.duration_seconds == pytest.approx(0.8)
    delays, loop = gif_delays_and_loop(media.path(result.media))
    assert delays == [10] * 8 and loop == 0
    assert leftovers(media) == []


async def test_a_video_job_whose_file_is_a_still_gif_is_done_as_a_photo(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], intake=False)
    media = app.client.app[SERVICES].media
    still = tmp_path / "still.gif"
    cv2.imwrite(str(tmp_path / "still.png"), scene(80, 60))
    Image.open(tmp_path / "still.png").save(still, "GIF")
    job = await enqueue_clip(app.db, media, still, event_id="still-1", kind=InputKind.GIF)
    done = await wait_finished(app.db, job.id)
    assert done.status == JobStatus.DONE, done.error_message
    assert done.input_kind == InputKind.PHOTO
    result = await get_result_for_job(app.db, job.id)
    assert result is not None and result.media_kind == "photo" and result.media.endswith(".jpg")
    assert result.poster is None and result.duration_seconds is None


async def test_a_file_that_is_not_a_video_fails_once_with_a_friendly_message(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(channels=["web"], intake=False)
    services = app.client.app[SERVICES]
    channel = RecordingWeb(services)
    services.channels["web"] = channel
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video, only words\n" * 40)
    job = await enqueue_clip(app.db, services.media, text, event_id="text-1")
    done = await wait_finished(app.db, job.id)
    assert done.status == JobStatus.FAILED and done.attempts == 1
    assert done.error_kind == "bad_video"
    assert done.error_message is not None and "isn't a video" in done.error_message
    assert channel.replies == [] and await results_of(app.db, job.id) == 0
    assert leftovers(services.media) == []


async def test_clips_run_one_at_a_time_and_photos_flow_meanwhile(
    make_app: MakeApp, tmp_path: Path
) -> None:
    """One worker loop, one clip slot: the loop hands each clip to the slot and goes on with
    photos; the second clip waits for the first to finish, the photos do not."""
    app = await make_app(
        channels=["web"], intake=False, WORKER_CONCURRENCY="1", VIDEO_CONCURRENCY="1"
    )
    media = app.client.app[SERVICES].media
    first = await enqueue_clip(
        app.db, media, grey_video(tmp_path / "a.mp4", frames=60, size=(160, 120)), event_id="a"
    )
    second = await enqueue_clip(
        app.db, media, grey_video(tmp_path / "b.mp4", frames=10, seed=1), event_id="b"
    )
    await enqueue_web_jobs(app.db, media, 4, prefix="photo")
    first_done = await wait_finished(app.db, first.id)
    second_done = await wait_finished(app.db, second.id)
    async with app.db.sessions() as session:
        photos = list(
            (await session.scalars(select(Job).where(Job.input_kind == InputKind.PHOTO))).all()
        )
    for job in (first_done, second_done, *photos):
        assert job.status == JobStatus.DONE, job.error_message
    assert first_done.finished_at is not None and second_done.started_at is not None
    assert second_done.started_at >= first_done.finished_at  # never two clips at once
    assert len(photos) == 4
    for photo in photos:  # none waited for the clip
        assert photo.finished_at is not None and photo.finished_at < first_done.finished_at


async def test_claiming_photos_only_skips_clips_at_the_head_of_the_queue(
    database: Database, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL; a claim clears the progress of an earlier attempt."""
    media = MediaStore(tmp_path / "media")
    gif = grey_gif(tmp_path / "g.gif")
    clip = await enqueue_clip(database, media, gif, event_id="g", kind=InputKind.GIF)
    await enqueue_web_jobs(database, media, 1, prefix="p")
    photo = await queue.claim_job(database, "w", 30, clips=False)
    assert photo is not None and photo.input_kind == InputKind.PHOTO
    assert await queue.claim_job(database, "w", 30, clips=False) is None
    claimed = await queue.claim_job(database, "w", 30)
    assert claimed is not None and claimed.id == clip.id
    assert await queue.record_progress(database, clip.id, "w", 0.5, 3.0)
    assert not await queue.record_progress(database, clip.id, "another worker", 0.6, 2.0)
    stored = await queue.get_job(database, clip.id)
    assert stored is not None and (stored.progress, stored.eta_seconds) == (0.5, 3.0)
    await queue.retry_job(database, claimed, "w", delay_seconds=0, reason="test")
    again = await queue.claim_job(database, "w2", 30)
    assert again is not None and again.id == clip.id and again.attempts == 2
    assert (again.progress, again.eta_seconds, again.progress_at) == (None, None, None)


async def test_the_hourly_sweep_removes_scratch_folders_untouched_for_an_hour(
    make_app: MakeApp,
) -> None:
    app = await make_app(channels=["web"], run_worker=False, intake=False)
    services = app.client.app[SERVICES]
    media = services.media
    stored = media.put(b"an original", "mp4")
    abandoned = media.scratch("job-7")
    (abandoned / "input").write_bytes(b"half a download")
    busy = media.scratch("job-8")
    (busy / ".result.mp4.0a1b2c.part").write_bytes(b"being written")
    two_hours_ago = time.time() - 7200
    for path in (abandoned / "input", abandoned, busy, media.path(stored)):
        os.utime(path, (two_hours_ago, two_hours_ago))
    sweep = {t.name: t for t in housekeeping_tasks(services)}["sweep-unreferenced-media"]
    await sweep.run()
    assert not abandoned.exists()
    assert (busy / ".result.mp4.0a1b2c.part").exists()  # written to just now: still at work
    assert not media.exists(stored)  # an unreferenced file as before


def test_put_file_moves_a_finished_file_into_the_store(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    folder = media.scratch("job-1")
    (folder / "result.mp4").write_bytes(b"a whole clip")
    key = media.put_file(folder / "result.mp4", "mp4")
    assert key == MediaStore.key_for(b"a whole clip", "mp4")
    assert media.read(key) == b"a whole clip" and not (folder / "result.mp4").exists()
    (folder / "again.mp4").write_bytes(b"a whole clip")
    assert media.put_file(folder / "again.mp4", "mp4") == key  # already stored: just used
    assert not (folder / "again.mp4").exists()
    assert media.content_type(key) == "video/mp4"
    media.remove_scratch(folder)
    assert not folder.exists() and leftovers(media) == []

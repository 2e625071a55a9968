"""One video or GIF job's work: get the clip as a file, store the original, run the video
engine with progress, store the result and a poster frame, reply once (`bot.delivery`).

Everything in progress lives in the job's own scratch folder (`media/scratch/job-<id>`),
emptied when an attempt starts (so an attempt cut off by a crash leaves nothing behind once
the job runs again) and removed when it ends; files reach the media store only complete,
by a rename. A clip that turns out to be a still picture is done as a photo.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.delivery import deliver
from bot.photo_jobs import process_photo
from bot.services import Services
from core.errors import RetryLater
from db import jobs as queue
from db.models import InputKind, Job
from handlers.platform import ClipReply, Platform, Reply, VideoProgress
from inference.images import encode_jpeg
from inference.video import (
    HEAD_BYTES,
    MediaInfo,
    ProgressCallback,
    VideoOptions,
    VideoResult,
    container_extension,
    poster_frame,
    sniff_file,
)

log = logging.getLogger(__name__)

INPUT_NAME = "input"


def scratch_name(job: Job) -> str:
    return f"job-{job.id}"


async def process_clip(services: Services, channel: Platform, job: Job, worker_id: str) -> None:
    media = services.media
    scratch = await asyncio.to_thread(media.scratch, scratch_name(job))
    try:
        source = await _clip_file(services, channel, job, scratch)
        kind = await asyncio.to_thread(sniff_file, source)
        if kind == "photo":  # e.g. a GIF of one frame: it is done as a photo
            data = await asyncio.to_thread(source.read_bytes)
            await _set_kind(services, job, InputKind.PHOTO)
            await process_photo(services, channel, job, worker_id, data)
            return
        info = await services.video.probe(source)  # VideoError: nothing is stored
        await _set_kind(services, job, info.kind)
        if job.input_media is None:
            await _store_original(services, job, source)
            source = media.path(job.input_media or "")
        await _run(services, channel, job, worker_id, source, info, scratch)
    finally:
        await asyncio.to_thread(media.remove_scratch, scratch)


async def _clip_file(services: Services, channel: Platform, job: Job, scratch: Path) -> Path:
    """The clip as a file: the original already in the media store (stored at intake, or by
    an earlier attempt), else the channel's download into the scratch folder."""
    key = job.input_media
    if key is not None and services.media.exists(key):
        return services.media.path(key)
    target = scratch / INPUT_NAME
    await channel.fetch_clip(job, target, services.video_limits.max_bytes)
    if job.input_media is not None and services.media.exists(job.input_media):
        await asyncio.to_thread(target.unlink, missing_ok=True)  # it landed meanwhile (web)
        return services.media.path(job.input_media)
    job.input_media = None  # the key named a file that is gone: store the fetched one
    return target


async def _store_original(services: Services, job: Job, source: Path) -> None:
    head = await asyncio.to_thread(_read_head, source)
    key = await asyncio.to_thread(services.media.put_file, source, container_extension(head))
    await queue.update_job_fields(services.db, job.id, input_media=key)
    job.input_media = key


async def _set_kind(services: Services, job: Job, kind: str) -> None:
    """What the content says the input is (for the stats, and so a retry goes the same
    way)."""
    if job.input_kind != kind:
        log.info("job %s: the %s is really a %s", job.id, job.input_kind, kind)
        await queue.update_job_fields(services.db, job.id, input_kind=kind)
        job.input_kind = kind


async def _run(
    services: Services,
    channel: Platform,
    job: Job,
    worker_id: str,
    source: Path,
    info: MediaInfo,
    scratch: Path,
) -> None:
    report = progress_reporter(services, channel, job, worker_id)
    await report(VideoProgress(0.0, None, 0, info.frames))
    wanted = channel.clip_output_kind(job)
    output_kind = wanted or ("gif" if info.kind == InputKind.GIF else "mp4")
    output = scratch / f"result.{output_kind}"
    result = await services.video.process(
        source,
        output,
        job.operation,
        job.filter_name,
        options=VideoOptions(output_kind=wanted, max_output_bytes=channel.clip_upload_limit(job)),
        on_progress=report,
        info=info,
    )
    kind = InputKind.GIF if result.kind == "gif" else InputKind.VIDEO
    services.metrics.clip_work.labels(job.operation, kind).observe(result.seconds)
    compute = services.pipeline.compute
    poster = await compute.run(poster_frame, result.path, services.video_limits)
    poster_jpeg = await compute.run(encode_jpeg, poster)
    poster_key = await asyncio.to_thread(services.media.put, poster_jpeg, "jpg")
    media_key = await asyncio.to_thread(services.media.put_file, result.path, result.kind)
    result_id = queue.new_public_id()
    reply = clip_reply(services, result, info, media_key, poster_jpeg, result_id)
    stored = queue.NewResult(
        media=media_key,
        input_media=job.input_media,
        width=result.width,
        height=result.height,
        bytes=result.size_bytes,
        gallery=job.share or channel.shares_by_default(job),
        public_id=result_id,
        media_kind=kind,
        mime_type=result.mime_type,
        duration_seconds=result.duration,
        poster=poster_key,
    )
    await deliver(
        services, channel, job, worker_id, reply, stored, inference_seconds=result.seconds
    )
    services.metrics.footage.labels(kind).inc(result.duration)


def clip_reply(
    services: Services,
    result: VideoResult,
    info: MediaInfo,
    media_key: str,
    poster_jpeg: bytes,
    result_id: str,
) -> Reply:
    return Reply(
        image=poster_jpeg,
        media_key=media_key,
        width=result.width,
        height=result.height,
        operation=result.operation,
        filter_name=result.filter_name,
        colourised=result.colourised,
        had_colour=result.had_colour,
        seconds=result.seconds,
        result_id=result_id,
        clip=ClipReply(
            kind=result.kind,
            path=services.media.path(media_key),
            mime_type=result.mime_type,
            size_bytes=result.size_bytes,
            duration=result.duration,
            fps=result.fps,
            frames=result.frames,
            has_audio=result.has_audio,
            scaled_down=result.scaled_down,
            source_width=info.width,
            source_height=info.height,
            reencoded_for_size=result.reencoded_for_size,
        ),
    )


def progress_reporter(
    services: Services, channel: Platform, job: Job, worker_id: str
) -> ProgressCallback:
    """Each report is stored on the job (status polls, a restarted worker) and handed to the
    channel; a job whose lease was lost stops here (the engine removes its partial output)."""

    async def report(progress: VideoProgress) -> None:
        await services.intake.make_way()
        held = await queue.record_progress(
            services.db, job.id, worker_id, progress.fraction, progress.eta_seconds
        )
        if not held:
            raise queue.LeaseLostError(job.id)
        job.progress, job.eta_seconds = progress.fraction, progress.eta_seconds
        try:
            await channel.report_progress(job, progress)
        except RetryLater as exc:  # the clip goes on; the next report may get through
            log.warning("job %s: progress not shown (%s)", job.id, exc.reason)

    return report


def _read_head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(HEAD_BYTES)

"""The X channel's side of clip jobs: fetching a post's or DM's video (the best MP4 variant
within the byte limit, from an allowlisted host, signed for DMs), the form and size the
result must have, and uploading it in chunks (`handlers.x.uploads`).

An animated GIF is answered with a GIF (X shows one as a GIF only when a GIF is uploaded, with
media_category tweet_gif / dm_gif, up to 15 MB); a video with an MP4 (tweet_video / dm_video).
A mention whose media had to be looked up by id is queued as a photo job; when the post turns
out to hold a video, the job becomes a clip job and is run again (`become_clip`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from bot.services import Services
from core.errors import RetryLater, UserError
from db.jobs import update_job_fields
from db.models import InputKind, Job
from handlers.platform import ClipReply
from handlers.x.api import XApi
from handlers.x.events import DM
from handlers.x.media import GIF, VideoRef, best_variant
from handlers.x.uploads import clip_category, clip_limits, upload_clip
from inference.video import VideoError

log = logging.getLogger(__name__)


class NoVideoError(UserError):
    kind = "no_video"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "I couldn't find that video any more; please send it again.", detail=detail
        )


class XClips:
    def __init__(self, services: Services, api: XApi) -> None:
        self.services = services
        self.api = api

    @staticmethod
    def video_of(job: Job) -> VideoRef | None:
        stored = job.source.get("video")
        return VideoRef.from_source(stored) if isinstance(stored, dict) else None

    def output_kind(self, job: Job) -> Literal["mp4", "gif"] | None:
        video = self.video_of(job)
        return "gif" if video is not None and video.kind == GIF else None

    def upload_limit(self, job: Job) -> int:
        dm = job.source.get("kind") == DM
        return clip_limits(clip_category(gif=self.output_kind(job) == "gif", dm=dm)).max_bytes

    async def fetch(self, job: Job, target: Path, max_bytes: int) -> None:
        """The best variant that fits into `target`; a smaller one when it turns out too big."""
        video = self.video_of(job)
        if video is None or not video.variants:
            raise NoVideoError(f"job {job.id}: no video in its source")
        signed = job.source.get("kind") == DM
        variants = best_variant(video, max_bytes)
        for index, variant in enumerate(variants):
            try:
                written = await self.api.download_to(
                    variant.url, target, signed=signed, max_bytes=max_bytes
                )
            except VideoError as exc:
                if exc.reason != "too_many_bytes" or index + 1 == len(variants):
                    raise
                log.info(
                    "job %s: the %d bit/s variant is too big; trying a smaller one",
                    job.id,
                    variant.bit_rate,
                )
                continue
            log.info("job %s: %d bytes of the %d bit/s variant", job.id, written, variant.bit_rate)
            return

    async def become_clip(self, job: Job, video: VideoRef) -> None:
        """A looked-up post holds a video, not a photo: the job is stored as a clip job and
        handed back to the queue at once, to run on a clip slot."""
        kind = InputKind.GIF if video.kind == GIF else InputKind.VIDEO
        source = {**job.source, "video": video.as_source(), "lookup": None}
        await update_job_fields(self.services.db, job.id, input_kind=kind, source=source)
        raise RetryLater(f"job {job.id}: the post holds a {kind}; running it as a clip", delay_s=0)

    async def upload(self, job: Job, clip: ClipReply) -> str:
        category = clip_category(gif=clip.kind == "gif", dm=job.source.get("kind") == DM)
        return await upload_clip(self.api, clip.path, media_type=clip.mime_type, category=category)

"""What the web channel makes of an uploaded file: a photo or a clip, checked (probed) before
its job is queued, its media key, storing it once the job is accepted; and a clip job's
progress as the status route shows it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.media import MediaStore, image_extension
from bot.services import Services
from db.models import InputKind, Job, JobStatus, utcnow
from handlers.web.uploads import Upload
from inference.images import ImageError, probe_image
from inference.video import HEAD_BYTES, container_extension, probe_media
from inference.video.errors import ACCEPTED_TEXT

# Refusals that are about size (413); any other is about the content (400).
TOO_BIG = frozenset({"too_many_bytes", "too_many_pixels", "too_long", "too_many_frames"})


@dataclass(frozen=True)
class AcceptedMedia:
    key: str
    extension: str
    kind: str  # InputKind
    photo: bytes | None = None  # a photo is stored from memory; a clip is moved from its file


async def accept_media(services: Services, upload: Upload) -> AcceptedMedia:
    """Check the uploaded file against the limits and say what it will be stored as (nothing
    is stored yet); raises ImageError or VideoError with the message for the user."""
    path = upload.path
    assert path is not None
    if upload.is_clip:
        # At intake the probe runs on the photo pool (a person waits for this answer), not
        # on the clip threads, which give way to everything.
        info = await services.pipeline.compute.run(probe_media, path, services.video_limits)
        head = await asyncio.to_thread(_head, path)
        extension = container_extension(head)
        key = await asyncio.to_thread(MediaStore.key_for_file, path, extension)
        return AcceptedMedia(key, extension, info.kind)
    data = await asyncio.to_thread(path.read_bytes)
    try:
        photo = probe_image(data, services.image_limits)
    except ImageError as exc:
        if exc.reason != "not_an_image":
            raise
        # "That file is a PDF, not a photo" / "That file isn't a photo": this page takes both.
        opening = exc.user_message.split(". ", 1)[0]
        raise ImageError(
            f"{opening} or a video. Please send a photo (JPEG, PNG, WebP, BMP, TIFF) or a "
            f"video ({ACCEPTED_TEXT}).",
            reason="not_an_image",
            detail=exc.detail,
        ) from None
    extension = image_extension(photo.format)
    return AcceptedMedia(MediaStore.key_for(data, extension), extension, InputKind.PHOTO, data)


async def store_media(services: Services, upload: Upload, media: AcceptedMedia) -> None:
    if media.photo is not None:
        await asyncio.to_thread(services.media.put, media.photo, media.extension)
    elif upload.path is not None:
        await asyncio.to_thread(
            services.media.put_file, upload.path, media.extension, key=media.key
        )


def job_progress(job: Job) -> dict[str, Any] | None:
    """A clip job's progress: the fraction of its frames done and the seconds still expected
    (counted down from the worker's last report); None for a photo, or a clip not started."""
    if job.input_kind not in InputKind.CLIPS:
        return None
    if job.status == JobStatus.DONE:
        return {"fraction": 1.0, "eta_seconds": 0.0}
    if job.status != JobStatus.RUNNING or job.progress is None:
        return None
    eta = job.eta_seconds
    if eta is not None and job.progress_at is not None:
        eta = max(0.0, eta - (utcnow() - job.progress_at).total_seconds())
    return {
        "fraction": round(min(1.0, job.progress), 4),
        "eta_seconds": None if eta is None else round(eta, 1),
    }


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(HEAD_BYTES)

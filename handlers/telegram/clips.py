"""Videos and GIFs in Telegram messages, decided without any I/O: which clip a message carries
(a video, an animation, a round video note, or a video or GIF sent as a file), what the job
stores to fetch it, and the refusals Telegram's metadata already allows at intake (over the
20 MB bots may download, longer than MAX_VIDEO_SECONDS).

The answer mirrors the question (`reply_method`): a video comes back with sendVideo, an
animation (Telegram turns GIFs into soundless MP4s) or a GIF with sendAnimation, and a video
note as a video note when the result can be one (square, at most a minute), else as a video.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from telegram import Animation, Message, Video, VideoNote
from telegram.warnings import PTBDeprecationWarning

from core.errors import UserError
from db.models import InputKind
from handlers.clips import clip_kind_for, too_big
from inference.video import VideoLimits

ClipForm = Literal["video", "animation", "video_note", "document"]
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".gif"})
VIDEO_NOTE_MAX_SECONDS = 60.0  # Telegram's limit for a round video message
VIDEO_NOTE_MAX_SIDE = 640


@dataclass(frozen=True)
class ClipRef:
    """A clip on Telegram's servers, as its message describes it."""

    form: ClipForm  # how it came: what the answer is sent as
    input_kind: str  # InputKind.VIDEO or InputKind.GIF (the runner checks the content)
    file_id: str
    file_unique_id: str
    file_size: int | None
    duration: int | None  # seconds, as Telegram reports it
    message_id: int  # the message that carries it

    def as_source(self) -> dict[str, Any]:
        """What a job stores to fetch it later (`Job.source`)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "clip": self.form,
            "duration": self.duration,
        }


def clip_of(message: Message) -> ClipRef | None:
    """The clip a message carries, or None."""
    if message.video is not None:
        video = message.video
        return ClipRef(
            "video",
            InputKind.VIDEO,
            video.file_id,
            video.file_unique_id,
            video.file_size,
            _duration(video),
            message.message_id,
        )
    if message.animation is not None:
        animation = message.animation
        return ClipRef(
            "animation",
            InputKind.GIF,
            animation.file_id,
            animation.file_unique_id,
            animation.file_size,
            _duration(animation),
            message.message_id,
        )
    if message.video_note is not None:
        note = message.video_note
        return ClipRef(
            "video_note",
            InputKind.VIDEO,
            note.file_id,
            note.file_unique_id,
            note.file_size,
            _duration(note),
            message.message_id,
        )
    document = message.document
    if document is None:
        return None
    kind = clip_kind_for(document.mime_type)
    suffix = PurePosixPath(document.file_name or "").suffix.lower()
    unknown = (document.mime_type or "") in ("", "application/octet-stream")
    if kind is None and unknown and suffix in VIDEO_EXTENSIONS:
        kind = InputKind.GIF if suffix == ".gif" else InputKind.VIDEO
    if kind is None:
        return None
    return ClipRef(
        "document",
        kind,
        document.file_id,
        document.file_unique_id,
        document.file_size,
        None,
        message.message_id,
    )


TELEGRAM_DOWNLOAD_LIMIT = 20_000_000  # getFile serves files up to 20 MB to bots


def too_big_to_fetch(size: int | None, limit: int) -> UserError:
    """The clip is over what we can fetch (by how much, when the size is known); naming
    Telegram's limit when it is the one that applies."""
    error = too_big(size, limit)
    if limit >= TELEGRAM_DOWNLOAD_LIMIT:
        error.user_message += " (Telegram lets bots download files up to 20 MB.)"
    return error


def clip_refusal(clip: ClipRef, max_download: int, limits: VideoLimits) -> str | None:
    """The one friendly message for a clip Telegram's metadata already shows we can't take:
    over the download limit (Telegram's 20 MB for bots, or MAX_VIDEO_BYTES if lower), or
    longer than MAX_VIDEO_SECONDS. None when it may go ahead."""
    if clip.file_size is not None and clip.file_size > max_download:
        return too_big_to_fetch(clip.file_size, max_download).user_message
    try:
        if clip.duration is not None:
            limits.check_duration(float(clip.duration))
    except UserError as exc:
        return exc.user_message
    return None


ReplyMethod = Literal["video", "animation", "video_note"]


def reply_method(
    form: str | None, *, result_kind: str, width: int, height: int, duration: float, sound: bool
) -> ReplyMethod:
    """How the result goes back: a GIF, or what came as an animation and stays soundless,
    as an animation; a video note as a video note when the result fits one; else a video."""
    if result_kind == "gif" or (form == "animation" and not sound):
        return "animation"
    fits_note = (
        width == height and width <= VIDEO_NOTE_MAX_SIDE and duration <= VIDEO_NOTE_MAX_SECONDS
    )
    if form == "video_note" and fits_note:
        return "video_note"
    return "video"


def _duration(clip: Video | Animation | VideoNote) -> int | None:
    """A clip's duration in seconds (PTB 22 gives an int, or a timedelta once opted in; it
    warns on reading the int, which is what Telegram sends)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = clip.duration
    seconds = getattr(value, "total_seconds", None)
    if callable(seconds):
        return round(float(seconds()))
    return int(value) if isinstance(value, int | float) else None

"""The one protocol every channel (web, Telegram, X) implements, and what it is given.

Core code (the worker, the app) talks to channels only through `Platform`; it never imports a
channel module. A channel receives its platform's events on its own routes (verify, parse,
enqueue, answer 200 at once), and the job runner calls it back to fetch the input photo and to
send the result or the one error message.

Clips (videos and GIFs): a channel marks a job as one at intake (`NewJob.input_kind`, "video"
or "gif", from the platform's metadata or by sniffing), and checks what it can there (its
file size and duration against `services.video_limits`). The runner then asks the channel for
the clip as a file (`fetch_clip`), tells it the progress (`report_progress`), fits the result
under the channel's upload limit (`clip_upload_limit`) and sends it once as a `Reply` whose
`clip` is set (its `image` is then a JPEG poster frame of the result).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from aiohttp import web

from db.models import Job
from inference.video import VideoProgress

__all__ = [
    "ClipReply",
    "PeriodicTask",
    "Platform",
    "Reply",
    "VideoProgress",
    "describe",
]


@dataclass(frozen=True)
class PeriodicTask:
    """Work a channel (or the app) wants run every `seconds` by the service's scheduler."""

    name: str
    seconds: float
    run: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class ClipReply:
    """A finished video or GIF. The file at `path` is complete and stays in the media store:
    read it (stream it for an upload), never change or move it."""

    kind: Literal["mp4", "gif"]  # an MP4 (H.264, yuv420p, sound kept) or a GIF
    path: Path
    mime_type: str  # "video/mp4" or "image/gif"
    size_bytes: int  # within the channel's `clip_upload_limit`
    duration: float  # seconds
    fps: float
    frames: int
    has_audio: bool
    scaled_down: bool  # the frames were larger than MAX_VIDEO_PIXELS: say so
    source_width: int  # the original's size as shown (before any scaling down)
    source_height: int
    reencoded_for_size: bool = False  # a lower bitrate (or, for a GIF, size) to fit the limit


@dataclass(frozen=True)
class Reply:
    """A finished picture or clip, ready for a channel to send."""

    image: bytes  # JPEG: the picture, or for a clip a poster frame of the result
    media_key: str  # the result's media key (the picture, or the clip file)
    width: int  # the result's size (a clip's frames, as shown)
    height: int
    operation: str
    filter_name: str | None
    colourised: bool
    had_colour: bool
    seconds: float
    result_id: str  # the result's public id (gallery / share buttons)
    clip: ClipReply | None = None  # set when the result is a video or GIF


class Platform(Protocol):
    name: str

    def routes(self) -> list[web.RouteDef]:
        """The channel's HTTP routes (webhooks, API), mounted on the app."""
        ...

    async def start(self, *, intake: bool) -> None:
        """Get ready to send; with `intake` (the `serve` process) also start receiving:
        register webhooks, start polling. A `worker` process starts with intake=False."""
        ...

    async def stop(self) -> None: ...

    def working(self, job: Job) -> AbstractAsyncContextManager[None]:
        """Held while the job's photo is being worked on (e.g. a repeated "uploading photo"
        chat action)."""
        ...

    async def fetch_input(self, job: Job) -> bytes:
        """The job's photo bytes (raise UserError for a permanent problem, RetryLater for a
        transient one)."""
        ...

    async def fetch_clip(self, job: Job, target: Path, max_bytes: int) -> None:
        """Write a clip job's video or GIF to `target` (a file in a scratch folder the runner
        owns and removes), streaming it, reading at most `max_bytes` (MAX_VIDEO_BYTES): over
        that, raise a `VideoError` (`handlers.clips.save_capped` does all of this for an HTTP
        download). UserError for a permanent problem, RetryLater for a transient one. Called
        only while the job's original is not in the media store (`job.input_media`); a
        channel that stores originals at intake may instead wait for that file to land and
        write nothing (the web channel does)."""
        ...

    def clip_output_kind(self, job: Job) -> Literal["mp4", "gif"] | None:
        """The form a clip job's result must take to be answered in kind (e.g. X shows an
        animated GIF only when a GIF is uploaded, though it serves them as MP4s); None: the
        content decides (a GIF stays a GIF, a video becomes an MP4)."""
        ...

    def clip_upload_limit(self, job: Job) -> int | None:
        """The largest clip, in bytes, this channel can send in reply to `job` (a result
        over it is re-encoded at a lower bitrate to fit); None: no limit."""
        ...

    async def report_progress(self, job: Job, progress: VideoProgress) -> None:
        """A clip job's progress, at most about once a second and once at 100 % (it is
        already stored on the job for status polls). A channel may show it (throttled as its
        platform needs, e.g. one message edited every few seconds; keep its id in
        `job.progress_message_id` via `db.jobs.update_job_fields` so a restarted attempt
        edits the same message) and then replace it by the result or the error. It must not
        raise for a failed progress update (log it): the clip goes on."""
        ...

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        """Send the result; returns the platform's message id (None when nothing is sent).
        Raise `UserError` only when certainly nothing reached the user (a refused upload,
        media the platform failed to process): the result is then withdrawn and that
        message sent instead, once; RetryLater when the platform did not take it (5xx,
        429)."""
        ...

    async def send_error(self, job: Job, message: str) -> str | None:
        """Send the one friendly error message; returns the platform's message id."""
        ...

    def shares_by_default(self, job: Job) -> bool:
        """Whether the job's result goes to the gallery without further consent."""
        ...

    def periodic_tasks(self) -> list[PeriodicTask]:
        """Work to run on the scheduler (e.g. polling for mentions)."""
        ...


def describe(reply: Reply) -> str:
    """A short caption: what was done, which filter, seconds taken, AI-colour notice (and
    for a clip, that it was scaled down when it was)."""
    parts: list[str] = []
    if reply.operation == "filter" and reply.filter_name:
        parts.append(
            f"Colourised, then {reply.filter_name}" if reply.colourised else reply.filter_name
        )
    else:
        parts.append("Colourised")
    parts.append(f"{reply.seconds:.1f} s" if reply.seconds >= 0.1 else "under 0.1 s")
    text = " · ".join(parts)
    if reply.colourised:
        text += " · colours are AI-generated"
        if reply.had_colour and reply.operation == "colorize":
            what = "photo" if reply.clip is None else "video"
            text += f" (your {what} had colour, so I turned it grey first)"
    clip = reply.clip
    if clip is not None and clip.scaled_down:
        text += (
            f" · scaled down from {clip.source_width}x{clip.source_height} "
            f"to {reply.width}x{reply.height}"
        )
    return text

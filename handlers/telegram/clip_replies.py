"""A clip job's messages on Telegram: one progress message ("Colourising your video: 40 % ·
about 12 s left"), edited at most every `PROGRESS_EDIT_EVERY_S` and deleted as the answer goes
out; and the answer itself: sendVideo (with width, height, duration, a thumbnail and
supports_streaming), sendAnimation for a GIF or an animation, sendVideoNote for a video note
that can stay one (a video note has no caption, so the caption follows as a text).

The progress message is the job's `progress_message_id`, shared with the "#N in line" message
through compare-and-set (`db.progress`): a queued clip's in-line message becomes its progress
message, a restarted attempt edits the same message, and whoever comes second never posts a
second one. Progress messages are a courtesy: each call is tried once and never waits out a
429, so the clip's work is never held up by them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.error import TelegramError

from db import progress as progress_messages
from db.engine import Database
from db.jobs import get_job
from db.models import Job
from handlers.clips import progress_text
from handlers.platform import ClipReply, Reply, VideoProgress, describe
from handlers.telegram.calls import call_with_retries
from handlers.telegram.clips import reply_method
from handlers.telegram.keyboards import result_buttons
from handlers.telegram.replies import Replier, reply_target, replying_to
from inference.encoding import encode_jpeg, fit_within
from inference.images import decode_image

log = logging.getLogger(__name__)

PROGRESS_EDIT_EVERY_S = 3.0
THUMBNAIL_SIDE = 320  # Telegram's limits for a video's thumbnail: 320 px, 200 kB
THUMBNAIL_BYTES = 200_000
UPLOAD_LIMIT = 50_000_000  # what a bot may upload (sendVideo, sendAnimation, ...)


def thumbnail_jpeg(poster: bytes) -> bytes:
    """The poster frame as Telegram takes a video's thumbnail (blocking)."""
    small = fit_within(decode_image(poster), THUMBNAIL_SIDE)
    return encode_jpeg(small, quality=85, max_bytes=THUMBNAIL_BYTES)


def clip_file_name(reply: Reply, clip: ClipReply) -> str:
    what = (reply.filter_name or "colourised").lower().replace(" ", "-")
    return f"colorbot-{what}-{reply.result_id[:6]}.{clip.kind}"


class ClipReplies:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        replier: Replier,
        count_error: Callable[[str], None],
        *,
        edit_every_s: float = PROGRESS_EDIT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.db = db
        self.replier = replier
        self.count_error = count_error
        self.edit_every_s = edit_every_s
        self.clock = clock
        self._shown: dict[int, tuple[float, str]] = {}  # job id -> (when, text) last shown

    # -- progress --------------------------------------------------------------------------

    async def show_progress(self, job: Job, progress: VideoProgress) -> None:
        """Post the job's progress message, or edit it; at most every `edit_every_s`."""
        text = progress_text(progress, job.operation, job.input_kind)
        now = self.clock()
        shown = self._shown.get(job.id)
        if shown is not None and (now - shown[0] < self.edit_every_s or shown[1] == text):
            return
        self._shown[job.id] = (now, text)
        chat_id, reply_to = reply_target(job)
        message_id = await self._progress_message_id(job)
        if message_id == progress_messages.CLOSED:
            return  # the job has replied already
        if message_id is not None:
            await self._courtesy(
                lambda: self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=int(message_id)
                ),
                f"job {job.id}: editing the progress message",
            )
            return
        sent = await self._courtesy(
            lambda: self.bot.send_message(chat_id, text, reply_parameters=replying_to(reply_to)),
            f"job {job.id}: the progress message",
        )
        if not isinstance(sent, Message):
            return
        if await progress_messages.store_progress_message(self.db, job.id, str(sent.message_id)):
            job.progress_message_id = str(sent.message_id)
            return
        # An in-line message was recorded meanwhile: it is the one to edit; ours goes.
        await self._delete(chat_id, sent.message_id, f"job {job.id}: a second progress message")
        taken = await self._progress_message_id(job)
        if taken is not None and taken != progress_messages.CLOSED:
            await self._courtesy(
                lambda: self.bot.edit_message_text(text, chat_id=chat_id, message_id=int(taken)),
                f"job {job.id}: editing the progress message",
            )

    async def _progress_message_id(self, job: Job) -> str | None:
        if job.progress_message_id is None:  # the in-line message may have been stored since
            fresh = await get_job(self.db, job.id)
            job.progress_message_id = fresh.progress_message_id if fresh is not None else None
        return job.progress_message_id

    async def remove_progress(self, job: Job) -> None:
        """The answer is out: the progress message goes (and no sender of a late in-line
        message will post one: the job's slot is closed)."""
        self._shown.pop(job.id, None)
        chat_id, _ = reply_target(job)
        message_id = await progress_messages.close_progress(self.db, job.id)
        if message_id is not None:
            await self._delete(chat_id, int(message_id), f"job {job.id}: the progress message")

    def forget(self, job_id: int) -> None:
        self._shown.pop(job_id, None)

    async def _delete(self, chat_id: int, message_id: int, what: str) -> None:
        await call_with_retries(
            lambda: self.bot.delete_message(chat_id, message_id),
            what=f"deleting {what}",
            on_error=self.count_error,
        )

    async def _courtesy(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        return await call_with_retries(call, what=what, attempts=1, on_error=self.count_error)

    # -- the answer ------------------------------------------------------------------------

    async def send_clip(self, job: Job, reply: Reply, clip: ClipReply) -> str | None:
        chat_id, reply_to = reply_target(job)
        caption = describe(reply)
        buttons = result_buttons(reply.result_id, compare=False)
        data = await asyncio.to_thread(clip.path.read_bytes)
        method = reply_method(
            job.source.get("clip"),
            result_kind=clip.kind,
            width=reply.width,
            height=reply.height,
            duration=clip.duration,
            sound=clip.has_audio,
        )
        # The progress message goes first: a stop while the clip is on its way (it may have
        # arrived; it is never sent again) then leaves no "sending it" message behind.
        await self.remove_progress(job)
        upload = InputFile(data, filename=clip_file_name(reply, clip))
        duration = max(1, round(clip.duration))
        common: dict[str, Any] = {
            "reply_markup": buttons,
            "reply_parameters": replying_to(reply_to),
        }
        try:
            if method == "video_note":
                message = await self.bot.send_video_note(
                    chat_id, upload, duration=duration, length=reply.width, **common
                )
            else:
                thumbnail = InputFile(
                    await asyncio.to_thread(thumbnail_jpeg, reply.image), filename="thumb.jpg"
                )
                sizes: dict[str, Any] = {
                    "width": reply.width,
                    "height": reply.height,
                    "duration": duration,
                    "thumbnail": thumbnail,
                    "caption": caption,
                }
                if method == "animation":
                    message = await self.bot.send_animation(chat_id, upload, **sizes, **common)
                else:
                    message = await self.bot.send_video(
                        chat_id, upload, supports_streaming=True, **sizes, **common
                    )
        except TelegramError as exc:
            self.replier.undelivered(job, "the clip", exc)
            return None
        if method == "video_note":  # a video note has no caption: it follows as a text
            await self.replier.send_text(chat_id, caption, message.message_id)
        return str(message.message_id)

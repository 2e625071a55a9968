"""Sending a job's one reply on Telegram: the result photo with its caption and buttons (and
the full-resolution file when a photo would lose detail), or the one error message; and the
"#N in line" message, edited once when the job replies.

The runner has committed `reply_started_at` before `send_result`/`send_error` run. So these
raise `RetryLater` only when Telegram certainly did not deliver (429, 5xx, no connection):
the runner then clears the mark and tries the job again. When the request went out and no
answer came, the reply may have arrived: it is never sent again (None is returned).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from core.errors import RetryLater
from db import progress
from db.engine import Database
from db.jobs import get_job
from db.models import Job, JobStatus
from handlers.platform import Reply, describe
from handlers.telegram import texts
from handlers.telegram.calls import (
    call_with_retries,
    error_kind,
    is_transient,
    retry_after_seconds,
)
from handlers.telegram.http import DeliveryUnknownError
from handlers.telegram.keyboards import result_buttons
from inference.images import decode_image, encode_jpeg, fit_within

log = logging.getLogger(__name__)

# Telegram's limits for photos (larger ones are refused), and the largest side it keeps:
# photos are shown and stored at most this big, so a larger result also goes as a file.
PHOTO_MAX_BYTES = 10_000_000
PHOTO_MAX_SIDE_SUM = 10_000
PHOTO_MAX_RATIO = 20.0
PHOTO_KEEPS_SIDE = 2560


def photo_and_file(width: int, height: int, size: int) -> tuple[bool, bool]:
    """(send as a photo, send the full-resolution file as a document too / instead)."""
    if max(width, height) / max(1, min(width, height)) > PHOTO_MAX_RATIO:
        return False, True  # Telegram refuses such a photo; the file is the result
    fits = size <= PHOTO_MAX_BYTES and width + height <= PHOTO_MAX_SIDE_SUM
    return True, not fits or max(width, height) > PHOTO_KEEPS_SIDE


def preview_jpeg(jpeg: bytes) -> bytes:
    """A photo-sized copy of a result (blocking)."""
    return encode_jpeg(fit_within(decode_image(jpeg), PHOTO_KEEPS_SIDE))


def file_name(reply: Reply) -> str:
    what = reply.filter_name or "colourised"
    return f"colorbot-{what.lower().replace(' ', '-')}-{reply.result_id[:6]}.jpg"


def reply_target(job: Job) -> tuple[int, int | None]:
    chat_id = int(job.reply_to["chat_id"])
    message_id = job.reply_to.get("message_id")
    return chat_id, int(message_id) if message_id is not None else None


def replying_to(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)


class Replier:
    def __init__(self, bot: Bot, db: Database, count_error: Callable[[str], None]) -> None:
        self.bot = bot
        self.db = db
        self.count_error = count_error

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        chat_id, reply_to = reply_target(job)
        caption = describe(reply)
        buttons = result_buttons(reply.result_id)
        as_photo, as_file = photo_and_file(reply.width, reply.height, len(reply.image))
        try:
            if as_photo:
                photo = reply.image
                if as_file:
                    photo = await asyncio.to_thread(preview_jpeg, reply.image)
                message = await self._photo_or_file(chat_id, reply_to, photo, caption, buttons)
            else:
                message = await self._send_file(
                    chat_id, reply_to, reply.image, file_name(reply), caption, buttons
                )
        except TelegramError as exc:
            self.undelivered(job, "the result", exc)
            return None
        if as_photo and as_file:
            await call_with_retries(
                lambda: self._send_file(
                    chat_id, message.message_id, reply.image, file_name(reply), None, None
                ),
                what=f"job {job.id}: the full-resolution file",
                on_error=self.count_error,
            )
        await self.finish_progress(job.id, chat_id, texts.IN_LINE_DONE)
        return str(message.message_id)

    async def send_error(self, job: Job, message: str, *, finish: bool = True) -> str | None:
        """The one error message; `finish`: edit the in-line message to say so (a clip's
        progress message is removed by its caller instead)."""
        chat_id, reply_to = reply_target(job)
        try:
            sent = await self.bot.send_message(
                chat_id, message, reply_parameters=replying_to(reply_to)
            )
        except TelegramError as exc:
            self.undelivered(job, "the error message", exc)
            return None
        if finish:
            await self.finish_progress(job.id, chat_id, texts.IN_LINE_FAILED)
        return str(sent.message_id)

    async def _photo_or_file(
        self,
        chat_id: int,
        reply_to: int | None,
        photo: bytes,
        caption: str,
        buttons: InlineKeyboardMarkup,
    ) -> Message:
        try:
            return await self.bot.send_photo(
                chat_id,
                InputFile(photo, filename="photo.jpg"),
                caption=caption,
                reply_markup=buttons,
                reply_parameters=replying_to(reply_to),
            )
        except BadRequest as exc:
            if "PHOTO" not in exc.message.upper() and "IMAGE" not in exc.message.upper():
                raise
            # Telegram would not take it as a photo (dimensions, size): send it as a file.
            log.warning("sendPhoto refused (%s); sending the result as a file", exc.message)
            return await self._send_file(chat_id, reply_to, photo, "photo.jpg", caption, buttons)

    async def _send_file(
        self,
        chat_id: int,
        reply_to: int | None,
        data: bytes,
        name: str,
        caption: str | None,
        buttons: InlineKeyboardMarkup | None,
    ) -> Message:
        return await self.bot.send_document(
            chat_id,
            InputFile(data, filename=name),
            caption=caption,
            reply_markup=buttons,
            reply_parameters=replying_to(reply_to),
            disable_content_type_detection=True,
        )

    def undelivered(self, job: Job, what: str, exc: TelegramError) -> None:
        """Sending `what` failed: RetryLater when Telegram surely did not deliver it; else
        log and give up (the reply may have arrived, or it never can)."""
        kind = error_kind(exc)
        self.count_error(kind)
        if isinstance(exc, RetryAfter):
            raise RetryLater(
                f"sending {what}: flood control", delay_s=retry_after_seconds(exc)
            ) from None
        if isinstance(exc, DeliveryUnknownError):
            log.warning(
                "job %s: no answer while sending %s (%s); it may have arrived, so it is not "
                "sent again",
                job.id,
                what,
                exc.message,
            )
            return
        if is_transient(exc):
            raise RetryLater(f"sending {what}: {exc.message}") from None
        if isinstance(exc, Forbidden):
            log.info("job %s: cannot send %s, the user blocked the bot: %s", job.id, what, exc)
        else:
            log.warning("job %s: Telegram refused %s (%s): %s", job.id, what, kind, exc.message)

    async def send_in_line(
        self, job_id: int, chat_id: int, reply_to: int, position: int, what: str = "photo"
    ) -> None:
        """The one "#N in line" message of a queued job; if the job replies before its id is
        stored, this edits it to say so at once (and if a clip's progress message was posted
        first, that one stays and this one goes)."""
        text = texts.IN_LINE.format(position=position, what=what)
        sent = await call_with_retries(
            lambda: self.bot.send_message(chat_id, text, reply_parameters=replying_to(reply_to)),
            what=f"job {job_id}: the in-line message",
            on_error=self.count_error,
        )
        if sent is None or await progress.store_progress_message(
            self.db, job_id, str(sent.message_id)
        ):
            return
        job = await get_job(self.db, job_id)
        if job is not None and job.progress_message_id != progress.CLOSED:
            await call_with_retries(
                lambda: self.bot.delete_message(chat_id, sent.message_id),
                what=f"job {job_id}: deleting a second in-line message",
                on_error=self.count_error,
            )
            return
        failed = job is not None and job.status == JobStatus.FAILED
        text = texts.IN_LINE_FAILED if failed else texts.IN_LINE_DONE
        await self._edit(chat_id, sent.message_id, text)

    async def finish_progress(self, job_id: int, chat_id: int, text: str) -> None:
        message_id = await progress.close_progress(self.db, job_id)
        if message_id is not None:
            await self._edit(chat_id, int(message_id), text)

    async def _edit(self, chat_id: int, message_id: int, text: str) -> None:
        await call_with_retries(
            lambda: self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id),
            what="editing the in-line message",
            on_error=self.count_error,
        )

    async def send_text(
        self,
        chat_id: int,
        text: str,
        reply_to: int | None,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> None:
        await call_with_retries(
            lambda: self.bot.send_message(
                chat_id, text, reply_markup=keyboard, reply_parameters=replying_to(reply_to)
            ),
            what="an answer",
            on_error=self.count_error,
        )

    async def send_picture(
        self, chat_id: int, jpeg: bytes, caption: str, reply_to: int | None, **extra: Any
    ) -> None:
        await call_with_retries(
            lambda: self.bot.send_photo(
                chat_id,
                InputFile(jpeg, filename="photo.jpg"),
                caption=caption,
                reply_parameters=replying_to(reply_to),
                **extra,
            ),
            what="a picture",
            on_error=self.count_error,
        )

"""Button presses under the bot's messages: a filter from the picker, share to gallery,
before / after, try another filter. Every press is answered (answerCallbackQuery) once,
whatever it leads to; the work itself (a job, a picture, a picker) goes on in the background.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from bot.media import MediaStore
from core.errors import UserError
from db import jobs as queue
from db.channel_state import user_external_id
from db.models import InputKind, Job, Result
from db.results import get_result_and_job, share_result
from handlers.telegram import texts
from handlers.telegram.calls import Outbox, call_with_retries
from handlers.telegram.clips import TELEGRAM_DOWNLOAD_LIMIT, ClipRef, clip_refusal
from handlers.telegram.keyboards import (
    ANOTHER,
    COMPARE,
    FILTER,
    NOOP,
    SHARE,
    filter_picker,
    result_buttons,
)
from handlers.telegram.replies import Replier
from handlers.telegram.updates import Media, Plan, Press
from inference.comparison import side_by_side
from inference.images import ImageLimits, decode_image, encode_jpeg
from inference.pipeline import FILTER as FILTER_OPERATION

if TYPE_CHECKING:
    from bot.services import Services


class Enqueue(Protocol):
    """The intake's `enqueue`: the stored job, or None when it was refused (and
    `refuse(text)` told the person) or is a re-delivery."""

    def __call__(
        self,
        event_id: str,
        plan: Plan,
        new: queue.NewJob,
        *,
        refuse: Callable[[str], Awaitable[None]],
    ) -> Awaitable[Job | None]: ...


CHANNEL = "telegram"


class ButtonPresses:
    """Carries out presses; `enqueue` is the intake's (the one way a job is stored and the
    person told about a refusal), passed in so this module needs nothing of the intake."""

    def __init__(
        self,
        services: Services,
        replier: Replier,
        outbox: Outbox,
        enqueue: Enqueue,
        *,
        max_file_bytes: int,
    ) -> None:
        self.services = services
        self.db = services.db
        self.outbox = outbox
        self.replier = replier
        self.bot = replier.bot
        self.enqueue = enqueue
        self.max_file_bytes = max_file_bytes

    async def handle(self, event_id: str, plan: Plan, press: Press) -> None:
        """Every press is answered (answerCallbackQuery), whatever it leads to."""
        reply = await self._carry_out(event_id, plan, press)
        await queue.record_event(self.db, CHANNEL, event_id)
        text, alert = reply
        self.outbox.spawn(
            call_with_retries(
                lambda: self.bot.answer_callback_query(press.query_id, text or None, alert),
                what="answering a button press",
            ),
            f"update {event_id}: callback answer",
        )

    async def _carry_out(self, event_id: str, plan: Plan, press: Press) -> tuple[str, bool]:
        """What the press does; -> (the callback answer's text, show it as an alert)."""
        button = press.press
        if button is None or plan.chat_id is None:
            return texts.STALE_BUTTON, True
        if button.kind == NOOP:
            return "", False
        available = self.services.pipeline.filters.names
        if button.filter_name is not None and button.filter_name not in available:
            return texts.STALE_BUTTON, True
        if button.kind == FILTER and button.result_id is None:
            if press.media is None:
                name = button.filter_name or ""
                return texts.PICKED_WITHOUT_PHOTO.format(name=name), True
            return await self._pick(event_id, plan, press.media, button.filter_name)
        found = await self._result_in_chat(button.result_id or "", plan.chat_id)
        if found is None:
            return texts.RESULT_NOT_READY, True
        result, job = found
        if button.kind == FILTER:
            return await self._pick_again(event_id, plan, result, job, button.filter_name)
        if button.kind == SHARE:
            return await self._share(plan, press, result, job)
        if button.kind == COMPARE:
            if result.media_kind != InputKind.PHOTO:
                return texts.NO_COMPARE_FOR_CLIPS, True
            return self._compare(plan, press, result)
        if button.kind == ANOTHER:
            picker = filter_picker(result.public_id, self.services.pipeline.filters.names)
            self.outbox.spawn(
                self.replier.send_text(plan.chat_id, texts.PICK_FILTER, press.message_id, picker),
                f"update {event_id}: picker",
            )
            return "", False
        return texts.STALE_BUTTON, True

    async def _result_in_chat(self, result_id: str, chat_id: int) -> tuple[Result, Job] | None:
        found = await get_result_and_job(self.db, result_id)
        if found is None:
            return None
        _, job = found
        if job.channel != CHANNEL or job.reply_to.get("chat_id") != chat_id:
            return None
        return found

    async def _pick(
        self, event_id: str, plan: Plan, media: Media, name: str | None
    ) -> tuple[str, bool]:
        kind = InputKind.PHOTO
        if isinstance(media, ClipRef):
            limits = self.services.video_limits
            refusal = clip_refusal(media, min(TELEGRAM_DOWNLOAD_LIMIT, limits.max_bytes), limits)
            if refusal is not None:
                return refusal, True
            kind = media.input_kind
        elif media.file_size is not None and media.file_size > self.max_file_bytes:
            return texts.too_large(media.file_size, self.max_file_bytes), True
        new = queue.NewJob(
            channel=CHANNEL,
            event_id=event_id,
            operation=FILTER_OPERATION,
            filter_name=name,
            user_external_id=str(plan.user_id),
            source=media.as_source(),
            reply_to={"chat_id": plan.chat_id, "message_id": media.message_id},
            input_kind=kind,
        )
        return await self._submit_press(event_id, plan, new, name)

    async def _pick_again(
        self, event_id: str, plan: Plan, result: Result, job: Job, name: str | None
    ) -> tuple[str, bool]:
        """Another filter on a result's original: the stored photo, not a new download."""
        original = result.input_media or job.input_media
        if original is None or not self.services.media.exists(original):
            return texts.PHOTO_GONE, True
        new = queue.NewJob(
            channel=CHANNEL,
            event_id=event_id,
            operation=FILTER_OPERATION,
            filter_name=name,
            user_external_id=str(plan.user_id),
            source={**job.source, "media": original},
            input_media=original,
            reply_to={"chat_id": plan.chat_id, "message_id": job.reply_to.get("message_id")},
            input_kind=job.input_kind,
        )
        return await self._submit_press(event_id, plan, new, name)

    async def _submit_press(
        self, event_id: str, plan: Plan, new: queue.NewJob, name: str | None
    ) -> tuple[str, bool]:
        refusal: list[str] = []

        async def refuse(message: str) -> None:
            refusal.append(message)

        await self.enqueue(event_id, plan, new, refuse=refuse)
        if refusal:
            return refusal[0], True
        return texts.WORKING_ON_IT.format(name=name), False

    async def _share(self, plan: Plan, press: Press, result: Result, job: Job) -> tuple[str, bool]:
        owner = await user_external_id(self.db, job.user_id)
        if owner is None or owner != str(plan.user_id):
            return texts.NOT_YOURS, True
        newly = await share_result(self.db, result.id, f"{CHANNEL}:{plan.user_id}")
        if press.message_id is not None and plan.chat_id is not None:
            base = self.services.settings.public_base_url
            url = f"{base}/gallery/{result.public_id}" if base else None
            chat_id, message_id = plan.chat_id, press.message_id
            buttons = result_buttons(
                result.public_id,
                shared=True,
                gallery_url=url,
                compare=result.media_kind == InputKind.PHOTO,
            )
            self.outbox.spawn(
                call_with_retries(
                    lambda: self.bot.edit_message_reply_markup(
                        chat_id=chat_id, message_id=message_id, reply_markup=buttons
                    ),
                    what="marking a result as shared",
                ),
                "share buttons",
            )
        return (texts.SHARED if newly else texts.ALREADY_SHARED), False

    def _compare(self, plan: Plan, press: Press, result: Result) -> tuple[str, bool]:
        media = self.services.media
        original = result.input_media
        if original is None or not media.exists(original) or not media.exists(result.media):
            return texts.PHOTO_GONE, True
        chat_id = plan.chat_id
        assert chat_id is not None

        async def send() -> None:
            limits = self.services.image_limits
            jpeg = await self.services.pipeline.compute.run(
                compare_files, media, original, result.media, limits
            )
            await self.replier.send_picture(chat_id, jpeg, "Before / after", press.message_id)

        self.outbox.spawn(send(), "before / after")
        return texts.COMPARING, False


def compare_files(media: MediaStore, before: str, after: str, limits: ImageLimits) -> bytes:
    """The before / after JPEG of two stored pictures (blocking)."""
    try:
        pictures = [decode_image(media.read(key), limits) for key in (before, after)]
    except UserError as exc:
        raise ValueError(f"a stored picture is unreadable: {exc.detail}") from exc
    return encode_jpeg(side_by_side(*pictures))

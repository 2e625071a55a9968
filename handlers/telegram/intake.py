"""Carrying out what an update asks (see `updates.plan_update`): store the job, or
record the update and answer it in the background.

Every update is remembered by its update_id (with its job, or in the events table), so a
re-delivered one, even after a restart, does nothing. A database error propagates: the
webhook answers 500 and Telegram delivers the update again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.services import Services
from db import jobs as queue
from db.albums import find_album_jobs
from db.channel_state import claim_hint, event_seen
from db.engine import Database
from db.models import InputKind, Job, utcnow
from db.privacy import forget_user
from db.stats import recent_job_counts
from handlers.telegram import texts
from handlers.telegram.albums import AlbumSummaries
from handlers.telegram.buttons import ButtonPresses
from handlers.telegram.calls import Outbox
from handlers.telegram.clips import ClipRef
from handlers.telegram.keyboards import (
    filter_picker,
)
from handlers.telegram.replies import Replier
from handlers.telegram.updates import (
    Answer,
    Forget,
    Ignore,
    Plan,
    PlanContext,
    Press,
    Stats,
    Submit,
    plan_update,
)
from inference.pipeline import FILTER as FILTER_OPERATION
from inference.pipeline import ColorizeUnavailableError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
NOTICE_PERIOD = timedelta(seconds=30)  # at most one unsolicited notice per user per period
ALBUM_WINDOW = timedelta(hours=1)


class Intake:
    def __init__(
        self,
        services: Services,
        replier: Replier,
        outbox: Outbox,
        albums: AlbumSummaries,
        *,
        max_file_bytes: int,
        admin_ids: frozenset[int],
    ) -> None:
        self.services = services
        self.replier = replier
        self.bot = replier.bot
        self.outbox = outbox
        self.albums = albums
        self.max_file_bytes = max_file_bytes
        self.admin_ids = admin_ids
        self.bot_username: str | None = None
        self.buttons = ButtonPresses(
            services, replier, outbox, self.enqueue, max_file_bytes=max_file_bytes
        )

    @property
    def db(self) -> Database:
        return self.services.db

    def context(self) -> PlanContext:
        return PlanContext(
            bot_username=self.bot_username,
            can_colorize=self.services.pipeline.can_colorize,
            admin_ids=self.admin_ids,
            max_file_bytes=self.max_file_bytes,
            filters=self.services.pipeline.filters.names,
            video_limits=self.services.video_limits,
        )

    async def accept(self, update: Update) -> None:
        event_id = str(update.update_id)
        if await event_seen(self.db, CHANNEL, event_id):
            return
        plan = plan_update(update, self.context())
        action = plan.action
        if isinstance(action, Submit):
            await self._submit(event_id, plan, action)
        elif isinstance(action, Answer):
            await self._answer(event_id, plan, action)
        elif isinstance(action, Press):
            await self._press(event_id, plan, action)
        elif isinstance(action, Forget):
            await self._forget(event_id, plan, action)
        elif isinstance(action, Stats):
            await self._stats(event_id, plan, action)
        elif isinstance(action, Ignore):
            log.debug("update %s ignored: %s", event_id, action.reason)
            await queue.record_event(self.db, CHANNEL, event_id)

    # -- jobs ------------------------------------------------------------------------------

    async def _submit(self, event_id: str, plan: Plan, submit: Submit) -> None:
        operation, filter_name = submit.operation, submit.filter_name
        if submit.inherit_album_filter and submit.album_id:
            since = utcnow() - ALBUM_WINDOW
            siblings = await find_album_jobs(self.db, CHANNEL, submit.album_id, since)
            named = next((job.filter_name for job in siblings if job.filter_name), None)
            if named is not None:
                operation, filter_name = FILTER_OPERATION, named
            elif not self.services.pipeline.can_colorize:
                text = f"{ColorizeUnavailableError().user_message}\n{texts.PICK_FILTER}"
                picker = filter_picker(names=self.services.pipeline.filters.names)
                notice = Answer(text, submit.media.message_id, picker, notice=True)
                await self._answer(event_id, plan, notice)
                return
        media = submit.media
        reply_to: dict[str, Any] = {"chat_id": plan.chat_id, "message_id": media.message_id}
        if submit.album_id:
            reply_to["media_group_id"] = submit.album_id
        job = await self.enqueue(
            event_id,
            plan,
            queue.NewJob(
                channel=CHANNEL,
                event_id=event_id,
                operation=operation,
                filter_name=filter_name,
                user_external_id=str(plan.user_id),
                source=media.as_source(),
                reply_to=reply_to,
                input_kind=media.input_kind if isinstance(media, ClipRef) else InputKind.PHOTO,
            ),
            refuse=lambda message: self._answer(
                event_id, plan, Answer(message, media.message_id, notice=True)
            ),
        )
        if job is None:
            return
        if submit.album_id and plan.chat_id is not None:
            self.albums.watch(plan.chat_id, submit.album_id)

    async def enqueue(
        self,
        event_id: str,
        plan: Plan,
        new: queue.NewJob,
        *,
        refuse: Callable[[str], Awaitable[None]],
    ) -> Job | None:
        """Store the job; None when it was refused (busy, rate limit: `refuse(text)` answers)
        or is a re-delivery."""
        services = self.services
        try:
            enqueued = await services.intake.enqueue(new)
        except (queue.QueueFullError, queue.UserRateLimitedError) as exc:
            services.metrics.refused.labels(CHANNEL, exc.kind).inc()
            await refuse(exc.user_message)
            return None
        if not enqueued.created:
            return None
        services.metrics.enqueued.labels(CHANNEL).inc()
        job = enqueued.job
        position = enqueued.position or 0
        if (
            position > 1
            and plan.chat_id is not None
            and "media_group_id" not in new.reply_to
            # An unsolicited notice too: one per user per while (not one per photo of a flood).
            and await claim_hint(self.db, CHANNEL, str(plan.user_id), None, period=NOTICE_PERIOD)
        ):
            reply_to = int(new.reply_to["message_id"])
            what = "video" if new.input_kind in InputKind.CLIPS else "photo"
            self.outbox.spawn(
                self.replier.send_in_line(job.id, plan.chat_id, reply_to, position, what),
                f"job {job.id}: in-line message",
            )
        return job

    # -- answers ---------------------------------------------------------------------------

    async def _answer(self, event_id: str, plan: Plan, answer: Answer) -> None:
        if plan.chat_id is None or not await queue.record_event(self.db, CHANNEL, event_id):
            return
        if answer.notice and not await claim_hint(
            self.db, CHANNEL, str(plan.user_id), None, period=NOTICE_PERIOD
        ):
            log.debug("update %s: notice to user suppressed (one was sent recently)", event_id)
            return
        self.outbox.spawn(
            self.replier.send_text(plan.chat_id, answer.text, answer.reply_to, answer.keyboard),
            f"update {event_id}: answer",
        )

    async def _forget(self, event_id: str, plan: Plan, forget: Forget) -> None:
        existed, keys = await forget_user(self.db, CHANNEL, str(plan.user_id))
        deleted = 0
        for key in keys:
            deleted += await asyncio.to_thread(self.services.media.delete, key)
        log.info("forgot a Telegram user: %d media file(s) deleted", deleted)
        text = texts.FORGOT.format(files=deleted) if existed else texts.FORGOT_NOTHING
        await self._answer(event_id, plan, Answer(text, forget.reply_to))

    async def _stats(self, event_id: str, plan: Plan, stats: Stats) -> None:
        today, week = await recent_job_counts(self.db)
        await self._answer(event_id, plan, Answer(texts.stats_report(today, week), stats.reply_to))

    # -- button presses --------------------------------------------------------------------

    async def _press(self, event_id: str, plan: Plan, press: Press) -> None:
        await self.buttons.handle(event_id, plan, press)

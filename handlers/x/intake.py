"""From `Incoming` X posts and DMs to queued jobs, and the few answers that need no job.

Runs where events arrive (the webhook route, the mentions poll). Each event is acted on once,
across restarts: a job is unique on (channel, event id) and every other event that gets an
answer is recorded with `record_event` before it is answered. Answers outside jobs (usage hint,
unknown filter, busy, rate limited, "deleted", "forgotten") are sent in the background, at most
one hint-like answer per user per day and at most `NoticeBudget` answers in all, so a flood
cannot make the bot spam.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from bot.services import Services
from core.errors import RetryLater, UserError
from db import jobs as queue
from db.channel_state import claim_hint, event_seen, is_user_blocked, user_external_id
from db.models import InputKind
from db.privacy import delete_result, find_result_by_reply, forget_user
from handlers.x.api import XApi, XDeliveryUnknownError, XRequestError
from handlers.x.commands import ANSWER, DELETE, FORGET, HINT, HINT_TEXT, IGNORE, decide
from handlers.x.events import DM, POST, Incoming
from handlers.x.media import GIF

log = logging.getLogger(__name__)

CHANNEL = "x"
HINT_PERIOD = timedelta(days=1)
POST_TEXT_LIMIT = 280


class NoticeBudget:
    """At most `limit` answers per `window_s` seconds in this process."""

    def __init__(self, limit: int = 30, window_s: float = 900.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._sent: deque[float] = deque()

    def take(self) -> bool:
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            return False
        self._sent.append(now)
        return True


def shorten(text: str, limit: int = POST_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class XIntake:
    def __init__(self, services: Services, api: XApi) -> None:
        self.services = services
        self.api = api
        self.budget = NoticeBudget()
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, items: list[Incoming], bot_user_id: str | None) -> None:
        for item in items:
            await self.handle_one(item, bot_user_id)

    async def handle_one(self, item: Incoming, bot_user_id: str | None) -> None:
        db = self.services.db
        decision = decide(item, bot_user_id)
        if decision.action == IGNORE:
            log.debug("x %s %s ignored: %s", item.kind, item.event_id, decision.reason)
            return
        if await event_seen(db, CHANNEL, item.event_id):
            log.info("x %s %s: seen before, not acted on again", item.kind, item.event_id)
            return
        if await is_user_blocked(db, CHANNEL, item.author_id):
            log.info("x %s %s: from a blocked user, ignored", item.kind, item.event_id)
            return
        if decision.action in (HINT, ANSWER):
            if await queue.record_event(db, CHANNEL, item.event_id):
                await self.notify_once_a_day(item, decision.message or HINT_TEXT)
        elif decision.action == DELETE:
            if await queue.record_event(db, CHANNEL, item.event_id):
                await self.delete_result(item)
        elif decision.action == FORGET:
            if await queue.record_event(db, CHANNEL, item.event_id):
                await self.forget_user(item)
        else:
            await self.enqueue(item, decision.operation or "", decision.filter_name)

    async def enqueue(self, item: Incoming, operation: str, filter_name: str | None) -> None:
        services = self.services
        refusal = self.clip_refusal(item)
        if refusal is not None:
            log.info("x %s %s refused at intake: %s", item.kind, item.event_id, refusal.detail)
            if await queue.record_event(services.db, CHANNEL, item.event_id):
                await self.notify_once_a_day(item, refusal.user_message)
            return
        source: dict[str, Any] = {
            "kind": item.kind,
            "url": item.photo_url,
            "lookup": item.lookup_post_id,
            "author": item.author_id,
            "handle": item.author_handle,
            "photo_owner": item.photo_owner_id,
        }
        input_kind = InputKind.PHOTO
        if item.video is not None:
            source["video"] = item.video.as_source()
            input_kind = InputKind.GIF if item.video.kind == GIF else InputKind.VIDEO
        new = queue.NewJob(
            channel=CHANNEL,
            event_id=item.event_id,
            operation=operation,
            filter_name=filter_name,
            user_external_id=item.author_id,
            user_handle=item.author_handle,
            input_kind=input_kind,
            source=source,
            reply_to=(
                {"participant_id": item.author_id}
                if item.kind == DM
                else {"tweet_id": item.event_id}
            ),
        )
        try:
            enqueued = await services.intake.enqueue(new)
        except (queue.QueueFullError, queue.UserRateLimitedError) as exc:
            services.metrics.refused.labels(CHANNEL, exc.kind).inc()
            log.info("x %s %s refused: %s", item.kind, item.event_id, exc.detail)
            if await queue.record_event(services.db, CHANNEL, item.event_id):
                await self.notify_once_a_day(item, exc.user_message)
            return
        if enqueued.created:
            services.metrics.enqueued.labels(CHANNEL).inc()

    def clip_refusal(self, item: Incoming) -> UserError | None:
        """A video X already says is longer than MAX_VIDEO_SECONDS: its one message."""
        seconds = item.video.duration_s if item.video is not None else None
        try:
            if seconds is not None:
                self.services.video_limits.check_duration(seconds)
        except UserError as exc:
            return exc
        return None

    async def delete_result(self, item: Incoming) -> None:
        """A "delete" reply to the bot's reply: remove that result and its media, delete the
        bot's post, confirm once. Only the person who asked, or whose photo it was, may."""
        db = self.services.db
        reply_id = item.in_reply_to_post_id or ""
        result = await find_result_by_reply(db, CHANNEL, reply_id)
        if result is None:
            log.info("x delete %s: post %s is no result of ours", item.event_id, reply_id)
            return
        job = await queue.get_job(db, result.job_id)
        allowed = {await user_external_id(db, result.user_id)}
        allowed.add(job.source.get("photo_owner") if job is not None else None)
        if item.author_id not in allowed:
            log.warning("x delete %s: neither requester nor photo owner", item.event_id)
            return
        keys = await delete_result(db, result.id)
        for key in keys:
            await asyncio.to_thread(self.services.media.delete, key)
        log.info("x delete %s: result %s removed (%d file(s))", item.event_id, result.id, len(keys))
        self.spawn(self._delete_post(reply_id))
        self.notify(item, "Deleted: that picture is gone from the gallery and from my storage.")

    async def forget_user(self, item: Incoming) -> None:
        stored, keys = await forget_user(self.services.db, CHANNEL, item.author_id)
        for key in keys:
            await asyncio.to_thread(self.services.media.delete, key)
        log.info("x forget %s: stored=%s, %d file(s) deleted", item.event_id, stored, len(keys))
        if stored:
            self.notify(item, "Done: I have deleted everything I stored about you.")
        else:
            await self.notify_once_a_day(item, "I had nothing stored about you.")

    async def notify_once_a_day(self, item: Incoming, text: str) -> None:
        if await claim_hint(
            self.services.db, CHANNEL, item.author_id, item.author_handle, period=HINT_PERIOD
        ):
            self.notify(item, text)
        else:
            log.info("x %s %s: answered this user within a day; quiet", item.kind, item.event_id)

    def notify(self, item: Incoming, text: str) -> None:
        if not self.budget.take():
            log.warning("x %s %s: answer budget spent; not answering", item.kind, item.event_id)
            return
        self.spawn(self._send_text(item, shorten(text)))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for answers still being sent (at stop)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _send_text(self, item: Incoming, text: str) -> None:
        try:
            if item.kind == POST:
                await self.api.create_post(text, reply_to=item.event_id, media_ids=[])
            else:
                await self.api.send_dm(item.author_id, text, media_id=None)
        except (RetryLater, XRequestError, XDeliveryUnknownError) as exc:
            log.warning("x %s %s: answer not sent: %s", item.kind, item.event_id, exc)

    async def _delete_post(self, post_id: str) -> None:
        try:
            await self.api.delete_post(post_id)
        except (RetryLater, XRequestError, XDeliveryUnknownError) as exc:
            log.warning("x: could not delete our post %s: %s", post_id, exc)

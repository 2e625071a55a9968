"""Poll mode: read new mentions with `GET /2/users/:id/mentions` on the scheduler.

The since_id lives in the database (cursor `x:mentions:since_id`) and moves only after every
page of a poll was handled, so a restart or a failed page never skips a mention; mentions seen
twice are recognised by the queue (one job per post). A 429 pauses polling until
`x-rate-limit-reset`. A flood of more than MAX_PAGES pages between two polls keeps the newest
ones (the bot answers recent mentions rather than falling ever further behind).
"""

from __future__ import annotations

import logging
import time

from bot.services import Services
from bot.settings import XSettings
from core.errors import RetryLater
from db.channel_state import get_cursor, set_cursor
from handlers.x.api import XApi, XRequestError
from handlers.x.events import parse_mentions_page
from handlers.x.intake import XIntake

log = logging.getLogger(__name__)

CURSOR = "x:mentions:since_id"
MAX_PAGES = 20


class MentionsPoller:
    def __init__(self, services: Services, api: XApi, intake: XIntake, settings: XSettings) -> None:
        self.services = services
        self.api = api
        self.intake = intake
        self.bot_user_id = settings.bot_user_id
        self.interval_s = float(settings.poll_interval_s)
        self._paused_until = 0.0

    async def poll(self) -> int:
        """One poll; returns how many mentions it read (0 while paused by a rate limit)."""
        if self.bot_user_id is None or time.monotonic() < self._paused_until:
            return 0
        db = self.services.db
        since_id = await get_cursor(db, CURSOR)
        newest = int(since_id) if since_id else 0
        token: str | None = None
        read = 0
        try:
            for _ in range(MAX_PAGES):
                page = await self.api.get_mentions(
                    self.bot_user_id, since_id=since_id, pagination_token=token
                )
                items = parse_mentions_page(page, self.bot_user_id)
                await self.intake.handle(items, self.bot_user_id)
                read += len(items)
                ids = [int(item.event_id) for item in items if item.event_id.isdigit()]
                meta = page.get("meta") or {}
                newest_id = str(meta.get("newest_id") or "")
                newest = max([newest, *ids, int(newest_id) if newest_id.isdigit() else 0])
                token = meta.get("next_token")
                if not token:
                    break
            else:
                log.warning("X mentions: over %d pages in one poll; older ones skipped", MAX_PAGES)
        except RetryLater as exc:
            wait = exc.delay_s or self.interval_s
            self._paused_until = time.monotonic() + wait
            log.warning("X mentions poll paused for %.0f s: %s", wait, exc.reason)
            return read
        except XRequestError as exc:
            log.error("X mentions poll refused: %s", exc)
            return read
        if newest and str(newest) != since_id:
            await set_cursor(db, CURSOR, str(newest))
        return read

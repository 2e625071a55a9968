"""Polling mode (development: no public URL needed): long-poll getUpdates and feed each
update to the same intake as the webhook.

The offset is stored as a cursor after each batch is taken in, so a restart neither misses
nor repeats updates (and the update_id dedupe covers a crash between the two).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from db.channel_state import get_cursor, set_cursor
from db.engine import Database
from handlers.telegram.calls import retry_after_seconds

log = logging.getLogger(__name__)


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        take: Callable[[Update], Awaitable[None]],
        *,
        allowed_updates: Sequence[str],
        timeout_s: int = 25,
    ) -> None:
        self.bot = bot
        self.db = db
        self.take = take
        self.allowed_updates = list(allowed_updates)
        self.timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None

    @property
    def cursor_name(self) -> str:
        return f"telegram:{self.bot.id}:update_offset"

    async def start(self) -> None:
        # getUpdates does not work while a webhook is set; keep the updates queued meanwhile.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._poll(), name="telegram getUpdates")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            self._task = None

    async def _poll(self) -> None:
        offset = int(await get_cursor(self.db, self.cursor_name) or 0)
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset or None,
                    timeout=self.timeout_s,
                    allowed_updates=self.allowed_updates,
                )
                for update in updates:
                    await self.take(update)
                if updates:
                    offset = updates[-1].update_id + 1
                    await set_cursor(self.db, self.cursor_name, str(offset))
                failures = 0
                continue
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
            except (InvalidToken, Conflict) as exc:
                log.error("getUpdates refused (%s); is a webhook set or the token wrong?", exc)
                wait = 30.0
            except (NetworkError, TelegramError) as exc:
                failures += 1
                wait = min(60.0, 2.0**failures) * random.uniform(0.75, 1.25)
                log.warning("getUpdates failed (%s); again in %.0f s", exc, wait)
            except Exception:
                # The intake failed (e.g. the database): keep the offset, take them again.
                failures += 1
                wait = min(60.0, 2.0**failures) * random.uniform(0.75, 1.25)
                log.exception("taking in polled updates failed; again in %.0f s", wait)
            await asyncio.sleep(wait)

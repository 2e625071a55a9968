"""Bot API calls made outside a job's one reply (answers, edits, extra files): retried in
place, honouring 429 retry_after, and run in the background by an `Outbox`.

A job's reply itself is not retried here: the runner retries the whole job (see
`replies`), which is what keeps it from being sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from handlers.telegram.http import DeliveryUnknownError

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asked for (PTB gives an int or a timedelta, depending on its settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_transient(exc: TelegramError) -> bool:
    """Telegram surely did not carry the call out, and trying again may work: a 5xx, or no
    connection. (PTB's BadRequest, a 400, is a NetworkError too; it is not transient. Nor is
    a call that went out and got no answer: it may have been carried out.)"""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | DeliveryUnknownError)


def error_kind(exc: TelegramError) -> str:
    """A short label for metrics and logs."""
    if isinstance(exc, RetryAfter):
        return "retry_after"
    if isinstance(exc, BadRequest):
        return "bad_request"
    if isinstance(exc, DeliveryUnknownError):
        return "delivery_unknown"
    if isinstance(exc, NetworkError):
        return "network"
    if isinstance(exc, Forbidden):
        return "forbidden"
    return "other"


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int = 4,
    max_wait: float = 60.0,
    on_error: Callable[[str], None] | None = None,
) -> T | None:
    """`call()`, tried again after a 429's retry_after or, for a network error or 5xx, after
    1, 2, 4 s. None when it finally fails, when Telegram refuses it (400, 403), or when it may
    already have been carried out (no answer came): such a call is never made twice."""
    for attempt in range(attempts):
        try:
            return await call()
        except TelegramError as exc:
            kind = error_kind(exc)
            if on_error is not None:
                on_error(kind)
            if isinstance(exc, RetryAfter):
                wait = retry_after_seconds(exc)
                if wait > max_wait:
                    log.warning("%s: flood control asks for %.0f s; giving up", what, wait)
                    return None
            elif is_transient(exc):
                wait = 2.0**attempt * random.uniform(0.75, 1.25)
            else:
                log.warning("%s failed (%s): %s", what, kind, exc.message)
                return None
            if attempt + 1 == attempts:
                log.warning("%s failed %d times (%s): %s", what, attempts, kind, exc.message)
                return None
            log.info("%s: %s (%s); trying again in %.1f s", what, exc.message, kind, wait)
            await asyncio.sleep(wait)
    return None


class Outbox:
    """Background sends (answers to commands, button presses, progress messages), so a
    webhook is answered as soon as the update is stored. A few run at a time; `close` waits
    for them briefly at shutdown."""

    def __init__(self, concurrency: int = 8) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, object], what: str) -> None:
        task = asyncio.create_task(self._run(work, what), name=f"telegram: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, object], what: str) -> None:
        async with self._slots:
            try:
                await work
            except TelegramError as exc:
                log.warning("%s failed (%s): %s", what, error_kind(exc), exc.message)
            except Exception:
                log.exception("%s failed", what)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def close(self, grace_s: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

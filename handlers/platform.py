"""The one protocol every channel (web, Telegram, X) implements, and what it is given.

Core code (the worker, the app) talks to channels only through `Platform`; it never imports a
channel module. A channel receives its platform's events on its own routes (verify, parse,
enqueue, answer 200 at once), and the job runner calls it back to fetch the input photo and to
send the result or the one error message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from db.models import Job


@dataclass(frozen=True)
class PeriodicTask:
    """Work a channel (or the app) wants run every `seconds` by the service's scheduler."""

    name: str
    seconds: float
    run: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Reply:
    """A finished picture, ready for a channel to send."""

    image: bytes  # JPEG
    media_key: str
    width: int
    height: int
    operation: str
    filter_name: str | None
    colourised: bool
    had_colour: bool
    seconds: float
    result_id: str  # the result's public id (gallery / share buttons)


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

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        """Send the result; returns the platform's message id (None when nothing is sent)."""
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
    """A short caption: what was done, which filter, seconds taken, AI-colour notice."""
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
            text += " (your photo had colour, so I turned it grey first)"
    return text

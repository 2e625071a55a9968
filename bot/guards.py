"""What every request passes before its handler: its client address is decided (see
`bot.clients`), its body may be no larger than its route takes, and a request with a body must
be sent (and answered) within REQUEST_BODY_TIMEOUT_S.

Body limits are per route: the upload takes a photo of MAX_IMAGE_BYTES or a clip of
MAX_VIDEO_BYTES (the larger; the route itself holds each kind to its own) and its form
fields, a platform webhook one delivery, everything else (vote forms, admin actions, any other
route) a small form. A declared `Content-Length` over the limit is refused before anything is read;
a chunked body is cut off when it passes the limit. A body that arrives too slowly (or never
ends) gets 408 and its connection is closed: the event loop holds nothing else for it, and no
worker or database connection waits on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SMALL_BODY_BYTES = 64 * 1024  # forms (votes), admin actions, any route not listed below
WEBHOOK_BODY_BYTES = 1_000_000  # one platform webhook delivery
UPLOAD_FORM_BYTES = 64 * 1024  # the upload's other form fields and multipart framing


def body_limits(settings: Settings) -> dict[str, int]:
    """The largest body each route takes, by its path template; others take SMALL_BODY_BYTES."""
    return {
        "/api/v1/jobs": max(settings.max_image_bytes, settings.max_video_bytes) + UPLOAD_FORM_BYTES,
        "/webhooks/telegram": WEBHOOK_BODY_BYTES,
        "/webhooks/x": WEBHOOK_BODY_BYTES,
    }


def largest_body(settings: Settings) -> int:
    return max(SMALL_BODY_BYTES, *body_limits(settings).values())


def _too_large(limit: int, declared: int | None = None) -> web.HTTPRequestEntityTooLarge:
    if limit >= 1_000_000:
        shown = f"{limit / 1e6:.0f} MB"
        if declared is not None:
            over = f"{declared / 1e6:.1f} MB, {(declared - limit) / 1e6:.1f} MB over the "
            shown = f"{over}{shown} limit"
            text = f"That request is too large ({shown})."
        else:
            text = f"That request is too large; the limit is {shown}."
    else:
        text = f"That request is too large; the limit is {limit // 1024} KB."
    return web.HTTPRequestEntityTooLarge(max_size=limit, text=text)


def request_guard(services: Services) -> Middleware:
    limits = body_limits(services.settings)
    seconds = services.settings.request_body_timeout_s

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        limit = limits.get(resource.canonical, SMALL_BODY_BYTES) if resource else SMALL_BODY_BYTES
        declared = request.content_length
        if declared is not None and declared > limit:
            raise _too_large(limit, declared)
        request = request.clone(remote=services.clients.address(request), client_max_size=limit)
        if not request.body_exists:
            return await handler(request)
        try:
            async with asyncio.timeout(seconds) as deadline:
                return await handler(request)
        except TimeoutError:
            if not deadline.expired():
                raise
            log.warning(
                "%s %s from %s: no complete request within %.0f s; closed",
                request.method,
                request.path,
                request.remote,
                seconds,
            )
            raise web.HTTPRequestTimeout(
                text="That request took too long to arrive; please try again."
            ) from None
        except web.HTTPRequestEntityTooLarge:
            raise _too_large(limit) from None

    return guard

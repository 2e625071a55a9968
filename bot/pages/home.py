"""`GET /` (the try-it page) and the filter picker's preview tiles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.pages.previews import FilterPreviews, PreviewSet
from bot.pages.rendering import VERSIONED_CACHE, render
from bot.services import SERVICES

log = logging.getLogger(__name__)

PREVIEWS = web.AppKey("filter_previews", FilterPreviews)
PREVIEW_FALLBACK_CACHE = "public, max-age=3600"
DEFAULT_FILTER = "Clarendon"


def add_routes(app: web.Application) -> None:
    filters = app[SERVICES].pipeline.filters
    app[PREVIEWS] = FilterPreviews(filters, filters.names)
    app.add_routes([web.get("/", home), web.get("/filters/{name}.jpg", filter_preview)])
    app.cleanup_ctx.append(_prepare_previews)


async def _prepare_previews(app: web.Application) -> AsyncIterator[None]:
    """Start making the picker tiles as the app starts, so the first visitor need not wait
    for 40 filters to be baked; a request that comes sooner waits for the same work."""
    task = asyncio.create_task(app[PREVIEWS].get(), name="filter-previews")
    task.add_done_callback(_report_preview_failure)
    yield
    task.cancel()
    await asyncio.wait([task])


def _report_preview_failure(task: asyncio.Task[PreviewSet]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("could not make the filter previews (the home page will retry)", exc_info=error)


async def home(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    previews = await request.app[PREVIEWS].get()
    tiles = [
        {"name": name, "url": previews.url(name), "caption": preview.caption}
        for name, preview in previews.tiles.items()
    ]
    return render(
        request,
        "home.html",
        tiles=tiles,
        default_filter=DEFAULT_FILTER,
        can_colorize=services.pipeline.can_colorize,
        max_bytes=services.settings.max_image_bytes,
        max_mb=services.settings.max_image_bytes / 1e6,
        max_video_bytes=services.settings.max_video_bytes,
        max_video_mb=services.settings.max_video_bytes / 1e6,
        max_video_seconds=services.settings.max_video_seconds,
    )


async def filter_preview(request: web.Request) -> web.Response:
    """One picker tile; cached for a year when asked for by the current version's URL."""
    previews = await request.app[PREVIEWS].get()
    tile = previews.tiles.get(request.match_info["name"])
    if tile is None:
        raise web.HTTPNotFound(text="There is no such filter.")
    current = request.query.get("v") == previews.version
    return web.Response(
        body=tile.jpeg,
        content_type="image/jpeg",
        headers={
            "Cache-Control": VERSIONED_CACHE if current else PREVIEW_FALLBACK_CACHE,
            "X-Content-Type-Options": "nosniff",
        },
    )

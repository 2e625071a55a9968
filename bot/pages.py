"""Server-rendered pages (Jinja2, autoescaped), their assets, and the one error renderer.

Errors under /api/ and /webhooks/ are JSON `{"error": ...}`; everywhere else they are the
`404.html` / `error.html` pages. Unexpected exceptions are logged with their traceback and
answered 500 without details. Every page carries a strict Content-Security-Policy: the app
serves all its own assets, and no page has inline script or style.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.previews import FilterPreviews, PreviewSet
from handlers import openapi
from handlers.web import SERVICES

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
JINJA = web.AppKey("jinja", jinja2.Environment)
PREVIEWS = web.AppKey("filter_previews", FilterPreviews)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
VERSIONED_CACHE = "public, max-age=31536000, immutable"
PREVIEW_FALLBACK_CACHE = "public, max-age=3600"
DEFAULT_FILTER = "Clarendon"


def add_routes(app: web.Application) -> None:
    """Pages, static assets, filter preview tiles and the API's OpenAPI document."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app[JINJA] = environment
    filters = app[SERVICES].pipeline.filters
    app[PREVIEWS] = FilterPreviews(filters, filters.names)
    static = app.router.add_static("/static", STATIC, append_version=True, name="static")
    versions: dict[str, str] = {}

    def static_url(filename: str) -> str:
        if filename not in versions:
            versions[filename] = str(static.url_for(filename=filename))
        return versions[filename]

    environment.globals["static_url"] = static_url
    app.add_routes([web.get("/", home), web.get("/filters/{name}.jpg", filter_preview)])
    app.add_routes(openapi.routes())
    app.on_response_prepare.append(_cache_static)
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


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[JINJA].get_template(template).render(request_path=request.path, **context)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


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


async def _cache_static(request: web.Request, response: web.StreamResponse) -> None:
    """Static files asked for by a versioned URL (`?v=<hash>`) never change; any other static
    URL (a JS module's relative import) is revalidated every time."""
    if request.path.startswith("/static/") and response.status in (200, 304):
        response.headers["Cache-Control"] = VERSIONED_CACHE if "v" in request.query else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def render_error(request: web.Request, status: int, message: str) -> web.Response:
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    template = "404.html" if status == 404 else "error.html"
    return render(request, template, status=status, status_code=status, message=message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = (
            exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else (exc.reason)
        )
        response = render_error(request, exc.status, message or exc.reason)
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(request, 500, "Something went wrong on our side. Please try again.")

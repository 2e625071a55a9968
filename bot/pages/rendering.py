"""Server-rendered pages (Jinja2, autoescaped), their static assets, and the one error renderer.

Errors under /api/ and /webhooks/ are JSON `{"error": ...}`; everywhere else they are the
`404.html` / `error.html` pages. Unexpected exceptions are logged with their traceback and
answered 500 without details. Every HTML response (pages, error pages, whatever renders
them) carries the security headers of `PAGE_HEADERS`: a strict Content-Security-Policy (the app
serves all its own assets, and no page has inline script or style), no framing, no referrer to
other sites; every response is `nosniff`, and HSTS is sent when PUBLIC_BASE_URL is https.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.services import SERVICES

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
JINJA = web.AppKey("jinja", jinja2.Environment)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
VERSIONED_CACHE = "public, max-age=31536000, immutable"


def add_templates(app: web.Application) -> None:
    """The template environment and `/static` (versioned URLs via `static_url` in templates)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app[JINJA] = environment
    static = app.router.add_static("/static", STATIC, append_version=True, name="static")
    versions: dict[str, str] = {}

    def static_url(filename: str) -> str:
        if filename not in versions:
            versions[filename] = str(static.url_for(filename=filename))
        return versions[filename]

    environment.globals["static_url"] = static_url
    app.on_response_prepare.append(_cache_static)
    app.on_response_prepare.append(_security_headers)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[JINJA].get_template(template).render(request_path=request.path, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        for name, value in PAGE_HEADERS.items():
            headers.setdefault(name, value)
    base = request.app[SERVICES].settings.public_base_url
    if base is not None and base.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)


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
        if exc.status in (408, 413):  # the rest of the body is not read: close
            response.force_close()
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(request, 500, "Something went wrong on our side. Please try again.")

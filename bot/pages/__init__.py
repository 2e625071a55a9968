"""The service's own web pages: the try-it page (`home`), the gallery, the stats page and
moderation (`admin`), with what only they use: templates, static assets, charts, gallery
thumbnails, visitor cookies, and the filter picker's preview tiles. The API the pages call
(`/api/v1/jobs`) belongs to the web channel, `handlers.web`."""

from __future__ import annotations

from aiohttp import web

from bot.pages import admin, gallery, home, rendering, stats
from bot.pages.rendering import error_middleware

__all__ = ["add_routes", "error_middleware"]


def add_routes(app: web.Application) -> None:
    rendering.add_templates(app)
    home.add_routes(app)
    gallery.add_routes(app)
    stats.add_routes(app)
    admin.add_routes(app)

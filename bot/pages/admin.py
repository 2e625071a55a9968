"""Admin routes, mounted only when ADMIN_TOKEN is set (otherwise they do not exist: 404).

    POST /admin/results/{id}/hide | unhide | feature | unfeature
    Authorization: Bearer <ADMIN_TOKEN>

`{id}` is the result's public id (the one in its /gallery/{id} URL). A hidden item disappears
from every page, from /stats.json and from votes at once; featuring lifts its ranking score
(see `db.ranking`). Answers are JSON.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.services import SERVICES
from db.gallery import moderate

ACTIONS: dict[str, dict[str, bool]] = {
    "hide": {"hidden": True},
    "unhide": {"hidden": False},
    "feature": {"featured": True},
    "unfeature": {"featured": False},
}


def add_routes(app: web.Application) -> None:
    if app[SERVICES].settings.admin_token:
        app.add_routes([web.post("/admin/results/{id}/{action}", moderate_result)])


def is_authorized(request: web.Request, token: str) -> bool:
    """A constant-time comparison of the bearer token."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def moderate_result(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = services.settings.admin_token
    if token is None or not is_authorized(request, token):
        return web.json_response(
            {"error": "a valid `Authorization: Bearer <ADMIN_TOKEN>` header is required"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="colorbot admin"'},
        )
    change = ACTIONS.get(request.match_info["action"])
    if change is None:
        return web.json_response(
            {"error": f"unknown action; use one of {', '.join(ACTIONS)}"}, status=404
        )
    state = await moderate(services.db, request.match_info["id"], **change)
    if state is None:
        return web.json_response({"error": "there is no such result"}, status=404)
    return web.json_response(
        {
            "id": state.public_id,
            "hidden": state.hidden,
            "featured": state.featured,
            "in_gallery": state.gallery,
        }
    )

"""The gallery pages: `GET /gallery` (best first), `GET /gallery/recent`, `GET /gallery/{id}`,
and `POST /gallery/{id}/vote`.

Only results their owners shared, and never hidden ones (`db.gallery` filters every read).
Attribution is what the person made public: an X item shows its @handle and links to the
post; a Telegram item shows a name only if its owner chose to share one; web items are
anonymous. Votes: one per visitor per item (a signed cookie, see `bot.pages.visitors`), with a CSRF
token, rate-limited per visitor and per client address; `fetch()` gets JSON, a plain form post
is redirected back.

A fresh cookie is one more vote, so cookies are not free either: one address gets at most
VISITORS_PER_ADDRESS new ones an hour (past that its pages come without vote buttons), and
at most VOTES_PER_ITEM_PER_ADDRESS of its votes for one item count in a day, however many
cookies it holds (a few, so that a family or an office sharing one address can all vote).
Addresses are `services.clients` keys (TRUSTED_PROXIES, IPv6 by /64).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.pages.rendering import render
from bot.pages.thumbnails import ThumbnailMaker
from bot.pages.visitors import COOKIE_MAX_AGE, COOKIE_NAME, SlidingWindowLimiter, VisitorKeys
from bot.services import SERVICES
from db.gallery import (
    GalleryItem,
    GalleryPage,
    RankCursor,
    add_vote,
    find_item,
    ranked_page,
    recent_page,
    voted_ids,
)
from db.ranking import HOW_RANKING_WORKS

VOTES_PER_VISITOR = (20, 60.0)  # at most 20 votes a minute from one visitor
VOTES_PER_ADDRESS = (60, 60.0)  # and 60 a minute from one address
VOTES_PER_ITEM_PER_ADDRESS = (3, 24 * 3600.0)  # counted votes for one item from one address
VISITORS_PER_ADDRESS = (30, 3600.0)  # new visitor cookies an address is given an hour
CHANNELS = {"web": "Web", "telegram": "Telegram", "x": "X"}
PAGE_CACHE = "private, no-cache"
BROKEN_LINK = "That page link is broken; start again from page 1."
NETWORK_VOTED = "This picture already has all the votes your network can give it today. Thank you!"


@dataclass
class Gallery:
    """The gallery's per-process state, made once with the app."""

    keys: VisitorKeys
    per_visitor: SlidingWindowLimiter
    per_address: SlidingWindowLimiter
    per_item_and_address: SlidingWindowLimiter
    new_visitors: SlidingWindowLimiter
    thumbnails: ThumbnailMaker


GALLERY = web.AppKey("gallery", Gallery)


def add_routes(app: web.Application) -> None:
    services = app[SERVICES]
    app[GALLERY] = Gallery(
        keys=VisitorKeys(services.signer),
        per_visitor=SlidingWindowLimiter(*VOTES_PER_VISITOR),
        per_address=SlidingWindowLimiter(*VOTES_PER_ADDRESS),
        per_item_and_address=SlidingWindowLimiter(*VOTES_PER_ITEM_PER_ADDRESS),
        new_visitors=SlidingWindowLimiter(*VISITORS_PER_ADDRESS),
        thumbnails=ThumbnailMaker(services),
    )
    app.add_routes(
        [
            web.get("/gallery", best),
            web.get("/gallery/recent", recent),
            web.get("/gallery/{id}", item_page),
            web.post("/gallery/{id}/vote", vote),
        ]
    )
    app.cleanup_ctx.append(_close_thumbnails)


async def _close_thumbnails(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[GALLERY].thumbnails.close()


def site_url(request: web.Request) -> str:
    """This site's absolute base URL (PUBLIC_BASE_URL when set)."""
    configured = request.app[SERVICES].settings.public_base_url
    return configured or f"{request.scheme}://{request.host}"


def card(item: GalleryItem, voted: bool) -> dict[str, Any]:
    """What the templates show of one item."""
    title = item.filter_name if item.operation == "filter" and item.filter_name else "Colourised"
    author, author_url = None, None
    if item.channel == "x":
        author = f"@{item.author_handle}" if item.author_handle else None
        author_url = item.post_url
    elif item.channel == "telegram":
        author = item.display_name  # only when its owner chose to share a name
    thumbnail = None
    if item.thumb_webp and item.thumb_jpeg:
        paired = item.before_display is not None
        thumbnail = {
            "webp": f"/media/{item.thumb_webp}",
            "jpeg": f"/media/{item.thumb_jpeg}",
            "paired": paired,
            "width": 800 if paired else 400,
            "height": 400,
        }
    what = {"video": "video", "gif": "GIF"}.get(item.media_kind, "photo")
    clip = None
    if item.media_kind != "photo":
        clip = {
            "kind": item.media_kind,
            "type": item.mime_type,
            "poster": f"/media/{item.poster}" if item.poster else None,
            "length": f"{item.duration_seconds:.0f} s" if item.duration_seconds else None,
        }
    return {
        "id": item.public_id,
        "url": f"/gallery/{item.public_id}",
        "title": title,
        "what": what,
        "alt": f"A {what} with the {title} filter"
        if title != "Colourised"
        else f"A colourised {what}",
        "clip": clip,
        "is_filter": item.operation == "filter",
        "channel": CHANNELS.get(item.channel, item.channel),
        "author": author,
        "author_url": author_url,
        "created_at": item.created_at,
        "date": f"{item.created_at.day} {item.created_at:%b %Y}",
        "after": f"/media/{item.media}",
        "before": f"/media/{item.before_display}" if item.before_display else None,
        "width": item.width,
        "height": item.height,
        "thumbnail": thumbnail,
        "featured": item.featured,
        "votes": item.votes,
        "likes": item.external_likes,
        "voted": voted,
    }


def _visitor(request: web.Request) -> tuple[str | None, bool]:
    """(visitor id, whether it is new and needs its cookie set); (None, False) when the
    address has been given all the new cookies it gets for now."""
    gallery = request.app[GALLERY]
    visitor = gallery.keys.visitor_from(request.cookies.get(COOKIE_NAME))
    if visitor:
        return visitor, False
    if gallery.new_visitors.hit(request.app[SERVICES].clients.key(request)) is not None:
        return None, False
    return gallery.keys.new_visitor(), True


def _voter(visitor: str) -> str:
    return f"web:{visitor}"


async def _render_page(
    request: web.Request, template: str, items: list[GalleryItem], **context: Any
) -> web.Response:
    services = request.app[SERVICES]
    gallery = request.app[GALLERY]
    visitor, new = _visitor(request)
    voted: set[int] = set()
    if visitor is not None and not new:
        voted = await voted_ids(services.db, _voter(visitor), (i.id for i in items))
    gallery.thumbnails.request(i.id for i in items if not i.thumb_webp)
    response = render(
        request,
        template,
        cards=[card(item, item.id in voted) for item in items],
        csrf=gallery.keys.csrf_token(visitor) if visitor is not None else None,
        site_url=site_url(request),
        how_ranking_works=HOW_RANKING_WORKS,
        **context,
    )
    response.headers["Cache-Control"] = PAGE_CACHE
    if visitor is not None and new:
        response.set_cookie(
            COOKIE_NAME,
            gallery.keys.cookie_value(visitor),
            max_age=COOKIE_MAX_AGE,
            path="/gallery",
            httponly=True,
            samesite="Lax",
            secure=site_url(request).startswith("https://"),
        )
    return response


def _page_number(request: web.Request) -> int:
    number = request.query.get("page", "1")
    return int(number) if number.isdigit() and 0 < int(number) < 1_000_000 else 1


async def _list(request: web.Request, view: str, page: GalleryPage) -> web.Response:
    number = _page_number(request)
    next_url = None
    if page.next_cursor is not None:
        key = "after" if view == "best" else "before"
        next_url = f"{request.path}?{key}={page.next_cursor}&page={number + 1}"
    return await _render_page(
        request,
        "gallery.html",
        page.items,
        view=view,
        page_number=number,
        next_url=next_url,
        this_url=request.path_qs,
    )


async def best(request: web.Request) -> web.Response:
    after = None
    if "after" in request.query:
        try:
            after = RankCursor.decode(request.query["after"])
        except ValueError:
            raise web.HTTPBadRequest(text=BROKEN_LINK) from None
    return await _list(request, "best", await ranked_page(request.app[SERVICES].db, after))


async def recent(request: web.Request) -> web.Response:
    before = request.query.get("before")
    if before is not None and not before.isdigit():
        raise web.HTTPBadRequest(text=BROKEN_LINK)
    page = await recent_page(request.app[SERVICES].db, int(before) if before else None)
    return await _list(request, "recent", page)


async def item_page(request: web.Request) -> web.Response:
    item = await find_item(request.app[SERVICES].db, request.match_info["id"])
    if item is None:
        raise web.HTTPNotFound(text="There is no such picture in the gallery (or no longer).")
    return await _render_page(request, "gallery_item.html", [item], this_url=request.path)


_ERRORS: dict[int, type[web.HTTPException]] = {
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    429: web.HTTPTooManyRequests,
}
_BACK = re.compile(r"/gallery(/recent|/[A-Za-z0-9_-]+)?(\?[A-Za-z0-9_.=&-]*)?")


def _refuse(wants_json: bool, status: int, message: str, **headers: str) -> web.Response:
    """JSON for fetch(); the error page (through the one error renderer) for a form post."""
    if wants_json:
        return web.json_response({"error": message}, status=status, headers=headers)
    raise _ERRORS[status](text=message, headers=headers)


def _too_many(wants_json: bool, message: str, wait: float) -> web.Response:
    return _refuse(wants_json, 429, message, **{"Retry-After": str(max(1, round(wait)))})


async def vote(request: web.Request) -> web.Response:
    gallery = request.app[GALLERY]
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = await request.post()
    visitor = gallery.keys.visitor_from(request.cookies.get(COOKIE_NAME))
    token = request.headers.get("X-CSRF-Token") or form.get("csrf")
    if not gallery.keys.csrf_ok(visitor, token if isinstance(token, str) else None):
        return _refuse(
            wants_json, 403, "That vote came without a valid form token; reload and try again."
        )
    assert visitor is not None  # csrf_ok needs one
    address = request.app[SERVICES].clients.key(request)
    wait = gallery.per_address.hit(address)
    if wait is None:
        wait = gallery.per_visitor.hit(visitor)
    if wait is not None:
        return _too_many(wants_json, "That's a lot of votes at once; please wait a moment.", wait)
    public_id = request.match_info["id"]
    counted_for = f"{address} {public_id}"
    wait = gallery.per_item_and_address.hit(counted_for)
    if wait is not None:
        return _too_many(wants_json, NETWORK_VOTED, wait)
    outcome = await add_vote(request.app[SERVICES].db, public_id, _voter(visitor))
    if outcome is None or not outcome.counted:
        gallery.per_item_and_address.give_back(counted_for)
    if outcome is None:
        return _refuse(wants_json, 404, "There is no such picture in the gallery.")
    if wants_json:
        return web.json_response(
            {"id": public_id, "votes": outcome.votes, "counted": outcome.counted, "voted": True}
        )
    back = str(form.get("next") or "")
    if not _BACK.fullmatch(back):
        back = f"/gallery/{public_id}"
    raise web.HTTPSeeOther(f"{back}#item-{public_id}")

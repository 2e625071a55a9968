"""The gallery over HTTP through the real app: what pages show (and never show), OpenGraph,
thumbnails made once, votes (cookie, CSRF, once, rate limits), admin moderation, forgetting,
and a web upload shared with `share=true` reaching the gallery through the worker."""

from __future__ import annotations

import asyncio
import html as html_lib
import io
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import aiohttp
import numpy as np
import pytest
from PIL import Image

from bot.pages.gallery import VOTES_PER_ADDRESS, VOTES_PER_VISITOR
from bot.pages.thumbnails import THUMB_SIDE, ThumbnailMaker
from bot.pages.visitors import COOKIE_NAME
from bot.scheduler import housekeeping_tasks
from bot.services import SERVICES, Services
from db.gallery import find_item
from db.privacy import delete_result, forget_user
from tests.conftest import AppClient as Client
from tests.conftest import MakeApp
from tests.gallery_seed import TESTDATA, photo_pair, seed_item

MakeClient = Callable[..., Awaitable[Client]]
JSON = {"Accept": "application/json"}


@pytest.fixture
def make_client(make_app: MakeApp) -> MakeClient:
    """The real app (web channel) without the scheduler, so that each test decides when the
    gallery's upkeep runs (see the last test for the scheduled tasks)."""

    async def make(run_worker: bool = True, **env: str) -> Client:
        running = await make_app(channels=["web"], run_worker=run_worker, intake=False, **env)
        return running.client

    return make


def services_of(client: Client) -> Services:
    return client.app[SERVICES]


async def page(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:500]
    return text


def tile_ids(html: str) -> list[str]:
    return re.findall(r'<li class="tile" id="item-([^"]+)"', html)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_pages_show_shared_items_with_public_attribution_only(
    make_client: MakeClient,
) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    db, media = services.db, services.media
    x_item = await seed_item(
        db, media, channel="x", author_handle="ada", post_url="https://x.com/bot/status/5"
    )
    anonymous = await seed_item(db, media, channel="telegram", age=timedelta(minutes=1))
    named = await seed_item(db, media, channel="telegram", display_name="Grace", votes=3)
    web_item = await seed_item(db, media, channel="web", operation="colorize", filter_name=None)
    hidden = await seed_item(db, media, votes=90, hidden=True)
    private = await seed_item(db, media, votes=90, gallery=False)
    shown = {x_item.public_id, anonymous.public_id, named.public_id, web_item.public_id}

    for path in ("/gallery", "/gallery/recent"):
        html = await page(client, path)
        assert set(tile_ids(html)) == shown
        assert hidden.public_id not in html and private.public_id not in html
    html = await page(client, "/gallery")
    assert tile_ids(html)[0] == named.public_id  # the most votes
    assert 'by <a href="https://x.com/bot/status/5" rel="nofollow noopener ugc">@ada</a>' in html
    tiles = dict(zip(tile_ids(html), html.split('<li class="tile"')[1:], strict=True))
    assert "by Grace" in tiles[named.public_id]
    assert "shot-author" not in tiles[anonymous.public_id]  # no name unless shared
    assert "shot-author" not in tiles[web_item.public_id]
    assert ">Colourised<" in tiles[web_item.public_id]
    assert "How ranking works" in html and "log10(1 + votes + likes)" in html

    for public_id in (hidden.public_id, private.public_id, "no-such-item"):
        gone = await page(client, f"/gallery/{public_id}", 404)
        assert "There is no such picture in the gallery" in gone
        vote = await client.post(f"/gallery/{public_id}/vote", headers=JSON)
        assert vote.status == 403  # no form token; nothing is revealed either way
    stats = await (await client.get("/stats.json")).json()
    assert {item["id"] for item in stats["gallery"]["top"]} == shown
    assert stats["gallery"]["items"] == 4 and stats["gallery"]["votes"] == 3
    for key in ("author", "handle", "display_name", "name", "post_url"):
        assert f'"{key}"' not in await (await client.get("/stats.json")).text()


async def test_item_page_has_open_graph_and_strict_headers(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    item = await seed_item(services.db, services.media, filter_name="Juno")
    response = await client.get(f"/gallery/{item.public_id}")
    assert response.status == 200
    html = await response.text()
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+=|style=", html)
    base = f"http://{client.host}:{client.port}"
    absolute = re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', html)
    assert absolute and all(url.startswith(base) for url in absolute)  # no CDN, no third party
    og = dict(re.findall(r'<meta property="og:([a-z:_]+)" content="([^"]*)">', html))
    assert og["image"] == f"{base}/media/{item.media}"
    assert og["url"] == f"{base}/gallery/{item.public_id}"
    assert og["type"] == "article" and "Juno" in og["title"]
    assert (og["image:width"], og["image:height"]) != ("", "")
    image = await client.get(og["image"].removeprefix(base))
    assert image.status == 200 and image.content_type == "image/jpeg"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/gallery" in cookie
    with_public_url = await make_client(run_worker=False, PUBLIC_BASE_URL="https://photos.example")
    other = await seed_item(
        services_of(with_public_url).db, services_of(with_public_url).media, pair=1
    )
    response = await with_public_url.get(f"/gallery/{other.public_id}")
    assert f'content="https://photos.example/gallery/{other.public_id}"' in await response.text()
    assert "Secure" in response.headers["Set-Cookie"]


async def test_broken_page_links_get_the_error_page(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    for path in ("/gallery?after=nope", "/gallery?after=nan_3", "/gallery/recent?before=x"):
        html = await page(client, path, 400)
        assert "That page link is broken" in html and "<!doctype html>" in html


def exif_jpeg() -> bytes:
    """A photo whose EXIF carries a GPS position and a camera serial number."""
    exif = Image.Exif()
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPSInfo
    buffer = io.BytesIO()
    Image.open(TESTDATA / "chelsea_grey.png").convert("RGB").save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


async def test_thumbnails_are_made_once_in_the_background_without_metadata(
    make_client: MakeClient,
) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    item = await seed_item(services.db, services.media, pair=1)
    original = exif_jpeg()
    assert Image.open(io.BytesIO(original)).getexif()  # the upload has metadata
    with_exif = await seed_item(services.db, services.media, pair=1, age=timedelta(hours=1))
    async with services.db.sessions.begin() as session:
        from db.models import Result

        row = await session.get(Result, with_exif.id)
        assert row is not None
        row.input_media = services.media.put(original, "jpg")
    lonely = await seed_item(services.db, services.media, before=False, age=timedelta(hours=2))

    html = await page(client, "/gallery")
    assert html.count('class="shot-fallback"') == 3  # the result itself until thumbnails exist
    deadline = time.monotonic() + 60
    for public_id in (item.public_id, with_exif.public_id, lonely.public_id):
        while (found := await find_item(services.db, public_id)) is None or not found.thumb_webp:
            assert time.monotonic() < deadline, "thumbnails were not made"
            await asyncio.sleep(0.05)
    html = await page(client, "/gallery")
    assert 'class="shot-fallback"' not in html
    assert html.count('<source type="image/webp"') == 3
    assert html.count('<button type="button" class="shot-toggle"') == 2  # not for `lonely`

    found = await find_item(services.db, with_exif.public_id)
    assert found is not None and found.thumb_webp and found.thumb_jpeg and found.before_display
    webp = await client.get(f"/media/{found.thumb_webp}")
    assert webp.status == 200 and webp.content_type == "image/webp"
    jpeg = Image.open(io.BytesIO(await (await client.get(f"/media/{found.thumb_jpeg}")).read()))
    side = min(THUMB_SIDE, 300)  # the photo is 451 x 300: its square, no larger
    assert jpeg.size == (2 * side, side)  # [before | after]
    left, right = jpeg.crop((0, 0, side, side)), jpeg.crop((side, 0, 2 * side, side))
    assert _saturation(left) < 5 < _saturation(right)  # grey before, colour after
    before = await client.get(f"/media/{found.before_display}")
    shown = Image.open(io.BytesIO(await before.read()))
    assert not shown.getexif() and "exif" not in shown.info
    item_html = await page(client, f"/gallery/{with_exif.public_id}")
    assert f'src="/media/{found.before_display}"' in item_html
    assert with_exif.input_media not in item_html  # the uploaded file itself is never shown
    single = await find_item(services.db, lonely.public_id)
    assert single is not None and single.before_display is None
    single_jpeg = await client.get(f"/media/{single.thumb_jpeg}")
    assert Image.open(io.BytesIO(await single_jpeg.read())).size == (THUMB_SIDE, THUMB_SIDE)
    # (`lonely` is the 600 x 400 photo: its 400 px square is exactly THUMB_SIDE.)
    assert "Only the result is shown here" in await page(client, f"/gallery/{lonely.public_id}")
    assert await ThumbnailMaker(services).make_missing(10) == 0  # made once


def _saturation(image: Image.Image) -> float:
    return float(np.asarray(image.convert("HSV"))[..., 1].mean())


async def voter(client: Client, path: str = "/gallery") -> str:
    """Become a new visitor (fresh cookie) and return the page's CSRF token."""
    client.session.cookie_jar.clear()
    return csrf_of(await page(client, path))


async def test_one_vote_per_visitor_with_csrf(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    item = await seed_item(services.db, services.media, votes=4)
    url = f"/gallery/{item.public_id}/vote"
    token = await voter(client)
    first = await client.post(url, data={"csrf": token}, headers=JSON)
    assert first.status == 200
    assert await first.json() == {"id": item.public_id, "votes": 5, "counted": True, "voted": True}
    second = await client.post(url, data={"csrf": token}, headers=JSON)
    assert (await second.json())["votes"] == 5 and not (await second.json())["counted"]
    html = await page(client, "/gallery")
    assert 'aria-pressed="true"' in html and '<span class="vote-count" data-count>5</span>' in html

    # No token, a wrong one, or another visitor's: refused, counted nowhere.
    for data in ({}, {"csrf": "x" * 24}, {"csrf": token + "x"}):
        refused = await client.post(url, data=data, headers=JSON)
        assert refused.status == 403 and "form token" in (await refused.json())["error"]
    stolen = token
    await voter(client)
    refused = await client.post(url, data={"csrf": stolen}, headers=JSON)
    assert refused.status == 403
    client.session.cookie_jar.clear()
    refused = await client.post(url, data={"csrf": stolen}, headers=JSON)  # no cookie at all
    assert refused.status == 403
    form_refusal = await client.post(url, data={"csrf": stolen}, allow_redirects=False)
    assert form_refusal.status == 403 and "<!doctype html>" in await form_refusal.text()

    # Without JavaScript: a plain form post, answered with a redirect back to the page.
    token = await voter(client)
    posted = await client.post(
        url, data={"csrf": token, "next": "/gallery?page=1"}, allow_redirects=False
    )
    assert posted.status == 303
    assert posted.headers["Location"] == f"/gallery?page=1#item-{item.public_id}"
    sneaky = await client.post(
        url, data={"csrf": token, "next": "//evil.example/"}, allow_redirects=False
    )
    assert sneaky.headers["Location"] == f"/gallery/{item.public_id}#item-{item.public_id}"
    found = await find_item(services.db, item.public_id)
    assert found is not None and found.votes == 6


async def test_votes_are_rate_limited_per_visitor_and_per_address(
    make_client: MakeClient,
) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    per_visitor, per_address = VOTES_PER_VISITOR[0], VOTES_PER_ADDRESS[0]
    items = [
        await seed_item(services.db, services.media, age=timedelta(minutes=n))
        for n in range(per_visitor + 1)
    ]
    token = await voter(client)
    statuses = [
        (await client.post(f"/gallery/{i.public_id}/vote", data={"csrf": token}, headers=JSON))
        for i in items
    ]
    assert [s.status for s in statuses] == [200] * per_visitor + [429]
    assert int(statuses[-1].headers["Retry-After"]) >= 1
    assert "a lot of votes" in (await statuses[-1].json())["error"]
    attempts = per_visitor + 1
    # New visitors from the same address: the address runs out after `per_address` attempts.
    while attempts < per_address:
        token = await voter(client)
        for item in items[: min(per_visitor, per_address - attempts)]:
            response = await client.post(
                f"/gallery/{item.public_id}/vote", data={"csrf": token}, headers=JSON
            )
            assert response.status == 200
            attempts += 1
    token = await voter(client)
    response = await client.post(
        f"/gallery/{items[0].public_id}/vote", data={"csrf": token}, headers=JSON
    )
    assert response.status == 429
    form = await client.post(
        f"/gallery/{items[0].public_id}/vote", data={"csrf": token}, allow_redirects=False
    )
    assert form.status == 429 and "Retry-After" in form.headers


async def test_admin_routes_need_the_token(make_client: MakeClient) -> None:
    without = await make_client(run_worker=False)
    item = await seed_item(services_of(without).db, services_of(without).media)
    off = await without.post(f"/admin/results/{item.public_id}/hide")
    assert off.status == 404  # no ADMIN_TOKEN: the routes do not exist

    client = await make_client(run_worker=False, ADMIN_TOKEN="s3cret-token")
    services = services_of(client)
    top = await seed_item(services.db, services.media, votes=9)
    low = await seed_item(services.db, services.media, age=timedelta(hours=1))
    hide = f"/admin/results/{top.public_id}/hide"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        refused = await client.post(hide, headers=headers)
        assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert top.public_id in await page(client, "/gallery")

    admin = {"Authorization": "Bearer s3cret-token"}
    hidden = await client.post(hide, headers=admin)
    assert await hidden.json() == {
        "id": top.public_id,
        "hidden": True,
        "featured": False,
        "in_gallery": True,
    }
    for path in ("/gallery", "/gallery/recent", "/stats", "/stats.json"):
        assert top.public_id not in await page(client, path), path
    await page(client, f"/gallery/{top.public_id}", 404)

    await client.post(f"/admin/results/{top.public_id}/unhide", headers=admin)
    assert tile_ids(await page(client, "/gallery"))[0] == top.public_id
    featured = await client.post(f"/admin/results/{low.public_id}/feature", headers=admin)
    assert (await featured.json())["featured"] is True
    html = await page(client, "/gallery")
    assert tile_ids(html)[0] == low.public_id and '<span class="badge">Featured</span>' in html
    await client.post(f"/admin/results/{low.public_id}/unfeature", headers=admin)
    assert tile_ids(await page(client, "/gallery"))[0] == top.public_id
    unknown = await client.post(f"/admin/results/{low.public_id}/delete", headers=admin)
    assert unknown.status == 404
    missing = await client.post("/admin/results/nothing/hide", headers=admin)
    assert missing.status == 404


async def test_forgotten_items_vanish_with_their_thumbnails(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    db, media = services.db, services.media
    telegram = await seed_item(db, media, channel="telegram", user="4242", votes=5, pair=2)
    x_post = await seed_item(db, media, channel="x", author_handle="bo", votes=4, pair=3)
    kept = await seed_item(db, media, votes=1)
    assert await ThumbnailMaker(services).make_missing(10) == 3
    forgotten = await find_item(db, telegram.public_id)
    assert forgotten is not None and forgotten.thumb_webp and forgotten.before_display

    # What the Telegram /forget and the X "delete" handlers do.
    existed, keys = await forget_user(db, "telegram", "4242")
    assert existed
    keys += await delete_result(db, x_post.id)
    for key in keys:
        media.delete(key)
    assert forgotten.thumb_webp in keys and forgotten.before_display in keys
    for path in ("/gallery", "/gallery/recent", "/stats", "/stats.json"):
        html = await page(client, path)
        assert telegram.public_id not in html and x_post.public_id not in html, path
        assert kept.public_id in html, path
    await page(client, f"/gallery/{telegram.public_id}", 404)
    await page(client, f"/gallery/{x_post.public_id}", 404)
    gone = await client.get(f"/media/{forgotten.thumb_jpeg}")
    assert gone.status == 404


async def test_a_shared_web_upload_reaches_the_gallery(make_client: MakeClient) -> None:
    client = await make_client()
    statuses = {}
    for share in ("true", None):
        form = aiohttp.FormData()
        form.add_field("image", photo_pair(0)[0], filename="p.png", content_type="image/png")
        form.add_field("operation", "filter")
        form.add_field("filter", "Lo-Fi")
        if share:
            form.add_field("share", share)
        accepted = await (await client.post("/api/v1/jobs", data=form)).json()
        for _ in range(1200):
            job = await (await client.get(accepted["status_url"])).json()
            if job["status"] in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
        assert job["status"] == "done", job
        statuses[share] = job
    shared, private = statuses["true"], statuses[None]
    assert shared["gallery_url"] is not None and private["gallery_url"] is None
    item_html = await page(client, shared["gallery_url"])
    assert html_lib.escape("Lo-Fi") in item_html and "Web" in item_html
    public_id = shared["gallery_url"].rsplit("/", 1)[1]
    for path in ("/gallery", "/gallery/recent"):
        assert tile_ids(await page(client, path)) == [public_id]


async def test_the_scheduler_runs_the_gallery_upkeep(make_client: MakeClient) -> None:
    client = await make_client(run_worker=False)
    services = services_of(client)
    item = await seed_item(services.db, services.media, score=0.0, votes=3)
    tasks = {task.name: task for task in housekeeping_tasks(services)}
    assert {"gallery-scores", "gallery-thumbnails", "roll-up-latency"} <= set(tasks)
    await tasks["gallery-scores"].run()
    await tasks["gallery-thumbnails"].run()
    await tasks["roll-up-latency"].run()
    found = await find_item(services.db, item.public_id)
    assert found is not None and found.score > 0 and found.thumb_webp is not None

"""The gallery and the stats page in a real headless Chromium against the real service on
127.0.0.1: two photos shared through the web API (share=true) and run by the worker, plus
seeded items with real photos; the browser flips a card to "before", votes (the count goes up
once, a second vote changes nothing), pages on, opens an item, moves its before/after slider
(keyboard and pointer) and opens /stats. Screenshots (desktop and phone) go to
artifacts/screenshots/.

Skipped when /usr/bin/chromium is missing, unless COLORBOT_REQUIRE_BROWSER=1 (CI) says to fail.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from bot.app import close_services, create_app, open_services
from bot.pages.thumbnails import ThumbnailMaker
from bot.services import Services
from bot.settings import Settings
from db.gallery import PAGE_SIZE
from db.models import utcnow
from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, VIEWPORTS, sized_context
from tests.gallery_seed import TESTDATA, seed_item, seed_usage_history
from tests.web_app import shared_pipeline

pytestmark = pytest.mark.browser

SEEDED = 28  # + 2 through the API: 30 items, so two pages


@dataclass
class Site:
    url: str
    services: Services


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[Site]:
    """The real service (web + worker) on a free port of 127.0.0.1, its gallery empty."""
    settings = Settings.from_env(
        {
            "COLORBOT_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/colorbot.db",
            "USER_JOBS_PER_HOUR": "1000",
        }
    )
    services = await open_services(settings, shared_pipeline())
    # intake=False leaves out only the housekeeping scheduler (see tests/test_web_api.py).
    app = create_app(services, intake=False, channel_names=["web"])
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield Site(f"http://{host}:{port}", services)
    finally:
        await runner.cleanup()
        await close_services(services)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The real service, with a filled gallery."""
    async with serving(tmp_path) as running:
        await fill_gallery(running.url, running.services)
        yield running


async def share_through_the_api(url: str, photo: Path, filter_name: str) -> None:
    async with aiohttp.ClientSession() as http:
        form = aiohttp.FormData()
        form.add_field("image", photo.read_bytes(), filename=photo.name, content_type="image/png")
        form.add_field("operation", "filter")
        form.add_field("filter", filter_name)
        form.add_field("share", "true")
        async with http.post(f"{url}/api/v1/jobs", data=form) as response:
            assert response.status == 202, await response.text()
            status_url = (await response.json())["status_url"]
        for _ in range(600):
            async with http.get(url + status_url) as response:
                body = await response.json()
            if body["status"] in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
        assert body["status"] == "done", body
        assert body["gallery_url"] is not None


async def fill_gallery(url: str, services: Services) -> None:
    for index in range(SEEDED):
        channel = ("web", "telegram", "x")[index % 3]
        await seed_item(
            services.db,
            services.media,
            channel=channel,
            operation="colorize" if index % 4 == 0 else "filter",
            filter_name=("Lo-Fi", "Clarendon", "Juno", "Valencia", "Nashville")[index % 5],
            votes=(index * 7) % 5,
            external_likes=3 if channel == "x" and index % 2 else 0,
            featured=index == 9,
            age=timedelta(hours=3 * index + 2),
            pair=index,
            author_handle=f"photo_fan{index}" if channel == "x" else None,
            post_url=f"https://x.com/colorbot/status/{1000 + index}" if channel == "x" else None,
            display_name="Ada" if channel == "telegram" and index % 2 else None,
        )
    await share_through_the_api(url, TESTDATA / "coffee_grey.png", "Lo-Fi")
    await share_through_the_api(url, TESTDATA / "chelsea_grey.png", "Clarendon")
    made = await ThumbnailMaker(services).make_missing(100)
    assert made == SEEDED + 2
    await seed_usage_history(services.db, 21, utcnow())


async def test_gallery_vote_paginate_item_and_stats(chromium: Path, site: Site) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for size in VIEWPORTS:
                await visit(browser, site.url, size)
        finally:
            await browser.close()


async def visit(browser: Browser, url: str, size: str) -> None:
    phone = size == "phone"
    context = await sized_context(browser, size)
    try:
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: _note_error(problems, message))
        page.on("pageerror", lambda error: problems.append(str(error)))
        first_page = await gallery_first_page(page, url, size)
        await second_page(page, first_page)
        await item_page(page, size, phone)
        await stats_page(page, url, size)
        assert problems == [], problems
    finally:
        await context.close()


async def gallery_first_page(page: Page, url: str, size: str) -> set[str]:
    response = await page.goto(url + "/gallery")
    assert response is not None and response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    tiles = page.locator(".gallery-grid > li")
    await expect(tiles).to_have_count(PAGE_SIZE)
    first = tiles.first
    await expect(first.locator("picture source[type='image/webp']")).to_have_count(1)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery-grid img')].slice(0, 4)"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    await page.screenshot(path=SCREENSHOTS / f"gallery-{size}.png", full_page=True)

    # Before/after on a card: a real button (keyboard), which shifts the picture.
    toggle = first.locator(".shot-toggle")
    await expect(toggle).to_be_visible()
    image = first.locator(".shot-picture img")
    shifted = await image.evaluate("img => getComputedStyle(img).transform")
    await toggle.focus()
    await toggle.press("Enter")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(first.locator(".shot-side-before")).to_be_visible()
    await page.wait_for_function(
        "img => getComputedStyle(img).transform === 'none'", arg=await image.element_handle()
    )
    assert shifted != "none"
    await page.screenshot(path=SCREENSHOTS / f"gallery-before-{size}.png")
    await toggle.press("Space")
    await expect(toggle).to_have_attribute("aria-pressed", "false")

    # Vote once: the count goes up; a second vote changes nothing.
    vote = first.locator(".vote-button")
    count = first.locator("[data-count]")
    before = int(await count.inner_text())
    await expect(vote).to_have_attribute("aria-pressed", "false")
    await vote.click()
    await expect(count).to_have_text(str(before + 1))
    await expect(vote).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#vote-status")).to_have_text("Thank you for your vote!")
    await vote.click()
    await expect(page.locator("#vote-status")).to_have_text("You've already voted for this one.")
    await expect(count).to_have_text(str(before + 1))
    await page.reload()
    await expect(page.locator(".gallery-grid > li").first.locator("[data-count]")).to_have_text(
        str(before + 1)
    )
    return set(await page.locator(".gallery-grid > li").evaluate_all("li => li.map(l => l.id)"))


async def second_page(page: Page, first_ids: set[str]) -> None:
    await page.get_by_role("link", name="Next page").click()
    await expect(page).to_have_url(re.compile(r"/gallery\?after="))
    tiles = page.locator(".gallery-grid > li")
    await expect(tiles).to_have_count(SEEDED + 2 - PAGE_SIZE)
    ids = set(await tiles.evaluate_all("li => li.map(l => l.id)"))
    assert not ids & first_ids
    await expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    await expect(page.locator(".pager-here")).to_have_text("Page 2")
    await page.get_by_role("link", name="First page").click()
    await expect(tiles).to_have_count(PAGE_SIZE)


async def item_page(page: Page, size: str, phone: bool) -> None:
    title = page.locator(".gallery-grid > li").nth(1).locator(".shot-title")
    name = await title.inner_text()
    await title.click()
    await expect(page.locator("h1")).to_have_text(name)
    og_image = page.locator('meta[property="og:image"]')
    assert (await og_image.get_attribute("content") or "").startswith("http://127.0.0.1:")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#compare img')]"
        ".every(i => i.complete && i.naturalWidth)"
    )
    slider = page.locator("#split")
    split = "getComputedStyle(document.getElementById('compare')).getPropertyValue('--split')"
    await slider.focus()
    for _ in range(5):
        await page.keyboard.press("ArrowRight")
    assert await slider.input_value() == "55"
    assert (await page.evaluate(split)).strip() == "55%"
    await page.keyboard.press("Home")
    await expect(slider).to_have_attribute("aria-valuetext", "0% before, 100% after")
    box = await page.locator("#compare").bounding_box()
    assert box is not None
    if phone:
        await page.touchscreen.tap(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    else:
        await page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
        await page.mouse.down()
        await page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
        await page.mouse.up()
    assert abs(int(await slider.input_value()) - 30) <= 2
    await page.screenshot(path=SCREENSHOTS / f"gallery-item-{size}.png", full_page=True)


async def stats_page(page: Page, url: str, size: str) -> None:
    response = await page.goto(url + "/stats")
    assert response is not None and response.status == 200
    charts = page.locator("figure.chart svg")
    await expect(charts).to_have_count(4)
    await expect(page.locator("figure.chart-jobs rect")).not_to_have_count(0)
    await expect(page.locator("figure.chart-latency polyline")).not_to_have_count(0)
    assert await page.locator("figure.chart-filters .row-label").count() >= 5
    await page.screenshot(path=SCREENSHOTS / f"stats-{size}.png", full_page=True)


def _note_error(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(message.text)

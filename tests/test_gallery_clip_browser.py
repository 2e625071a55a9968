"""Clips in the gallery, in a real headless Chromium against the real service on 127.0.0.1:
a video and a GIF shared through the web API (share=true) and run by the worker; on the
gallery page the video's card plays (muted, looping) while on screen and its toggle shows the
original, playing; the item page's Before / After stage plays the result and the original.
Screenshots go to artifacts/screenshots/ (gallery-clips-*, gallery-clip-item-*).

Skipped when /usr/bin/chromium is missing, unless COLORBOT_REQUIRE_BROWSER=1 (CI) says to fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from bot.pages.thumbnails import ThumbnailMaker
from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, sized_context
from tests.clip_helpers import grey_gif, grey_video
from tests.test_gallery_browser import Site, serving

pytestmark = pytest.mark.browser


async def share_clip(url: str, clip: Path) -> str:
    """Upload and wait for the job; returns its gallery URL."""
    async with aiohttp.ClientSession() as http:
        form = aiohttp.FormData()
        form.add_field("image", clip.read_bytes(), filename=clip.name)
        form.add_field("share", "true")
        async with http.post(f"{url}/api/v1/jobs", data=form) as response:
            assert response.status == 202, await response.text()
            accepted = await response.json()
        headers = {"Authorization": f"Bearer {accepted['token']}"}
        for _ in range(1200):
            async with http.get(url + accepted["status_url"], headers=headers) as response:
                job = await response.json()
            if job["status"] in ("done", "failed"):
                assert job["status"] == "done", job
                return str(job["gallery_url"])
            await asyncio.sleep(0.1)
    raise TimeoutError("the clip job did not finish")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with serving(tmp_path) as running:
        yield running


async def test_clip_cards_loop_and_toggle_and_the_item_page_plays_both(
    chromium: Path, site: Site, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    video_url = await share_clip(
        site.url, grey_video(tmp_path / "street.mp4", frames=40, size=(192, 144), fps=10)
    )
    await share_clip(site.url, grey_gif(tmp_path / "loop.gif", frames=12, size=(120, 90)))
    assert await ThumbnailMaker(site.services).make_missing(10) == 2
    video_card = f"#item-{video_url.rsplit('/', 1)[1]}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for size in ("desktop", "phone"):
                context = await sized_context(browser, size)
                page = await context.new_page()
                problems: list[str] = []
                page.on("pageerror", lambda error, seen=problems: seen.append(str(error)))
                await page.goto(site.url + "/gallery/recent")
                after = page.locator(f"{video_card} .shot-clip-after")
                before = page.locator(f"{video_card} .shot-clip-before")
                await page.wait_for_function(  # the preview plays while on screen
                    f"() => document.querySelector('{video_card} .shot-clip-after')"
                    ".currentTime > 0.3"
                )
                assert await after.evaluate("v => v.muted && v.loop && !v.paused") is True
                await expect(before).to_be_hidden()  # until the toggle asks for it
                gif = page.locator(".is-clip img.shot-clip-after")
                await expect(gif).to_have_count(1)
                assert await gif.evaluate("i => i.complete && i.naturalWidth") == 120
                await page.screenshot(path=SCREENSHOTS / f"gallery-clips-{size}.png")

                await page.locator(f"{video_card} .shot-toggle").click()
                await expect(before).to_be_visible()
                await expect(after).to_be_hidden()
                await page.wait_for_function(
                    f"() => {{ const v = document.querySelector('{video_card} .shot-clip-before');"
                    " return v.readyState >= 2 && !v.paused && v.videoWidth === 192; }"
                )
                assert await after.evaluate("v => v.paused") is True
                await page.screenshot(path=SCREENSHOTS / f"gallery-clips-before-{size}.png")

                await page.goto(site.url + video_url)
                await page.wait_for_function(
                    "() => { const v = document.querySelector('#clip-after');"
                    " return v.readyState >= 2 && v.videoWidth === 192 && v.currentTime > 0.2; }"
                )
                await page.locator("#show-before").click()
                await page.wait_for_function(
                    "() => { const v = document.querySelector('#clip-before');"
                    " return !v.hidden && v.readyState >= 2 && !v.paused; }"
                )
                await expect(page.locator("#clip-tag")).to_have_text("Before")
                await page.screenshot(
                    path=SCREENSHOTS / f"gallery-clip-item-{size}.png", full_page=True
                )
                assert problems == [], problems
                await context.close()
        finally:
            await browser.close()

"""The home page with clips, in a real headless Chromium against the real service on
127.0.0.1: upload a black-and-white GIF (and an MP4), watch the progress bar fill, then play
the result and toggle before/after; the page's media elements must really hold the result
(an image decoded to its size, a video with frames to show). Screenshots go to
artifacts/screenshots/ (clip-progress, clip-result, clip-before, clip-video).

Skipped when /usr/bin/chromium is missing, unless COLORBOT_REQUIRE_BROWSER=1 (CI) says to fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import FilePayload, Page, async_playwright, expect

from inference.video import VideoEngine
from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, sized_context
from tests.clip_helpers import grey_gif, grey_video
from tests.test_gallery_browser import serving
from tests.test_home_page_browser import _note_error
from tests.video_builders import read_clip

pytestmark = pytest.mark.browser

GIF_FRAMES = 400  # 40 s of GIF: long enough to work on that the page sees it part-way


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    """The real service (web + worker); its clips report progress every 0.2 s (the service
    does once a second) so that the page sees the bar part-way on a fast machine too."""
    async with serving(tmp_path) as site:
        services = site.services
        services.video = VideoEngine(
            services.pipeline.colorizer,
            services.pipeline.filters,
            services.video.compute,
            services.video_limits,
            progress_every_s=0.2,
        )
        yield site.url


def media_ready(selector: str) -> str:
    """A predicate: the element shows a picture (an image decoded, a video with a frame)."""
    return (
        f"() => {{ const e = document.querySelector({selector!r});"
        " return e instanceof HTMLImageElement ? e.complete && e.naturalWidth > 0"
        " : e.readyState >= 2 && e.videoWidth > 0; }"
    )


async def test_a_gif_shows_progress_then_plays_with_a_before_after_toggle(
    chromium: Path, base_url: str, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gif = grey_gif(tmp_path / "old-film.gif", frames=GIF_FRAMES, size=(240, 180))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await sized_context(browser, "desktop")
            page = await context.new_page()
            problems: list[str] = []
            page.on("console", lambda message: _note_error(problems, message))
            page.on("pageerror", lambda error: problems.append(str(error)))
            await page.goto(base_url + "/")
            await page.set_input_files(
                "#image",
                files=FilePayload(name=gif.name, mimeType="image/gif", buffer=gif.read_bytes()),
            )
            await expect(page.locator("#chosen-image")).to_be_visible()
            await expect(page.locator("#submit")).to_have_text("Colourise")
            await page.locator("#submit").click()

            await expect(page.locator("#progress")).to_be_visible()
            await expect(page.locator("#progress-title")).to_have_text("Working on your GIF")
            await expect(page.locator("#progress-bar.is-determinate")).to_be_attached(
                timeout=120_000
            )
            await expect(page.locator("#progress-text")).to_contain_text("Colourising your GIF:")
            await page.wait_for_function(  # part-way: the bar fills as the frames are done
                "() => { const n = Number(document.querySelector('#progress-bar')"
                ".getAttribute('aria-valuenow')); return n > 0 && n < 100; }",
                timeout=120_000,
            )
            await expect(page.locator("#progress-text")).to_contain_text(" left")
            filled = (  # the bar shows what the text says: its filled share, in per cent
                "e => [Math.round(100 * e.querySelector('span').getBoundingClientRect().width"
                " / e.getBoundingClientRect().width), Number(e.getAttribute('aria-valuenow'))]"
            )
            shown, said = await page.locator("#progress-bar").evaluate(filled)
            assert abs(shown - said) <= 1, (shown, said)
            await page.screenshot(path=SCREENSHOTS / "clip-progress-desktop.png")

            await expect(page.locator("#result")).to_be_visible(timeout=180_000)
            await expect(page.locator("#result-title")).to_have_text("Your GIF, colourised")
            await expect(page.locator("#clip-view")).to_be_visible()
            await expect(page.locator("#compare")).to_be_hidden()
            await page.wait_for_function(media_ready("#gif-after"))
            after = page.locator("#gif-after")
            await expect(after).to_be_visible()
            assert await after.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [
                240,
                180,
            ]
            assert (await after.get_attribute("src") or "").endswith(".gif")
            await expect(page.locator("#show-after")).to_have_attribute("aria-pressed", "true")
            await page.screenshot(path=SCREENSHOTS / "clip-result-desktop.png", full_page=True)

            await page.locator("#show-before").click()
            await expect(page.locator("#gif-before")).to_be_visible()
            await expect(after).to_be_hidden()
            await expect(page.locator("#show-before")).to_have_attribute("aria-pressed", "true")
            await expect(page.locator("#clip-tag")).to_have_text("Before")
            await page.wait_for_function(media_ready("#gif-before"))
            await page.screenshot(path=SCREENSHOTS / "clip-before-desktop.png", full_page=True)

            href = await page.locator("#download").get_attribute("href")
            assert href is not None and href.startswith("/media/") and href.endswith(".gif")
            assert (await page.locator("#download").get_attribute("download") or "").endswith(
                ".gif"
            )
            download = await page.request.get(base_url + href)
            assert download.headers["content-type"] == "image/gif"
            result = tmp_path / "result.gif"
            result.write_bytes(await download.body())
            assert read_clip(result).frames == GIF_FRAMES
            assert problems == [], problems
        finally:
            await browser.close()


async def test_an_mp4_result_plays_in_a_video_element_and_keeps_its_moment(
    chromium: Path, base_url: str, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = grey_video(tmp_path / "street.mp4", frames=30, size=(192, 128), fps=10)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await sized_context(browser, "phone")
            page = await context.new_page()
            await upload_clip(page, base_url, clip.read_bytes(), "street.mp4", "video/mp4")
            await expect(page.locator("#result")).to_be_visible(timeout=180_000)
            await expect(page.locator("#result-title")).to_have_text("Your video, colourised")
            await page.wait_for_function(media_ready("#clip-after"))
            video = page.locator("#clip-after")
            assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [192, 128]
            assert await video.evaluate("v => v.muted && v.loop") is True
            assert (await video.get_attribute("poster") or "").endswith(".jpg")
            await page.wait_for_function(
                "() => document.querySelector('#clip-after').currentTime > 0.3"
            )  # it plays
            await page.screenshot(path=SCREENSHOTS / "clip-video-phone.png", full_page=True)
            await page.locator("#show-before").click()
            before = page.locator("#clip-before")
            await expect(before).to_be_visible()
            await page.wait_for_function(media_ready("#clip-before"))
            assert await video.evaluate("v => v.paused") is True
            moment = await before.evaluate("v => v.currentTime")
            assert moment > 0.2  # took over from the moment the result had reached
        finally:
            await browser.close()


async def upload_clip(page: Page, base_url: str, data: bytes, name: str, mime: str) -> None:
    await page.goto(base_url + "/")
    await page.set_input_files("#image", files=FilePayload(name=name, mimeType=mime, buffer=data))
    await expect(page.locator("#chosen-video")).to_be_visible()
    await page.locator("#submit").click()

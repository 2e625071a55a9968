"""The home page in a real headless Chromium against the real service on 127.0.0.1: pick a
filter, upload a photo, wait for the result, compare before/after with the keyboard, check the
download link; screenshots (desktop and phone) go to artifacts/screenshots/.

Skipped when /usr/bin/chromium is missing, unless COLORBOT_REQUIRE_BROWSER=1 (CI) says to fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import ConsoleMessage, FilePayload, Page, async_playwright, expect

from bot.app import close_services, create_app, open_services
from bot.pages.home import PREVIEWS
from bot.settings import Settings
from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, VIEWPORTS, sized_context

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "testdata" / "coffee_color.png"


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    """The real service (web + worker + scheduler) listening on a free port of 127.0.0.1."""
    settings = Settings.from_env(
        {
            "COLORBOT_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/colorbot.db",
            "COLORBOT_MODEL_DIR": str(tmp_path / "models"),
        }
    )
    services = await open_services(settings)
    app = create_app(services, channel_names=["web"])  # as `colorbot serve` runs it
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await app[PREVIEWS].get()  # the picker tiles: 40 filters baked once (seconds)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
        await close_services(services)


async def test_upload_filter_compare_download(chromium: Path, base_url: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for size in VIEWPORTS:
                context = await sized_context(browser, size)
                try:
                    await filter_a_photo(await context.new_page(), base_url, size)
                finally:
                    await context.close()
        finally:
            await browser.close()


async def filter_a_photo(page: Page, base_url: str, size: str) -> None:
    """The whole flow on one page; screenshots named after `size`."""
    problems: list[str] = []
    page.on("console", lambda message: _note_error(problems, message))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = await page.goto(base_url + "/")
    assert response is not None and response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]

    # Every picker tile is a real image made by the filters.
    await expect(page.locator("#filters img")).to_have_count(40)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#filters img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    await page.locator(".choice", has_text="Filter").click()
    await page.locator("label.filter", has_text="Lo-Fi").click()
    await expect(page.locator('input[name="filter"][value="Lo-Fi"]')).to_be_checked()
    await expect(page.locator('input[name="share"]')).not_to_be_checked()
    await page.set_input_files("#image", str(PHOTO))
    await expect(page.locator("#chosen")).to_be_visible()
    await expect(page.locator("#submit")).to_have_text("Apply Lo-Fi")
    await page.screenshot(path=SCREENSHOTS / f"home-{size}.png", full_page=True)

    await page.locator("#submit").click()
    await expect(page.locator("#result")).to_be_visible(timeout=120_000)
    await expect(page.locator("#result-title")).to_have_text("Lo-Fi applied")
    assert await page.locator("#after").evaluate("img => img.complete && img.naturalWidth") == 600
    assert await page.locator("#before").evaluate("img => img.naturalWidth") == 600

    slider = page.locator("#split")
    await slider.focus()
    for _ in range(5):
        await page.keyboard.press("ArrowRight")
    assert await slider.input_value() == "55"
    await page.keyboard.press("Home")
    split = "getComputedStyle(document.getElementById('compare')).getPropertyValue('--split')"
    assert (await page.evaluate(split)).strip() == "0%"
    await page.keyboard.press("End")
    await expect(slider).to_have_attribute("aria-valuetext", "100% before, 0% after")
    for _ in range(30):
        await page.keyboard.press("ArrowLeft")
    assert await slider.input_value() == "70"

    href = await page.locator("#download").get_attribute("href")
    assert href is not None and href.startswith("/media/") and href.endswith(".jpg")
    download = await page.request.get(base_url + href)
    assert download.status == 200
    assert download.headers["content-type"] == "image/jpeg"
    await page.screenshot(path=SCREENSHOTS / f"result-{size}.png", full_page=True)

    await page.locator("#result [data-action=restart]").click()
    await expect(page.locator("#upload")).to_be_visible()
    await expect(page.locator("#chosen")).to_be_hidden()
    assert problems == [], problems


def _note_error(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(message.text)


async def test_bad_upload_shows_the_servers_message(chromium: Path, base_url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(base_url + "/")
            await page.locator("#submit").click()
            error = page.locator("#form-error")
            await expect(error).to_have_text("Please choose a photo or a video first.")
            notes = FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"hi " * 50)
            await page.set_input_files("#image", files=notes)
            await page.locator("#submit").click()
            await expect(error).to_contain_text("isn't a photo")
            await expect(page.locator("#upload")).to_be_visible()
        finally:
            await browser.close()

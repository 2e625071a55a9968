"""What the headless-browser tests share: where Chromium is, how it is started on a machine
with a closed network, where screenshots go, and the two window sizes looked at."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium keeps trying hosts this closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


async def sized_context(browser: Browser, size: str) -> BrowserContext:
    """A browser context at one of `VIEWPORTS`; "phone" is a 2x touch screen."""
    width, height = VIEWPORTS[size]
    phone = size == "phone"
    return await browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )

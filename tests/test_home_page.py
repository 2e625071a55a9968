"""The home page and its assets over HTTP (no browser): what the page offers, the filter
preview tiles, cache and security headers, and the HTML error pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.pages.home import DEFAULT_FILTER, PREVIEWS
from bot.services import SERVICES
from inference.filter_names import FILTER_NAMES
from inference.images import decode_image
from tests.web_app import Client, app_clients

SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "pages" / "static" / "sample.jpg"


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Client]:
    async with app_clients(aiohttp_client, tmp_path) as make:
        yield await make(run_worker=False)


async def test_home_page_offers_every_filter_with_its_preview(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "img-src 'self' blob: data:" in csp
    assert "'unsafe-inline'" not in csp
    html = await response.text()
    names = re.findall(r'<input type="radio" name="filter" value="([^"]+)"', html)
    assert names == list(FILTER_NAMES)
    assert re.search(rf'value="{DEFAULT_FILTER}" data-looks="[^"]+"\s+checked>', html)
    tiles = re.findall(r'<img src="(/filters/[^"]+)"', html)
    assert len(tiles) == len(FILTER_NAMES)
    assert all(re.fullmatch(r"/filters/[^/]+\.jpg\?v=[0-9a-f]{12}", url) for url in tiles)
    # The share box is there, unchecked; no inline script, style or event handler anywhere.
    assert re.search(r'<input type="checkbox" name="share" value="true"[^>]*>', html)
    assert 'name="share" value="true" checked' not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+=|style=", html)


async def test_colourise_is_offered_only_with_a_model(client: Client) -> None:
    html = await (await client.get("/")).text()
    colorize = re.search(r'<input type="radio" name="operation" value="colorize"[^>]*>', html)
    assert colorize is not None
    if client.app[SERVICES].pipeline.can_colorize:
        assert "checked" in colorize.group(0) and "disabled" not in colorize.group(0)
        assert 'id="colorize-off"' not in html
    else:
        assert "disabled" in colorize.group(0)
        assert "no colourisation\n      model is installed" in html


async def test_preview_tiles_are_the_sample_through_each_filter(client: Client) -> None:
    previews = await client.app[PREVIEWS].get()
    sample = decode_image(SAMPLE.read_bytes())
    assert SAMPLE.stat().st_size < 20_000 and sample.shape == (160, 160, 3)
    seen: set[bytes] = set()
    for name in ("Lo-Fi", "Moon", "Clarendon"):
        response = await client.get(previews.url(name))
        assert response.status == 200
        assert response.content_type == "image/jpeg"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        tile = await response.read()
        pixels = decode_image(tile)
        assert pixels.shape == sample.shape
        assert np.abs(pixels.astype(int) - sample.astype(int)).mean() > 2, name
        seen.add(tile)
    assert len(seen) == 3, "two filters gave the same tile"
    stale = await client.get("/filters/Lo-Fi.jpg?v=000000000000")
    assert stale.status == 200 and "immutable" not in stale.headers["Cache-Control"]
    missing = await client.get("/filters/Sharpen.jpg")
    assert missing.status == 404 and missing.content_type == "text/html"


async def test_static_assets_are_versioned_and_cached(client: Client) -> None:
    html = await (await client.get("/")).text()
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {url.split("?")[0] for url in urls} >= {"/static/site.css", "/static/home.js"}
    for url in urls:
        response = await client.get(url)
        assert response.status == 200, url
        assert "?v=" in url and response.headers["Cache-Control"].endswith("immutable"), url
    module = await client.get("/static/jobs.js")  # imported by home.js without a version
    assert module.status == 200 and module.headers["Cache-Control"] == "no-cache"
    assert module.content_type in ("application/javascript", "text/javascript")


async def test_error_pages_are_html_with_the_message(client: Client) -> None:
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "Content-Security-Policy" in response.headers
    html = await response.text()
    assert "Not found" in html and "There is nothing at this address." in html
    tile = await client.get("/filters/Sharpen.jpg")
    assert "There is no such filter." in await tile.text()
    api = await client.get("/api/v1/nothing-here")
    assert api.status == 404 and (await api.json())["error"]

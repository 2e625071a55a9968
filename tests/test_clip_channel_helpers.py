"""What channels share for clips: the input kind from a declared MIME type, a download
streamed to a file within the byte limit (a real aiohttp server on 127.0.0.1), and the words
of a progress report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from handlers.clips import clip_kind_for, format_seconds, progress_text, save_capped
from inference.video import VideoError, VideoProgress

BODY = b"0123456789" * 10_000  # 100 kB


async def stream(request: web.Request) -> web.StreamResponse:
    """Chunked: no Content-Length, so the limit is only found while reading."""
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(BODY), 8192):
        await response.write(BODY[start : start + 8192])
    await response.write_eof()
    return response


async def whole(request: web.Request) -> web.Response:
    return web.Response(body=BODY)


@pytest.fixture
async def base_url(aiohttp_server: Any) -> str:
    app = web.Application()
    app.add_routes([web.get("/stream", stream), web.get("/whole", whole)])
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("path", ["/stream", "/whole"])
async def test_save_capped_writes_a_download_that_fits(
    base_url: str, path: str, tmp_path: Path
) -> None:
    target = tmp_path / "input"
    async with aiohttp.ClientSession() as http, http.get(base_url + path) as response:
        assert await save_capped(response, target, len(BODY)) == len(BODY)
    assert target.read_bytes() == BODY


async def test_save_capped_refuses_a_declared_size_over_the_limit_by_how_much(
    base_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "input"
    async with aiohttp.ClientSession() as http, http.get(base_url + "/whole") as response:
        with pytest.raises(VideoError) as refused:
            await save_capped(response, target, 40_000)
    assert refused.value.reason == "too_many_bytes"
    assert "(0.1 MB, 0.1 MB over the 0.04 MB limit)" in refused.value.user_message
    assert not target.exists()


async def test_save_capped_stops_a_stream_that_passes_the_limit_and_removes_it(
    base_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "input"
    async with aiohttp.ClientSession() as http, http.get(base_url + "/stream") as response:
        with pytest.raises(VideoError) as refused:
            await save_capped(response, target, 50_000)
    assert "over the 0.05 MB limit" in refused.value.user_message
    assert not target.exists()


def test_clip_kind_for_declared_mime_types() -> None:
    assert clip_kind_for("video/mp4") == "video"
    assert clip_kind_for("video/quicktime; codecs=avc1") == "video"
    assert clip_kind_for("IMAGE/GIF") == "gif"
    assert clip_kind_for("image/jpeg") is None
    assert clip_kind_for(None) is None


def test_progress_text() -> None:
    assert (
        progress_text(VideoProgress(0.4, 11.2, 40, 100), "colorize")
        == "Colourising your video: 40 % · about 12 s left"
    )
    assert progress_text(VideoProgress(0.0, None, 0, 10), "filter", "gif") == (
        "Filtering your GIF: 0 %"
    )
    assert progress_text(VideoProgress(1.0, 0.0, 10, 10), "colorize") == (
        "Colourising your video: done, sending it"
    )
    assert format_seconds(65) == "1 min 5 s" and format_seconds(120) == "2 min"

"""What a request may cost the service, tried against the real app on 127.0.0.1 with a raw
socket where an HTTP client library would be too polite: a body limit on every route (webhooks
included), slow and never-ending bodies cut off (408 / 413, connection closed) while others are
served, oversized headers refused, and paths that try to climb out of /media and /static."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.guards import SMALL_BODY_BYTES, WEBHOOK_BODY_BYTES, body_limits
from bot.services import SERVICES
from tests.conftest import AppClient, MakeApp
from tests.fake_telegram import FakeTelegram
from tests.fake_x import FakeX
from tests.service_process import photo_bytes
from tests.telegram_helpers import SECRET_HEADER, WEBHOOK_SECRET, running_fake, telegram_env
from tests.x_helpers import running_fake as running_fake_x
from tests.x_helpers import x_env


@dataclass
class Fakes:
    telegram: FakeTelegram
    x: FakeX


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with running_fake() as telegram, running_fake_x() as x:
        yield Fakes(telegram, x)


async def every_channel(make_app: MakeApp, fakes: Fakes, **env: str) -> AppClient:
    settings = {**telegram_env(fakes.telegram), **x_env(fakes.x), "ADMIN_TOKEN": "admin-0123"}
    app = await make_app(channels=["web", "telegram", "x"], run_worker=False, **settings, **env)
    return app.client


@dataclass
class Exchange:
    answer: bytes  # what the server sent (status line, headers, body)
    sent: int  # body bytes the client got to send before the answer came
    closed: bool  # whether the server closed the connection after answering


async def send_slowly(
    client: AppClient, head: str, pieces: list[bytes], every_s: float, wait_s: float = 5.0
) -> Exchange:
    """Send the request head, then `pieces` of body `every_s` apart, stopping as soon as the
    server answers; then read until it closes (at most `wait_s` after the last piece, and
    aiohttp's own 10 s lingering). Bounded: it stops by itself."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    sent = 0
    answer = b""
    try:
        writer.write(head.encode())
        await writer.drain()
        for piece in pieces:
            try:
                answer = await asyncio.wait_for(reader.read(65536), every_s)
            except TimeoutError:
                answer = b""
            if answer:
                break
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        rest = b""
        if not answer:
            answer = await asyncio.wait_for(reader.read(65536), wait_s)
        try:
            rest = await asyncio.wait_for(reader.read(), wait_s + 15)
            closed = True
        except TimeoutError:
            closed = False
        return Exchange(answer + rest, sent, closed)
    except (TimeoutError, ConnectionResetError):
        return Exchange(answer, sent, False)
    finally:
        writer.close()


def status_of(exchange: Exchange) -> int:
    first = exchange.answer.split(b"\r\n", 1)[0].decode("latin-1")
    return int(first.split()[1]) if first.startswith("HTTP/1.") else 0


def upload_head(client: AppClient, length: int) -> str:
    return (
        f"POST /api/v1/jobs HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )


async def test_a_slow_body_times_out_while_others_are_served(
    make_app: MakeApp, fakes: Fakes
) -> None:
    client = await every_channel(make_app, fakes, REQUEST_BODY_TIMEOUT_S="1")
    slow = asyncio.create_task(
        send_slowly(client, upload_head(client, 100_000), [b"-"] * 60, every_s=0.25)
    )
    webhook_head = (
        f"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{SECRET_HEADER}: {WEBHOOK_SECRET}\r\nContent-Length: 5000\r\n\r\n"
    )
    slow_webhook = asyncio.create_task(send_slowly(client, webhook_head, [b" "] * 60, 0.25))
    # Meanwhile the service answers everyone else as usual.
    assert (await client.get("/healthz")).status == 200
    form = aiohttp.FormData()
    form.add_field("image", photo_bytes(1), filename="p.jpg", content_type="image/jpeg")
    form.add_field("filter", "Lo-Fi")
    assert (await client.post("/api/v1/jobs", data=form)).status == 202
    for exchange in (await slow, await slow_webhook):
        assert status_of(exchange) == 408, exchange.answer[:200]
        assert exchange.sent < 60, "the server waited for the whole trickle"
        assert b"took too long" in exchange.answer
        assert exchange.closed, "the connection was left open"
    assert (await client.get("/healthz")).status == 200


async def test_a_never_ending_chunked_body_is_cut_off(make_app: MakeApp, fakes: Fakes) -> None:
    client = await every_channel(make_app, fakes)
    chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"  # 16 KiB chunks, never a last one
    routes = {"/gallery/anything/vote": SMALL_BODY_BYTES, "/webhooks/x": WEBHOOK_BODY_BYTES}
    heads = [
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        "\r\nTransfer-Encoding: chunked\r\n\r\n"
        for path in routes
    ]
    exchanges = await asyncio.gather(  # 3.2 MB each at most
        *(send_slowly(client, head, [chunk] * 200, every_s=0.01) for head in heads)
    )
    for (path, limit), exchange in zip(routes.items(), exchanges, strict=True):
        assert status_of(exchange) == 413, (path, exchange.answer[:200])
        assert limit <= exchange.sent < limit + 10 * len(chunk), path
        assert exchange.closed, path


async def test_every_route_refuses_a_body_over_its_limit(make_app: MakeApp, fakes: Fakes) -> None:
    client = await every_channel(make_app, fakes)
    huge_update = {"update_id": 1, "message": {"text": "x" * (WEBHOOK_BODY_BYTES + 10)}}
    telegram = await client.post(
        "/webhooks/telegram",
        data=json.dumps(huge_update),
        headers={SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
    )
    assert telegram.status == 413 and "too large" in (await telegram.json())["error"]
    form_body = {"csrf": "x", "padding": "p" * SMALL_BODY_BYTES}
    for path in ("/gallery/anything/vote", "/admin/results/anything/hide"):
        response = await client.post(path, data=form_body)
        assert response.status == 413, path
        assert "too large" in await response.text()
    # The upload: a photo within MAX_IMAGE_BYTES, but a form that never ends in fields.
    form = aiohttp.FormData()
    form.add_field("image", photo_bytes(2), filename="p.jpg", content_type="image/jpeg")
    for n in range(100):
        form.add_field(f"field{n}", "v")
    crowded = await client.post("/api/v1/jobs", data=form)
    assert crowded.status == 400 and "too many fields" in (await crowded.json())["error"]
    # Over the upload's limit (the larger of MAX_IMAGE_BYTES and MAX_VIDEO_BYTES, and a form).
    over = body_limits(client.app[SERVICES].settings)["/api/v1/jobs"] + 1_000_000
    declared = await send_slowly(client, upload_head(client, over), [], every_s=0.1)
    assert status_of(declared) == 413 and declared.closed  # refused before reading any of it
    assert b"1.0 MB over the 50 MB limit" in declared.answer
    assert (await client.get("/healthz")).status == 200


async def test_oversized_headers_are_refused_and_the_service_goes_on(
    make_app: MakeApp, fakes: Fakes
) -> None:
    client = await every_channel(make_app, fakes)
    for head in (
        f"GET /gallery HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 20_000}\r\n\r\n",
        "GET /gallery HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-{n}: v\r\n" for n in range(500)),
        f"GET /{'p' * 20_000} HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        exchange = await send_slowly(client, head + "\r\n", [], every_s=0.1)
        assert 400 <= status_of(exchange) < 500, exchange.answer[:200]
    assert (await client.get("/healthz")).status == 200


async def test_paths_cannot_climb_out_of_media_or_static(make_app: MakeApp, fakes: Fakes) -> None:
    client = await every_channel(make_app, fakes)
    for path in (
        "/media/..%2F..%2Fcolorbot.db",
        "/media/%2e%2e/cookie-secret",
        "/media/..%2Fcookie-secret",
        "/media/1.x/..%2F..%2Fcolorbot.db",
        "/static/..%2F..%2Fsettings.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2F..%2F..%2Fpyproject.toml",
    ):
        head = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        exchange = await send_slowly(client, head, [], every_s=0.1)
        assert status_of(exchange) in (403, 404), (path, exchange.answer[:200])
        for secret in (b"SQLite format", b"[project]", b"class Settings"):
            assert secret not in exchange.answer, path

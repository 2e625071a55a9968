"""Which client a request counts as: X-Forwarded-For only from TRUSTED_PROXIES, IPv6 by /64,
through the real app's per-client upload limit (USER_JOBS_PER_HOUR=1) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clients import client_key, parse_address
from tests.service_process import photo_bytes
from tests.web_app import Client, MakeClient, app_clients


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakeClient]:
    async with app_clients(aiohttp_client, tmp_path) as make:
        yield make


class Uploads:
    """Distinct photos, so that each upload is a new job."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seed = 100

    async def status(self, forwarded_for: str | None = None) -> int:
        self.seed += 1
        form = aiohttp.FormData()
        form.add_field("image", photo_bytes(self.seed), filename="p.jpg", content_type="image/jpeg")
        form.add_field("filter", "Lo-Fi")
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        response = await self.client.post("/api/v1/jobs", data=form, headers=headers)
        return response.status


@pytest.mark.parametrize("trusted", [None, "10.0.0.0/8,192.0.2.1"])
async def test_forwarded_for_from_anyone_else_is_ignored(
    make_client: MakeClient, trusted: str | None
) -> None:
    env = {"TRUSTED_PROXIES": trusted} if trusted else {}
    uploads = Uploads(await make_client(run_worker=False, USER_JOBS_PER_HOUR="1", **env))
    assert await uploads.status("198.51.100.1") == 202
    for forged in ("198.51.100.2", "203.0.113.5, 198.51.100.3", "2001:db8::1", None):
        assert await uploads.status(forged) == 429, forged  # still the peer, 127.0.0.1


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    make_client: MakeClient,
) -> None:
    uploads = Uploads(
        await make_client(
            run_worker=False, USER_JOBS_PER_HOUR="1", TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8"
        )
    )
    assert await uploads.status("198.51.100.1") == 202
    assert await uploads.status("198.51.100.2") == 202  # another client
    assert await uploads.status("198.51.100.1") == 429  # the first one again
    # Read from the right: what the client wrote itself (the left part) changes nothing.
    assert await uploads.status("6.6.6.6, 198.51.100.3, 10.1.2.3") == 202
    assert await uploads.status("7.7.7.7, 198.51.100.3") == 429
    # IPv6: one /64 is one client.
    assert await uploads.status("2001:db8:1:2::1") == 202
    assert await uploads.status("[2001:db8:1:2:ffff::9]:4711") == 429
    assert await uploads.status("2001:db8:1:3::1") == 202
    assert await uploads.status(None) == 202  # the proxy itself is a client too
    assert await uploads.status(None) == 429


def test_addresses_as_proxies_write_them() -> None:
    assert str(parse_address("198.51.100.7:5678")) == "198.51.100.7"
    assert str(parse_address(" [2001:db8::5]:443 ")) == "2001:db8::5"
    assert str(parse_address("::ffff:192.0.2.9")) == "192.0.2.9"
    for junk in ("", "unknown", "1.2.3", "<script>", "2001:db8::g"):
        assert parse_address(junk) is None, junk
    assert client_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_key("192.0.2.9") == "192.0.2.9"

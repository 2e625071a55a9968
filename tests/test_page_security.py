"""Security headers on every HTML response, cookie flags, and forged cross-site requests
(votes, moderation), through the real app on 127.0.0.1."""

from __future__ import annotations

import pytest

from bot.pages.visitors import COOKIE_NAME
from bot.services import SERVICES
from db.gallery import find_item
from tests.conftest import AppClient, MakeApp
from tests.gallery_seed import seed_item


async def start(make_app: MakeApp, **env: str) -> AppClient:
    app = await make_app(channels=["web"], run_worker=False, intake=False, **env)
    return app.client


async def html_paths(client: AppClient) -> dict[str, int]:
    """Every kind of HTML response the app gives, and its status."""
    services = client.app[SERVICES]
    item = await seed_item(services.db, services.media)
    return {
        "/": 200,
        "/gallery": 200,
        "/gallery/recent": 200,
        f"/gallery/{item.public_id}": 200,
        "/stats": 200,
        "/gallery/no-such-item": 404,
        "/no/such/page": 404,
        "/gallery?after=nope": 400,
        f"/gallery/{item.public_id}/vote": 405,  # GET on a POST route
    }


@pytest.mark.parametrize("base", [None, "https://photos.example"])
async def test_every_html_response_carries_the_security_headers(
    make_app: MakeApp, base: str | None
) -> None:
    client = await start(make_app, **({"PUBLIC_BASE_URL": base} if base else {}))
    for path, status in (await html_paths(client)).items():
        response = await client.get(path)
        assert response.status == status, path
        assert response.content_type == "text/html", path
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp, path
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert ("Strict-Transport-Security" in headers) == (base is not None), path
    api = await client.get("/api/v1/jobs/none")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("base", [None, "https://photos.example"])
async def test_every_cookie_is_httponly_samesite_and_secure_on_https(
    make_app: MakeApp, base: str | None
) -> None:
    client = await start(make_app, **({"PUBLIC_BASE_URL": base} if base else {}))
    seen = 0
    for path in await html_paths(client):
        client.session.cookie_jar.clear()
        response = await client.get(path)
        for cookie in response.headers.getall("Set-Cookie", []):
            seen += 1
            assert cookie.startswith(f"{COOKIE_NAME}="), cookie
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
            assert ("Secure" in cookie) == (base is not None), cookie
    assert seen >= 3  # the gallery pages hand out the visitor cookie


async def test_forged_cross_site_votes_and_moderation_are_refused(make_app: MakeApp) -> None:
    client = await start(make_app, ADMIN_TOKEN="admin-secret-0123")
    services = client.app[SERVICES]
    item = await seed_item(services.db, services.media)
    await client.get("/gallery")  # the victim's browser holds a visitor cookie
    # Another site's form can make the browser send the cookie (if SameSite allowed it) but
    # cannot read the page's token: the vote is refused and nothing is counted.
    forged = await client.post(
        f"/gallery/{item.public_id}/vote",
        data={"csrf": "guessed"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert forged.status == 403
    # Moderation takes only the bearer header, which no cross-site form can set.
    for headers, data in (
        ({}, {"token": "admin-secret-0123"}),
        ({"Authorization": "Basic YWRtaW4tc2VjcmV0LTAxMjM="}, {}),
        ({"Authorization": "Bearer admin-secret-012"}, {}),
        ({"Cookie": "token=admin-secret-0123"}, {}),
    ):
        response = await client.post(
            f"/admin/results/{item.public_id}/hide", data=data, headers=headers
        )
        assert response.status == 401, headers
    shown = await find_item(services.db, item.public_id)
    assert shown is not None and shown.votes == 0  # still visible, nothing counted

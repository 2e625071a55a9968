"""Stuffing the gallery's votes, as the issue's attacker did it, against the real app on
127.0.0.1: a fresh visitor cookie per vote, from one address and from several. Clients are
told apart by X-Forwarded-For from a trusted proxy (TRUSTED_PROXIES=127.0.0.1)."""

from __future__ import annotations

import re

from bot.pages.gallery import VISITORS_PER_ADDRESS, VOTES_PER_ITEM_PER_ADDRESS
from bot.pages.visitors import COOKIE_NAME
from bot.services import SERVICES
from db.gallery import find_item
from tests.conftest import AppClient, MakeApp
from tests.gallery_seed import seed_item

JSON = {"Accept": "application/json"}


async def start(make_app: MakeApp) -> AppClient:
    app = await make_app(
        channels=["web"], run_worker=False, intake=False, TRUSTED_PROXIES="127.0.0.1"
    )
    return app.client


async def fresh_visitor(client: AppClient, address: str, path: str = "/gallery") -> str | None:
    """Drop every cookie, load a page as a new visitor from `address`; its vote token."""
    client.session.cookie_jar.clear()
    response = await client.get(path, headers={"X-Forwarded-For": address})
    assert response.status == 200
    found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    return found.group(1) if found else None


async def vote(client: AppClient, public_id: str, token: str, address: str) -> tuple[int, dict]:
    response = await client.post(
        f"/gallery/{public_id}/vote",
        data={"csrf": token},
        headers={**JSON, "X-Forwarded-For": address},
    )
    return response.status, await response.json()


async def test_fresh_cookies_do_not_add_votes_past_a_few_per_address(make_app: MakeApp) -> None:
    client = await start(make_app)
    services = client.app[SERVICES]
    item = await seed_item(services.db, services.media)
    other = await seed_item(services.db, services.media, pair=1)
    allowed = VOTES_PER_ITEM_PER_ADDRESS[0]
    home = "198.51.100.20"

    first = await fresh_visitor(client, home)
    assert first is not None
    for _ in range(3):  # one visitor's repeats count once and use up nothing
        await vote(client, item.public_id, first, home)
    outcomes = [await vote(client, item.public_id, first, home)]
    for _ in range(allowed + 3):
        token = await fresh_visitor(client, home)
        assert token is not None
        outcomes.append(await vote(client, item.public_id, token, home))
    counted = [body.get("counted") for code, body in outcomes if code == 200]
    refused = [body for code, body in outcomes if code == 429]
    assert counted == [False] + [True] * (allowed - 1)
    assert len(refused) == 4 and "your network" in refused[0]["error"]
    found = await find_item(services.db, item.public_id)
    assert found is not None and found.votes == allowed

    # The same address may still vote for another picture; another address for this one.
    token = await fresh_visitor(client, home)
    assert token is not None
    assert (await vote(client, other.public_id, token, home))[0] == 200
    token = await fresh_visitor(client, "203.0.113.30")
    assert token is not None
    code, body = await vote(client, item.public_id, token, "203.0.113.30")
    assert code == 200 and body["counted"] and body["votes"] == allowed + 1


async def test_an_address_gets_only_so_many_new_visitor_cookies(make_app: MakeApp) -> None:
    client = await start(make_app)
    services = client.app[SERVICES]
    item = await seed_item(services.db, services.media)
    address = "198.51.100.40"
    client.session.cookie_jar.clear()
    kept = await client.get("/gallery", headers={"X-Forwarded-For": address})
    kept_cookie = kept.cookies[COOKIE_NAME].value
    for _ in range(VISITORS_PER_ADDRESS[0] - 1):
        assert await fresh_visitor(client, address) is not None
    client.session.cookie_jar.clear()
    refused = await client.get("/gallery", headers={"X-Forwarded-For": address})
    assert COOKIE_NAME not in refused.cookies
    html = await refused.text()
    assert item.public_id in html and 'name="csrf"' not in html  # the pictures, no votes
    page = await client.get(f"/gallery/{item.public_id}", headers={"X-Forwarded-For": address})
    assert "Voting from your network is paused" in await page.text()

    # A visitor who already has a cookie is unaffected; so is another address.
    client.session.cookie_jar.update_cookies({COOKIE_NAME: kept_cookie})
    again = await client.get("/gallery", headers={"X-Forwarded-For": address})
    assert 'name="csrf"' in await again.text()
    assert await fresh_visitor(client, "203.0.113.41") is not None

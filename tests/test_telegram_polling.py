"""Polling mode (no public URL): getUpdates long-polling feeds the same intake as the webhook,
and its offset survives a restart; a worker-only process takes no updates at all."""

from __future__ import annotations

import asyncio

import pytest

from db.channel_state import get_cursor
from tests.conftest import MakeApp
from tests.fake_telegram import FakeTelegram
from tests.telegram_helpers import (
    ALICE,
    TOKEN,
    colour_jpeg,
    fake,
    no_token_leaks,
    wait_for_jobs,
)

pytestmark = pytest.mark.usefixtures("no_token_leaks")
__all__ = ["fake", "no_token_leaks"]


def polling_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "USER_JOBS_PER_HOUR": "1000",
        **extra,
    }


async def test_polling_takes_updates_and_keeps_its_offset_across_a_restart(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    fake.webhook = {"url": "https://old.example/webhooks/telegram"}  # left over: deleted first
    first = await make_app(channels=["telegram"], **polling_env(fake))
    assert first.services.settings.telegram is not None
    assert first.services.settings.telegram.mode == "polling"
    assert fake.calls("setWebhook") == [] and fake.webhook == {}
    photo = fake.updates.photo(ALICE, colour_jpeg(), caption="/filter Lo-Fi")
    fake.queue_update(photo)
    fake.queue_update(fake.updates.text(ALICE, "/help"))
    await fake.wait_for(
        lambda: len(fake.sent("sendPhoto")) == 1 and len(fake.sent("sendMessage")) == 1
    )
    await wait_for_jobs(first.db, 1)
    cursor = f"telegram:{fake.me['id']}:update_offset"
    async with asyncio.timeout(5):
        while await get_cursor(first.db, cursor) != str(photo["update_id"] + 2):
            await asyncio.sleep(0.05)
    await first.client.close()
    polls_before = len(fake.calls("getUpdates"))
    # Telegram keeps unconfirmed updates: a restart must not take the old ones again.
    later = fake.updates.text(ALICE, "/start")
    fake.queue_update(later)
    settings = first.services.settings
    second = await make_app(
        channels=["telegram"],
        **polling_env(
            fake, COLORBOT_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url
        ),
    )
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    first_poll = fake.calls("getUpdates")[polls_before]
    assert first_poll.params["offset"] == photo["update_id"] + 2
    assert first_poll.params["allowed_updates"] == ["message", "callback_query"]
    assert int(first_poll.params["timeout"]) == 25
    await asyncio.sleep(0.5)
    assert len(fake.sent("sendPhoto")) == 1 and len(fake.sent("sendMessage")) == 2
    assert second.services.channels["telegram"] is not None


async def test_a_worker_process_takes_no_updates(make_app: MakeApp, fake: FakeTelegram) -> None:
    await make_app(channels=["telegram"], intake=False, **polling_env(fake))
    await asyncio.sleep(0.3)
    assert [
        c.method
        for c in fake.calls("getMe", "getUpdates", "setWebhook", "deleteWebhook", "setMyCommands")
    ] == ["getMe"]

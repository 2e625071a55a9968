"""The Telegram channel end to end: updates POSTed to the real webhook route of the real app
(real SQLite, real filters, real worker), everything the bot does checked at the fake Bot API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import close_services, create_app, open_services
from bot.settings import Settings
from db.results import get_result_for_job
from inference.pipeline import PhotoPipeline
from tests.conftest import MakeApp
from tests.fake_telegram import FakeTelegram
from tests.telegram_helpers import (
    ADMIN,
    ALICE,
    BOB,
    WEBHOOK_SECRET,
    assert_no_token_in_replies,
    buttons_of,
    colour_jpeg,
    colour_png,
    deliver,
    fake,
    grey_jpeg,
    jobs_of,
    no_token_leaks,
    picture_size,
    reply_to_id,
    start_app,
    stored_rows,
    telegram_env,
    wait_for_events,
    wait_for_jobs,
)

pytestmark = pytest.mark.usefixtures("no_token_leaks")
__all__ = ["fake", "no_token_leaks"]


async def test_start_registers_the_webhook_with_its_secret_and_the_command_menu(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    await start_app(make_app, fake)
    assert [c.method for c in fake.calls("getMe", "setMyCommands", "setWebhook")] == [
        "getMe",
        "setMyCommands",
        "setWebhook",
    ]
    assert fake.webhook["url"] == "https://bot.example/webhooks/telegram"
    assert fake.webhook["secret_token"] == WEBHOOK_SECRET
    assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
    assert {c["command"] for c in fake.commands} >= {"filter", "filters", "colorize", "help"}
    assert fake.calls("getUpdates") == []


async def test_a_webhook_telegram_refuses_stops_the_start(
    fake: FakeTelegram, pipeline: PhotoPipeline, tmp_path: Path
) -> None:
    fake.fail("setWebhook", 400)
    settings = Settings.from_env(
        {
            "COLORBOT_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/colorbot.db",
            **telegram_env(fake),
        }
    )
    services = await open_services(settings, pipeline)
    server = TestServer(create_app(services, channel_names=["telegram"]))
    try:
        with pytest.raises(RuntimeError, match="could not register the Telegram webhook"):
            await server.start_server()
    finally:
        await server.close()
        await close_services(services)


async def test_filter_lofi_in_a_caption_gets_the_filtered_photo(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    update = fake.updates.photo(ALICE, colour_jpeg(160, 120), caption="/filter Lo-fi")
    assert await deliver(app, fake, update) == 200
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1)
    [photo] = fake.sent("sendPhoto")
    assert picture_size(photo) == (160, 120)
    assert photo.encoding == "multipart"
    assert photo.params["chat_id"] == ALICE
    assert reply_to_id(photo) == update["message"]["message_id"]
    caption = photo.params["caption"]
    assert "Lo-Fi" in caption and " s" in caption
    assert [text for text, _ in buttons_of(photo)] == [
        "Share to gallery",
        "Before / after",
        "Try another filter",
    ]
    assert all(len(data.encode()) <= 64 for _, data in buttons_of(photo) if data)
    assert len(fake.calls("download")) == 1
    [get_file] = fake.calls("getFile")
    assert get_file.params["file_id"] == update["message"]["photo"][-1]["file_id"]
    assert fake.calls("sendChatAction")[0].params["action"] == "upload_photo"
    assert_no_token_in_replies(fake)
    print(fake.format_transcript())


async def test_filter_as_a_reply_to_a_photo_and_with_the_bot_name(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    photo = fake.updates.photo(ALICE, colour_jpeg(120, 90))
    photo_message = photo["message"]
    # The photo alone is a colourise request (or, without the model, a "not available" answer).
    assert await deliver(app, fake, photo) == 200
    await fake.wait_for(lambda: len(fake.replies()) == 1)
    for text in ("/filter lofi", "/filter@colorbot_test_bot CLARENDON"):
        command = fake.updates.text(ALICE, text, reply_to=photo_message)
        assert await deliver(app, fake, command) == 200

    def filtered_photos() -> list[Any]:
        sent = fake.sent("sendPhoto")
        return [c for c in sent if not c.params["caption"].startswith("Colourised")]

    await fake.wait_for(lambda: len(filtered_photos()) >= 2)
    filtered = filtered_photos()
    # Two jobs on two worker loops: either may be answered first.
    assert sorted(c.params["caption"].split(" · ")[0] for c in filtered) == ["Clarendon", "Lo-Fi"]
    for call in filtered:
        assert picture_size(call) == (120, 90)
        assert reply_to_id(call) == photo_message["message_id"]


async def test_a_black_and_white_photo_is_colourised_then_filtered(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    await deliver(app, fake, fake.updates.photo(ALICE, grey_jpeg(128, 96), caption="/filter Lo-Fi"))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1)
    [photo] = fake.sent("sendPhoto")
    assert picture_size(photo) == (128, 96)
    caption = photo.params["caption"]
    if app.services.pipeline.can_colorize:
        assert caption.startswith("Colourised, then Lo-Fi") and "AI-generated" in caption
    else:  # without a colouriser the filter still runs, on the grey photo
        assert caption.startswith("Lo-Fi") and "AI-generated" not in caption


async def test_a_photo_alone_is_colourised_or_offers_the_filters(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    update = fake.updates.photo(ALICE, grey_jpeg(100, 80))
    await deliver(app, fake, update)
    await fake.wait_for(lambda: len(fake.replies()) == 1)
    [reply] = fake.replies()
    assert reply_to_id(reply) == update["message"]["message_id"]
    if app.services.pipeline.can_colorize:
        assert reply.method == "sendPhoto" and picture_size(reply) == (100, 80)
        assert "Colourised" in reply.params["caption"] and "AI-generated" in reply.params["caption"]
        return
    assert reply.method == "sendMessage" and "isn't available" in reply.params["text"]
    assert len(buttons_of(reply)) == len(app.services.pipeline.filters.names)
    # The picker replies to the photo: a tap filters that photo.
    picker = fake.messages[reply.result["message_id"]]
    await deliver(app, fake, fake.updates.press(ALICE, picker, "f:Clarendon"))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1)
    [photo] = fake.sent("sendPhoto")
    assert photo.params["caption"].startswith("Clarendon")
    assert reply_to_id(photo) == update["message"]["message_id"]
    assert [c.params.get("text") for c in fake.sent("answerCallbackQuery")] == [
        "Clarendon: coming up!"
    ]


async def test_an_image_sent_as_a_file(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    png = fake.updates.document(
        ALICE,
        colour_png(90, 70),
        file_name="scan.png",
        mime_type="image/png",
        caption="/filter Crema",
    )
    await deliver(app, fake, png)
    unnamed = fake.updates.document(
        ALICE,
        colour_jpeg(70, 50),
        file_name="IMG_1.JPG",
        mime_type="application/octet-stream",
        caption="Moon",
    )
    await deliver(app, fake, unnamed)
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 2)
    sizes = sorted(picture_size(c) for c in fake.sent("sendPhoto"))
    assert sizes == [(70, 50), (90, 70)]
    assert sorted(c.params["caption"].split(" · ")[0] for c in fake.sent("sendPhoto")) == [
        "Crema",
        "Moon",
    ]


async def test_filter_picker_for_a_photo_and_without_one(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    photo = fake.updates.photo(ALICE, colour_jpeg(80, 60), caption="/filter")
    await deliver(app, fake, photo)
    await deliver(app, fake, fake.updates.text(ALICE, "/filters"))
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    for picker in fake.sent("sendMessage"):
        buttons = buttons_of(picker)
        assert [text for text, _ in buttons] == list(app.services.pipeline.filters.names)
        assert {text for text, _ in buttons} >= {"Lo-Fi", "1977", "Clarendon"}
        assert all(data and 1 <= len(data.encode()) <= 64 for _, data in buttons)
    for_photo, for_nothing = sorted(fake.sent("sendMessage"), key=lambda c: c.at)
    assert reply_to_id(for_photo) == photo["message"]["message_id"]
    await deliver(
        app,
        fake,
        fake.updates.press(ALICE, fake.messages[for_photo.result["message_id"]], "f:Lo-Fi"),
    )
    await deliver(
        app,
        fake,
        fake.updates.press(ALICE, fake.messages[for_nothing.result["message_id"]], "f:Reyes"),
    )
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1)
    await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 2)
    assert fake.sent("sendPhoto")[0].params["caption"].startswith("Lo-Fi")
    answers = {c.params.get("text") for c in fake.sent("answerCallbackQuery")}
    assert answers == {"Lo-Fi: coming up!", "Now send me a photo with the caption /filter Reyes"}
    assert all(times == 1 for times in fake.callbacks.values())


async def test_colorize_and_colourise_as_replies(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    photo = fake.updates.photo(ALICE, grey_jpeg(64, 48), caption="just a photo")
    await deliver(app, fake, photo)
    await fake.wait_for(lambda: len(fake.replies()) == 1)
    for command in ("/colorize", "/colourise"):
        await deliver(app, fake, fake.updates.text(BOB, command, reply_to=photo["message"]))
    await deliver(app, fake, fake.updates.text(BOB, "/colorize"))
    await fake.wait_for(
        lambda: (
            len(fake.replies()) == 4
            if app.services.pipeline.can_colorize
            else len(fake.replies()) >= 3
        )
    )
    usage = [
        c for c in fake.sent("sendMessage") if "Reply to a photo with /colorize" in c.params["text"]
    ]
    assert len(usage) == 1
    if app.services.pipeline.can_colorize:
        assert len(fake.sent("sendPhoto")) == 3
        assert all(picture_size(c) == (64, 48) for c in fake.sent("sendPhoto"))
    else:  # one "not available" notice per user in a short while: Alice's, then Bob's
        notices = [c for c in fake.sent("sendMessage") if "isn't available" in c.params["text"]]
        assert len(notices) == 2


async def test_start_and_help_explain_with_examples(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    for text in ("/start", "/help"):
        await deliver(app, fake, fake.updates.text(ALICE, text))
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    for call in fake.sent("sendMessage"):
        assert "/filter Lo-Fi" in call.params["text"]
        assert "/forget" in call.params["text"]


async def test_stats_is_for_admins_only(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    await deliver(app, fake, fake.updates.photo(ALICE, colour_jpeg(), caption="/filter Lo-Fi"))
    await wait_for_jobs(app.db, 1)
    await deliver(app, fake, fake.updates.text(ALICE, "/stats"))
    await deliver(app, fake, fake.updates.text(ADMIN, "/stats"))
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    texts = {c.params["chat_id"]: c.params["text"] for c in fake.sent("sendMessage")}
    assert "only for the bot's admins" in texts[ALICE]
    assert texts[ADMIN].startswith("Today (UTC): 1 jobs (done 1); filter 1")
    assert "Last 7 days: 1 jobs" in texts[ADMIN]


async def test_forget_deletes_the_users_rows_and_files(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    await deliver(
        app, fake, fake.updates.photo(ALICE, colour_jpeg(seed=1), caption="/filter Lo-Fi")
    )
    await deliver(app, fake, fake.updates.photo(BOB, colour_jpeg(seed=2), caption="/filter Lo-Fi"))
    jobs = await wait_for_jobs(app.db, 2)
    media = app.services.media
    alice_job = next(j for j in jobs if j.reply_to["chat_id"] == ALICE)
    alice_result = await get_result_for_job(app.db, alice_job.id)
    assert alice_result is not None and alice_job.input_media is not None
    alice_files = [alice_job.input_media, alice_result.media]
    assert all(media.exists(key) for key in alice_files)
    await deliver(app, fake, fake.updates.text(ALICE, "/forget"))
    await fake.wait_for(
        lambda: any("deleted" in c.params["text"] for c in fake.sent("sendMessage"))
    )
    assert not any(media.exists(key) for key in alice_files)
    assert [j.reply_to["chat_id"] for j in await jobs_of(app.db)] == [BOB]
    rows = await stored_rows(app.db)
    assert (rows["users"], rows["results"]) == (1, 1)
    [confirmation] = [c for c in fake.sent("sendMessage") if "deleted" in c.params["text"]]
    assert "2 files" in confirmation.params["text"]
    await deliver(app, fake, fake.updates.text(ALICE, "/forget"))
    await fake.wait_for(
        lambda: any("nothing stored" in c.params["text"] for c in fake.sent("sendMessage"))
    )


async def test_an_album_gets_every_photo_and_one_summary(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    album = "13579864213579"
    updates = [
        fake.updates.photo(
            ALICE,
            colour_jpeg(72, 54, seed=i),
            media_group_id=album,
            caption="/filter Lo-fi" if i == 0 else None,
        )
        for i in range(3)
    ]
    for update in updates:
        assert await deliver(app, fake, update) == 200
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 3)
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1, timeout=15)
    assert {c.params["caption"].split(" · ")[0] for c in fake.sent("sendPhoto")} == {"Lo-Fi"}
    assert {reply_to_id(c) for c in fake.sent("sendPhoto")} == {
        u["message"]["message_id"] for u in updates
    }
    [summary] = fake.sent("sendMessage")
    assert summary.params["text"] == "Album done: all 3 photos (Lo-Fi)."
    await asyncio.sleep(1.0)
    assert len(fake.sent("sendMessage")) == 1


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("text", "Send me a photo or a video"),
        ("sticker", "Send me a photo or a video"),
        ("voice", "Send me a photo or a video"),
        ("pdf", "isn't a photo or a video"),
    ],
)
async def test_anything_but_a_photo_gets_a_friendly_hint(
    make_app: MakeApp, fake: FakeTelegram, kind: str, expected: str
) -> None:
    app = await start_app(make_app, fake)
    build = {
        "text": lambda: fake.updates.text(ALICE, "hello there"),
        "sticker": lambda: fake.updates.sticker(ALICE),
        "voice": lambda: fake.updates.voice(ALICE),
        "pdf": lambda: fake.updates.document(
            ALICE, b"%PDF-1.4 hello", file_name="a.pdf", mime_type="application/pdf"
        ),
    }[kind]
    await deliver(app, fake, build())
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    [hint] = fake.sent("sendMessage")
    assert expected in hint.params["text"] and "/filter Lo-Fi" in hint.params["text"]
    # A second one right after gets no second hint (a flood gets one answer).
    await deliver(app, fake, build())
    await wait_for_events(app.db, 2)
    await asyncio.sleep(0.3)
    assert len(fake.sent("sendMessage")) == 1
    assert fake.calls("getFile") == []


async def test_an_unknown_filter_gets_the_closest_names(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    await deliver(app, fake, fake.updates.photo(ALICE, colour_jpeg(), caption="/filter lofy"))
    await deliver(app, fake, fake.updates.text(BOB, "/filter clarendom"))
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 2)
    texts = {c.params["chat_id"]: c for c in fake.sent("sendMessage")}
    assert texts[ALICE].params["text"] == "I don't know the filter 'lofy'. Did you mean Lo-Fi?"
    assert [text for text, _ in buttons_of(texts[ALICE])] == ["Lo-Fi"]  # one tap away
    assert "Did you mean Clarendon?" in texts[BOB].params["text"]
    assert await jobs_of(app.db) == []

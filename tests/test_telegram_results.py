"""What comes back on Telegram: the result's buttons (share, before / after, another filter),
large results as a file too, and progress (chat action, "#N in line")."""

from __future__ import annotations

import asyncio

import pytest

from db.results import get_result
from tests.conftest import MakeApp, RunningApp
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_helpers import (
    ALICE,
    BOB,
    buttons_of,
    colour_jpeg,
    deliver,
    fake,
    jobs_of,
    no_token_leaks,
    picture_size,
    reply_to_id,
    start_app,
    wait_for_jobs,
)

pytestmark = pytest.mark.usefixtures("no_token_leaks")
__all__ = ["fake", "no_token_leaks"]


async def filtered_photo(app: RunningApp, fake: FakeTelegram, size: tuple[int, int]) -> Call:
    await deliver(app, fake, fake.updates.photo(ALICE, colour_jpeg(*size), caption="/filter Lo-Fi"))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1)
    return fake.sent("sendPhoto")[0]


def button(call: Call, text: str) -> str:
    return next(data for label, data in buttons_of(call) if label == text and data)


async def test_share_to_gallery_is_the_owners_opt_in(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    photo = await filtered_photo(app, fake, (80, 60))
    result_id = button(photo, "Share to gallery").split(":")[-1]
    await wait_for_jobs(app.db, 1)
    result = await get_result(app.db, result_id)
    assert result is not None and not result.gallery  # nothing goes public without consent
    message = fake.messages[photo.result["message_id"]]
    await deliver(app, fake, fake.updates.press(BOB, message, button(photo, "Share to gallery")))
    await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 1)
    assert fake.sent("answerCallbackQuery")[0].params["show_alert"] == "true"
    result = await get_result(app.db, result_id)
    assert result is not None and not result.gallery and result.votes == 0
    for _ in range(2):
        await deliver(
            app, fake, fake.updates.press(ALICE, message, button(photo, "Share to gallery"))
        )
    await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 3)
    answers = [c.params.get("text") for c in fake.sent("answerCallbackQuery")]
    assert answers[1:] == ["Shared to the gallery. Thank you!", "It's already in the gallery."]
    result = await get_result(app.db, result_id)
    assert result is not None and result.gallery and result.votes == 1
    await fake.wait_for(lambda: len(fake.sent("editMessageReplyMarkup")) >= 1)
    edited = fake.sent("editMessageReplyMarkup")[0]
    assert edited.params["message_id"] == photo.result["message_id"]
    [shared] = [b for row in edited.params["reply_markup"]["inline_keyboard"] for b in row][:1]
    assert shared["url"] == f"https://bot.example/gallery/{result_id}"


async def test_before_and_after_side_by_side(make_app: MakeApp, fake: FakeTelegram) -> None:
    app = await start_app(make_app, fake)
    photo = await filtered_photo(app, fake, (90, 60))
    await wait_for_jobs(app.db, 1)
    message = fake.messages[photo.result["message_id"]]
    await deliver(app, fake, fake.updates.press(ALICE, message, button(photo, "Before / after")))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 2)
    comparison = fake.sent("sendPhoto")[1]
    assert picture_size(comparison) == (90 + 8 + 90, 60)
    assert comparison.params["caption"] == "Before / after"
    assert reply_to_id(comparison) == photo.result["message_id"]
    await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 1)


async def test_try_another_filter_reuses_the_stored_photo(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    photo = await filtered_photo(app, fake, (100, 75))
    await wait_for_jobs(app.db, 1)
    message = fake.messages[photo.result["message_id"]]
    await deliver(
        app, fake, fake.updates.press(ALICE, message, button(photo, "Try another filter"))
    )
    await fake.wait_for(lambda: len(fake.sent("sendMessage")) == 1)
    picker = fake.sent("sendMessage")[0]
    assert reply_to_id(picker) == photo.result["message_id"]
    assert [text for text, _ in buttons_of(picker)] == list(app.services.pipeline.filters.names)
    assert all(len(data.encode()) <= 64 for _, data in buttons_of(picker) if data)
    picker_message = fake.messages[picker.result["message_id"]]
    await deliver(app, fake, fake.updates.press(ALICE, picker_message, button(picker, "Moon")))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 2)
    again = fake.sent("sendPhoto")[1]
    assert again.params["caption"].startswith("Moon")
    assert picture_size(again) == (100, 75)
    first_job, second_job = await wait_for_jobs(app.db, 2)
    assert second_job.input_media == first_job.input_media
    assert reply_to_id(again) == first_job.reply_to["message_id"]
    assert len(fake.calls("getFile")) == 1 and len(fake.calls("download")) == 1
    await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 2)


async def test_a_large_result_also_comes_as_a_full_resolution_file(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    big = fake.updates.document(ALICE, colour_jpeg(3000, 2000), caption="/filter Lo-Fi")
    await deliver(app, fake, big)
    await fake.wait_for(lambda: len(fake.sent("sendDocument")) == 1)
    [photo] = fake.sent("sendPhoto")
    [document] = fake.sent("sendDocument")
    assert picture_size(photo) == (2560, 1707)
    assert picture_size(document, "document") == (3000, 2000)
    assert reply_to_id(document) == photo.result["message_id"]
    assert "Lo-Fi" in photo.params["caption"] and buttons_of(photo)


async def test_a_panorama_telegram_would_refuse_as_a_photo_comes_as_a_file(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    await deliver(
        app, fake, fake.updates.document(ALICE, colour_jpeg(1050, 50), caption="/filter Lo-Fi")
    )
    await fake.wait_for(lambda: len(fake.sent("sendDocument")) == 1)
    [document] = fake.sent("sendDocument")
    assert picture_size(document, "document") == (1050, 50)
    assert "Lo-Fi" in document.params["caption"] and buttons_of(document)
    assert fake.calls("sendPhoto") == []
    [job] = await wait_for_jobs(app.db, 1)
    assert job.reply_message_id == str(document.result["message_id"])


async def test_queued_behind_others_gets_one_in_line_message_edited_on_reply(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake, WORKER_CONCURRENCY="1")
    fake.stall("download", 1.5)
    updates = [
        fake.updates.photo(ALICE, colour_jpeg(64, 48, seed=i), caption="/filter Lo-Fi")
        for i in range(3)
    ]
    await deliver(app, fake, updates[0])
    await fake.wait_for(lambda: len(fake.calls("download")) == 1)  # the first one is running
    await deliver(app, fake, updates[1])  # next in the queue: no message
    await deliver(app, fake, updates[2])  # behind it: "#2 in line"
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 3)
    await fake.wait_for(lambda: len(fake.sent("editMessageText")) == 1)
    [in_line] = fake.sent("sendMessage")
    assert in_line.params["text"].startswith("You're #2 in line")
    assert reply_to_id(in_line) == updates[2]["message"]["message_id"]
    [edit] = fake.sent("editMessageText")
    assert edit.params["message_id"] == in_line.result["message_id"]
    assert edit.params["text"] == "Done, here it is."
    jobs = await jobs_of(app.db)
    assert [j.progress_message_id for j in jobs] == [
        "closed",
        "closed",
        str(in_line.result["message_id"]),
    ]
    await asyncio.sleep(0.5)
    assert len(fake.sent("sendMessage")) == 1 and len(fake.sent("editMessageText")) == 1


async def test_upload_photo_chat_action_repeats_while_working(
    make_app: MakeApp, fake: FakeTelegram
) -> None:
    app = await start_app(make_app, fake)
    fake.stall("download", 5.0)
    await deliver(app, fake, fake.updates.photo(ALICE, colour_jpeg(), caption="/filter Lo-Fi"))
    await fake.wait_for(lambda: len(fake.sent("sendPhoto")) == 1, timeout=20)
    actions = fake.sent("sendChatAction")
    assert len(actions) == 2  # at 0 and ~4 s
    assert {a.params["action"] for a in actions} == {"upload_photo"}
    gap = actions[1].at - actions[0].at
    assert 3.5 < gap < 5.0, gap
    await asyncio.sleep(4.5)
    assert len(fake.sent("sendChatAction")) == 2  # and it stops with the job

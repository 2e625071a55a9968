"""Telegram commands, button data, update plans and reply sizes: pure functions, no fixtures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from telegram import Update

from handlers.commands import (
    Command,
    FilterNotAvailableError,
    caption_filter,
    parse_command,
    resolve_available,
)
from handlers.telegram.clips import ClipRef, reply_method
from handlers.telegram.keyboards import (
    ButtonPress,
    decode,
    encode,
    filter_picker,
    result_buttons,
)
from handlers.telegram.replies import photo_and_file
from handlers.telegram.updates import (
    Answer,
    Forget,
    Ignore,
    PlanContext,
    Press,
    Stats,
    Submit,
    plan_update,
)
from inference.comparison import GAP, side_by_side
from inference.filter_names import FILTER_NAMES, UnknownFilterError
from inference.video import VideoLimits

BOT = "colorbot_test_bot"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/filter Lo-fi", Command("filter", "filter", "Lo-fi")),
        ("/filter@colorbot_test_bot lofi", Command("filter", "filter", "lofi")),
        ("/FILTER@ColorBot_Test_Bot  X-Pro   II ", Command("filter", "FILTER", "X-Pro II")),
        ("/filter\nLo-fi", Command("filter", "filter", "Lo-fi")),
        ("/colourise", Command("colorize", "colourise", "")),
        ("/colorise", Command("colorize", "colorise", "")),
        ("/colorize", Command("colorize", "colorize", "")),
        ("/filters", Command("filters", "filters", "")),
        ("/start", Command("start", "start", "")),
        ("/help me", Command("help", "help", "me")),
        ("/forget", Command("forget", "forget", "")),
        ("/stats", Command("stats", "stats", "")),
        ("/sepia", Command("", "sepia", "")),
        ("/filter@some_other_bot lofi", None),
        ("filter lofi", None),
        ("/ filter", None),
        ("/usr/bin/env", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_command(text: str | None, expected: Command | None) -> None:
    assert parse_command(text, BOT) == expected


def test_a_command_for_some_bot_is_ours_until_we_know_our_name() -> None:
    assert parse_command("/filter@anybot lofi", None) == Command("filter", "filter", "lofi")


@pytest.mark.parametrize(
    ("caption", "expected"),
    [("Lo-fi", "Lo-Fi"), ("lofi", "Lo-Fi"), ("xpro 2", "X-ProII"), ("my cat", None), (None, None)],
)
def test_a_caption_naming_a_filter(caption: str | None, expected: str | None) -> None:
    assert caption_filter(caption) == expected


def test_only_available_filters_resolve_and_suggestions_are_among_them() -> None:
    assert resolve_available("lofi", ("Lo-Fi", "Moon")) == "Lo-Fi"
    with pytest.raises(UnknownFilterError) as unknown:
        resolve_available("Ludwik", ("Lo-Fi", "Ludwig"))
    assert unknown.value.suggestions == ["Ludwig"]
    with pytest.raises(UnknownFilterError) as typo:
        resolve_available("lofy", ("Lo-Fi", "Moon"))
    assert typo.value.suggestions == ["Lo-Fi"]
    with pytest.raises(FilterNotAvailableError) as missing:
        resolve_available("X-Pro II", ("Lo-Fi", "Moon"))
    assert missing.value.user_message == (
        "The X-ProII filter isn't available yet, sorry. Try one of these: Lo-Fi, Moon."
    )


@pytest.mark.parametrize(
    "press",
    [
        ButtonPress("f", "Lo-Fi"),
        ButtonPress("f", "Nashville", "A" * 16),
        ButtonPress("s", None, "A" * 16),
        ButtonPress("b", None, "x_-Y" * 4),
        ButtonPress("t", None, "A" * 16),
        ButtonPress("n"),
    ],
)
def test_button_data_round_trips_within_64_bytes(press: ButtonPress) -> None:
    data = encode(press)
    assert 1 <= len(data.encode()) <= 64
    assert decode(data) == press


@pytest.mark.parametrize(
    "data", ["", "zz", "f", "f:Sepia", "s", "s:Lo-Fi", "f:a:b:c", "x" * 65, None]
)
def test_button_data_we_never_made_is_refused(data: str | None) -> None:
    assert decode(data) is None


def test_every_button_fits() -> None:
    longest = max(FILTER_NAMES, key=len)
    keyboards = [filter_picker(), filter_picker("r" * 16), result_buttons("r" * 16)]
    keyboards.append(result_buttons("r" * 16, shared=True, gallery_url="https://x.example/g/1"))
    for keyboard in keyboards:
        for row in keyboard.inline_keyboard:
            for button in row:
                if button.callback_data is not None:
                    assert len(str(button.callback_data).encode()) <= 64
    assert decode(encode(ButtonPress("f", longest, "r" * 16))) is not None
    assert sum(len(row) for row in filter_picker().inline_keyboard) == 40


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1600, 1200, 400_000), (True, False)),
        ((2560, 1440, 900_000), (True, False)),
        ((3000, 2000, 2_000_000), (True, True)),  # Telegram keeps photos at <= 2560 px
        ((1000, 1000, 11_000_000), (True, True)),  # over the 10 MB photo limit
        ((2100, 100, 50_000), (False, True)),  # aspect ratio over 20: not a photo at all
    ],
)
def test_when_a_result_also_goes_as_a_file(
    size: tuple[int, int, int], expected: tuple[bool, bool]
) -> None:
    assert photo_and_file(*size) == expected


def test_side_by_side_scales_the_original_to_the_result() -> None:
    before = np.zeros((50, 100, 3), np.uint8)
    after = np.full((100, 150, 3), 200, np.uint8)
    both = side_by_side(before, after)
    assert both.shape == (100, 200 + GAP + 150, 3)
    assert both[:, 200:208].min() == 255 and both[:, :200].max() == 0
    assert side_by_side(after, after, max_side=100).shape[1] == 100


# -- plans -----------------------------------------------------------------------------------

CONTEXT = PlanContext(
    bot_username=BOT,
    can_colorize=True,
    admin_ids=frozenset({9}),
    max_file_bytes=20_000_000,
    filters=("Lo-Fi", "Moon"),
)
PHOTO = [
    {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 900},
    {"file_id": "big", "file_unique_id": "b", "width": 900, "height": 600, "file_size": 90_000},
]


def message(**content: Any) -> dict[str, Any]:
    chat = content.pop("chat", {"id": 5, "type": "private"})
    return {
        "message_id": 11,
        "date": 0,
        "chat": chat,
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        **content,
    }


def plan(payload: dict[str, Any], context: PlanContext = CONTEXT) -> Any:
    return plan_update(Update.de_json({"update_id": 1, **payload}, None), context).action


def test_plans_for_photos() -> None:
    submit = plan({"message": message(photo=PHOTO, caption="/filter lofi")})
    assert isinstance(submit, Submit) and (submit.operation, submit.filter_name) == (
        "filter",
        "Lo-Fi",
    )
    assert submit.media.file_id == "big"
    assert plan({"message": message(photo=PHOTO)}) == Submit(
        "colorize", None, submit.media, None, inherit_album_filter=True
    )
    named = plan({"message": message(photo=PHOTO, caption="moon")})
    assert isinstance(named, Submit) and named.filter_name == "Moon"
    album = plan({"message": message(photo=PHOTO, media_group_id="77")})
    assert isinstance(album, Submit) and album.album_id == "77" and album.inherit_album_filter
    offline = plan(
        {"message": message(photo=PHOTO)}, PlanContext(BOT, False, frozenset(), 10**8, ("Lo-Fi",))
    )
    assert isinstance(offline, Answer) and offline.notice and offline.keyboard is not None
    big = [{**PHOTO[1], "file_size": 21 * 1024 * 1024}]
    refused = plan({"message": message(photo=big, caption="/filter lofi")})
    assert isinstance(refused, Answer) and "up to 20 MB" in refused.text


def test_plans_for_documents_and_replies() -> None:
    document = {
        "file_id": "d",
        "file_unique_id": "d",
        "file_name": "a.PNG",
        "mime_type": "application/octet-stream",
    }
    assert isinstance(plan({"message": message(document=document)}), Submit)
    pdf = {**document, "file_name": "a.pdf", "mime_type": "application/pdf"}
    assert isinstance(plan({"message": message(document=pdf)}), Answer)
    replied = message(photo=PHOTO)
    reply = plan(
        {"message": {**message(text="/colourise"), "message_id": 12, "reply_to_message": replied}}
    )
    assert (
        isinstance(reply, Submit) and reply.operation == "colorize" and reply.media.message_id == 11
    )


def test_plans_for_commands_and_groups() -> None:
    assert isinstance(plan({"message": message(text="/forget")}), Forget)
    assert isinstance(plan({"message": message(text="/stats")}), Answer)
    admin = message(text="/stats")
    admin["from"]["id"] = 9
    assert isinstance(plan({"message": admin}), Stats)
    picker = plan({"message": message(text="/filters")})
    assert isinstance(picker, Answer) and picker.keyboard is not None
    assert [b.text for row in picker.keyboard.inline_keyboard for b in row] == ["Lo-Fi", "Moon"]
    unknown = plan({"message": message(text="/filter lofy", photo=PHOTO)})
    assert isinstance(unknown, Answer) and "Did you mean Lo-Fi?" in unknown.text
    group = {"id": -100, "type": "supergroup", "title": "G"}
    assert isinstance(plan({"message": message(photo=PHOTO, chat=group)}), Ignore)
    assert isinstance(plan({"message": message(text="hello", chat=group)}), Ignore)
    assert isinstance(
        plan({"message": message(photo=PHOTO, caption="/filter moon", chat=group)}), Submit
    )
    hint = plan({"message": message(text="hello")})
    assert isinstance(hint, Answer) and hint.notice


def test_plans_for_button_presses() -> None:
    picker = message(text="Pick a filter:", reply_to_message=message(photo=PHOTO))
    picker["message_id"] = 30
    query = {
        "id": "q1",
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "chat_instance": "c",
    }
    press = plan({"callback_query": {**query, "message": picker, "data": "f:Lo-Fi"}})
    assert isinstance(press, Press) and press.press == ButtonPress("f", "Lo-Fi")
    assert press.media is not None and press.media.file_id == "big" and press.message_id == 30
    forged = plan({"callback_query": {**query, "message": picker, "data": "f:../../etc"}})
    assert isinstance(forged, Press) and forged.press is None


def test_how_a_clip_goes_back() -> None:
    square = {"width": 64, "height": 64, "duration": 10.0, "sound": True}
    assert reply_method("video_note", result_kind="mp4", **square) == "video_note"
    long_note = {**square, "duration": 61.0}
    assert reply_method("video_note", result_kind="mp4", **long_note) == "video"
    wide = {**square, "width": 96}
    assert reply_method("video_note", result_kind="mp4", **wide) == "video"
    assert reply_method("video", result_kind="mp4", **square) == "video"
    assert reply_method("document", result_kind="gif", **square) == "animation"
    assert reply_method("animation", result_kind="mp4", **{**square, "sound": False}) == "animation"
    assert reply_method("animation", result_kind="mp4", **square) == "video"  # it has sound


VIDEO = {
    "file_id": "v",
    "file_unique_id": "vu",
    "width": 640,
    "height": 360,
    "duration": 12,
    "mime_type": "video/mp4",
    "file_size": 3_000_000,
}


def test_plans_for_clips() -> None:
    video = plan({"message": message(video=VIDEO, caption="/filter lofi")})
    assert isinstance(video, Submit) and video.filter_name == "Lo-Fi"
    assert isinstance(video.media, ClipRef) and video.media.form == "video"
    assert video.media.input_kind == "video" and video.media.duration == 12
    assert video.media.as_source()["clip"] == "video"
    gif = {**VIDEO, "file_name": "a.gif.mp4"}
    animation = plan({"message": message(animation=gif, document=gif)})
    assert isinstance(animation, Submit) and animation.operation == "colorize"
    assert isinstance(animation.media, ClipRef) and animation.media.form == "animation"
    assert animation.media.input_kind == "gif" and animation.album_id is None
    note = {"file_id": "n", "file_unique_id": "nu", "length": 240, "duration": 5}
    round_note = plan({"message": message(video_note=note)})
    assert isinstance(round_note, Submit) and isinstance(round_note.media, ClipRef)
    assert round_note.media.form == "video_note"
    as_file = {"file_id": "d", "file_unique_id": "d", "mime_type": "image/gif", "file_name": "x"}
    document = plan({"message": message(document=as_file)})
    assert isinstance(document, Submit) and isinstance(document.media, ClipRef)
    assert document.media.input_kind == "gif"
    mov = {**as_file, "mime_type": "application/octet-stream", "file_name": "holiday.MOV"}
    movie = plan({"message": message(document=mov)})
    assert isinstance(movie, Submit) and isinstance(movie.media, ClipRef)
    reply = plan(
        {"message": {**message(text="/colorize"), "reply_to_message": message(video=VIDEO)}}
    )
    assert isinstance(reply, Submit) and isinstance(reply.media, ClipRef)
    too_long = plan({"message": message(video={**VIDEO, "duration": 90})})
    assert isinstance(too_long, Answer) and "90 s, 30 s over the 60 s limit" in too_long.text
    too_big = plan({"message": message(video={**VIDEO, "file_size": 30_000_000})})
    assert isinstance(too_big, Answer) and "30 MB, 10 MB over the 20 MB limit" in too_big.text
    assert "Telegram lets bots download files up to 20 MB" in too_big.text
    tight = PlanContext(BOT, True, frozenset(), 20_000_000, ("Lo-Fi",), VideoLimits(max_seconds=5))
    assert isinstance(plan({"message": message(video=VIDEO)}, tight), Answer)
    group = {"id": -100, "type": "supergroup", "title": "G"}
    assert isinstance(plan({"message": message(video=VIDEO, chat=group)}), Ignore)
    sticker = {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    hint = plan({"message": message(sticker=sticker)})
    assert isinstance(hint, Answer) and "Send me a photo or a video" in hint.text

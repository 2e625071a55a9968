"""Inline keyboards (the filter picker, the buttons under a result) and their callback data.

Telegram allows 1-64 bytes of callback data per button. Ours is `<kind>` or
`<kind>:<filter>` or `<kind>:<filter>:<result id>` with one-letter kinds; the longest filter
name and a result's public id (16 characters) stay far below the limit, and `encode` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from inference.filter_names import FILTER_NAMES

CALLBACK_DATA_LIMIT = 64
PICKER_COLUMNS = 4

FILTER = "f"  # apply a filter (to the picker's photo, or to a result's original)
SHARE = "s"  # share a result to the gallery
COMPARE = "b"  # before / after
ANOTHER = "t"  # try another filter: show the picker for a result's original
NOOP = "n"  # a button that only shows something
KINDS = frozenset({FILTER, SHARE, COMPARE, ANOTHER, NOOP})


@dataclass(frozen=True)
class ButtonPress:
    kind: str
    filter_name: str | None = None
    result_id: str | None = None


def encode(press: ButtonPress) -> str:
    parts = [press.kind]
    if press.filter_name is not None or press.result_id is not None:
        parts.append(press.filter_name or "")
    if press.result_id is not None:
        parts.append(press.result_id)
    data = ":".join(parts)
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
    return data


def decode(data: str | None) -> ButtonPress | None:
    """The press a button's data stands for, or None for data we never made."""
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    kind, *rest = data.split(":")
    if kind not in KINDS or len(rest) > 2:
        return None
    filter_name = rest[0] if rest and rest[0] else None
    result_id = rest[1] if len(rest) == 2 and rest[1] else None
    if filter_name is not None and filter_name not in FILTER_NAMES:
        return None
    if kind == FILTER and filter_name is None:
        return None
    if kind in (SHARE, COMPARE, ANOTHER) and result_id is None:
        return None
    return ButtonPress(kind, filter_name, result_id)


def filter_picker(
    result_id: str | None = None, names: tuple[str, ...] = FILTER_NAMES
) -> InlineKeyboardMarkup:
    """One button per filter, `PICKER_COLUMNS` to a row; pressing one filters the photo the
    picker replies to, or the original of `result_id`."""
    buttons = [
        InlineKeyboardButton(name, callback_data=encode(ButtonPress(FILTER, name, result_id)))
        for name in names
    ]
    rows = [buttons[i : i + PICKER_COLUMNS] for i in range(0, len(buttons), PICKER_COLUMNS)]
    return InlineKeyboardMarkup(rows)


def result_buttons(
    result_id: str,
    *,
    shared: bool = False,
    gallery_url: str | None = None,
    compare: bool = True,
) -> InlineKeyboardMarkup:
    """The buttons under a result: share (or "in the gallery" once shared), before / after
    (photos only: `compare`), try another filter."""
    if not shared:
        share = InlineKeyboardButton(
            "Share to gallery", callback_data=encode(ButtonPress(SHARE, None, result_id))
        )
    elif gallery_url:
        share = InlineKeyboardButton("In the gallery ✓", url=gallery_url)
    else:
        share = InlineKeyboardButton("In the gallery ✓", callback_data=encode(ButtonPress(NOOP)))
    second = [
        InlineKeyboardButton(
            "Try another filter", callback_data=encode(ButtonPress(ANOTHER, None, result_id))
        )
    ]
    if compare:
        second.insert(
            0,
            InlineKeyboardButton(
                "Before / after", callback_data=encode(ButtonPress(COMPARE, None, result_id))
            ),
        )
    return InlineKeyboardMarkup([[share], second])

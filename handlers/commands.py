"""Commands in Telegram message texts and captions, parsed without any I/O.

`/filter Lo-fi`, `/filter@colorbot lofi`, `/colourise`, `/help`: a slash, a command word (with
an optional `@botname`, which must be ours), then the argument. British and American spellings
of colourise all mean the same command. A caption that is just a filter's name ("Lo-fi") asks
for that filter too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError
from inference.filter_names import (
    FILTER_NAMES,
    UnknownFilterError,
    name_key,
    resolve_filter_name,
    suggest_filter_names,
)

# Every command word we answer, and the command it means.
COMMANDS: dict[str, str] = {
    "start": "start",
    "help": "help",
    "filter": "filter",
    "filters": "filters",
    "colorize": "colorize",
    "colourise": "colorize",
    "colorise": "colorize",
    "colourize": "colorize",
    "forget": "forget",
    "stats": "stats",
}

# What the bot lists in Telegram's command menu (setMyCommands).
MENU: tuple[tuple[str, str], ...] = (
    ("filter", "Apply a filter: /filter Lo-Fi with a photo"),
    ("filters", "Pick one of the 40 filters"),
    ("colorize", "Colourise a black-and-white photo (reply to it)"),
    ("help", "What I can do, with examples"),
    ("forget", "Delete everything I stored about you"),
)

_HEAD = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?")


@dataclass(frozen=True)
class Command:
    """A parsed command: `name` is the canonical command ("" when we don't know the word),
    `word` as typed (without slash or @bot), `argument` the rest of the text, stripped."""

    name: str
    word: str
    argument: str

    @property
    def known(self) -> bool:
        return bool(self.name)


def parse_command(text: str | None, bot_username: str | None = None) -> Command | None:
    """The command at the start of `text`, or None when there is none, or when it is
    addressed to another bot (`/filter@otherbot`)."""
    if not text:
        return None
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped.partition(" ")
    head, newline, more = head.partition("\n")
    if newline:
        rest = f"{more} {rest}" if rest else more
    match = _HEAD.fullmatch(head)
    if match is None:
        return None
    word, addressee = match.groups()
    if addressee and bot_username and addressee.casefold() != bot_username.casefold():
        return None
    return Command(COMMANDS.get(word.casefold(), ""), word, " ".join(rest.split()))


class FilterNotAvailableError(UserError):
    kind = "unknown_filter"

    def __init__(self, name: str, available: tuple[str, ...]) -> None:
        super().__init__(
            f"The {name} filter isn't available yet, sorry. Try one of these: "
            f"{', '.join(available)}.",
            detail=f"filter {name} is not installed",
        )


def resolve_available(text: str, available: tuple[str, ...]) -> str:
    """The canonical name of one of the `available` filters that `text` means; raises
    `UnknownFilterError` with the closest available names, or `FilterNotAvailableError` for
    one of the 40 this service does not have."""
    try:
        name = resolve_filter_name(text)
    except UnknownFilterError as exc:
        raise UnknownFilterError(text, [n for n in exc.suggestions if n in available]) from None
    if name not in available:
        close = [n for n in suggest_filter_names(text, limit=len(FILTER_NAMES)) if n in available]
        if close and close[0] != name:
            raise UnknownFilterError(text, close[:3])
        raise FilterNotAvailableError(name, available)
    return name


def caption_filter(caption: str | None) -> str | None:
    """The filter a caption names on its own ("Lo-fi", "xpro 2"), or None."""
    if not caption or len(caption) > 40:
        return None
    key = name_key(caption)
    for name in FILTER_NAMES:
        if name_key(name) == key:
            return name
    return None

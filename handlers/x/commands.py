"""What the bot does with an `Incoming` X post or DM (pure: no I/O, tested without fixtures).

Words pick the work: "lofi", "filter lo-fi", "/filter X-Pro II" or "#lofi" name a filter,
otherwise the photo is colourised. Filter names that are also everyday words, places or years
("moon", "rise", "Brooklyn", "1977") count only after "filter" or as a hashtag, so a caption
like "my grandparents in Brooklyn, 1977" is colourised, not filtered.

A DM "forget" forgets the person; a reply "delete" to the bot's reply removes that result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.x.events import DM, Incoming
from inference.filter_names import FILTER_NAMES, UnknownFilterError, name_key, resolve_filter_name
from inference.pipeline import COLORIZE, FILTER

IGNORE = "ignore"
JOB = "job"
HINT = "hint"
ANSWER = "answer"
DELETE = "delete"
FORGET = "forget"

HINT_TEXT = (
    "Send me a photo or a video: mention me in a post with one (or in a reply to one), or DM "
    "it. I colourise black-and-white photos, videos and GIFs; add a filter name such as lofi "
    "for one of 40 filters."
)
AMBIGUOUS_NAMES = frozenset(
    {
        "1977", "Brooklyn", "Crema", "Helena", "Hudson", "Juno", "Kelvin", "Lark", "Moon",
        "Nashville", "Reyes", "Rise", "Sierra", "Skyline", "Slumber", "Toaster", "Valencia",
        "Walden", "Willow",
    }
)  # fmt: skip
_EXPLICIT = re.compile(
    r"(?:^|(?<=\s))(?P<word>(?P<slash>/)?filter)(?:(?P<colon>\s*[:=]\s*)|\s+)(?P<first>[^\s:=]+)"
    r"(?:\s+(?P<second>\S+))?",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"#([\w-]+)")
_WORD = re.compile(r"[\w-]+")
_DELETE = re.compile(r"^\W*(?:please\s+)?delete(?:\s+(?:it|this|that|please))*\W*$", re.I)
_FORGET = re.compile(r"^\W*/?forget(?:\s+me)?(?:\s+please)?\W*$", re.IGNORECASE)
_KEYS = {name_key(name): name for name in FILTER_NAMES}


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str = ""
    operation: str | None = None
    filter_name: str | None = None
    message: str | None = None  # for ANSWER


def choose_filter(text: str) -> str | None:
    """The filter `text` asks for, or None (colourise). Raises `UnknownFilterError` (with
    suggestions) only when the text is a filter command naming none of the 40: it starts with
    "filter", or says "/filter" or "filter:"."""
    for command in _EXPLICIT.finditer(text):
        first, second = command.group("first"), command.group("second")
        candidates = [f"{first} {second}", first] if second else [first]
        for candidate in candidates:
            name = _KEYS.get(name_key(candidate.lstrip("#")))
            if name is not None:
                return name
        if command.start("word") == 0 or command.group("slash") or command.group("colon"):
            resolve_filter_name(first.lstrip("#"))  # raises, with suggestions
    for tag in _HASHTAG.findall(text):
        name = _KEYS.get(name_key(tag))
        if name is not None:
            return name
    words = _WORD.findall(_HASHTAG.sub(" ", text))
    for index in range(len(words)):
        for candidate in (" ".join(words[index : index + 2]), words[index]):
            name = _KEYS.get(name_key(candidate))
            if name is not None and name not in AMBIGUOUS_NAMES:
                return name
    return None


def is_delete_request(text: str) -> bool:
    return bool(_DELETE.match(text))


def is_forget_request(text: str) -> bool:
    return bool(_FORGET.match(text))


def decide(incoming: Incoming, bot_user_id: str | None) -> Decision:
    """What to do with `incoming`; blocked users and re-deliveries are checked by the caller."""
    if bot_user_id is not None and incoming.author_id == bot_user_id:
        return Decision(IGNORE, "the bot's own post or DM")
    if incoming.is_repost:
        return Decision(IGNORE, "a repost")
    if incoming.kind == DM:
        if is_forget_request(incoming.text):
            return Decision(FORGET)
    elif not (incoming.explicit_mention or incoming.replies_to_bot):
        return Decision(IGNORE, "does not mention the bot")
    elif incoming.replies_to_bot and is_delete_request(incoming.text):
        return Decision(DELETE)
    elif not incoming.explicit_mention and incoming.photo_url is None and incoming.video is None:
        return Decision(IGNORE, "a reply in a thread with the bot, without a photo or video")
    try:
        filter_name = choose_filter(incoming.text)
    except UnknownFilterError as exc:
        return Decision(ANSWER, "unknown filter", message=exc.user_message)
    if not incoming.has_media:
        return Decision(HINT, "no photo or video")
    if filter_name is None:
        return Decision(JOB, operation=COLORIZE)
    return Decision(JOB, operation=FILTER, filter_name=filter_name)

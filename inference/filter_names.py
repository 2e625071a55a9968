"""The 40 filter names and how people's spellings of them resolve (pure, no I/O).

A name matches case- and punctuation-insensitively ("Lo-fi", "lofi", "LO-FI", "lo fi" are all
Lo-Fi), and a trailing Roman numeral may be written as a digit ("X-Pro II", "xpro2": X-ProII).
An unknown name raises `UnknownFilterError` carrying the closest names as suggestions.
"""

from __future__ import annotations

import difflib
import re

from core.errors import UserError

FILTER_NAMES: tuple[str, ...] = tuple(
    sorted(
        (
            "1977", "Aden", "Amaro", "Ashby", "Brannan", "Brooklyn", "Charmes", "Clarendon",
            "Crema", "Dogpatch", "Earlybird", "Gingham", "Ginza", "Hefe", "Helena", "Hudson",
            "Inkwell", "Juno", "Kelvin", "Lark", "Lo-Fi", "Ludwig", "Mayfair", "Melvin", "Moon",
            "Nashville", "Perpetua", "Reyes", "Rise", "Sierra", "Skyline", "Slumber", "Stinson",
            "Sutro", "Toaster", "Valencia", "Vesper", "Walden", "Willow", "X-ProII",
        ),
        key=str.casefold,
    )
)  # fmt: skip

_ROMAN_SUFFIX = {"iii": "3", "ii": "2"}
_SUGGESTION_CUTOFF = 0.6


def name_key(text: str) -> str:
    """The spelling-free form of a filter name: lower case, letters and digits only, a trailing
    Roman numeral as a digit ("X-Pro II" -> "xpro2")."""
    key = re.sub(r"[\W_]+", "", text.casefold())
    for roman, digit in _ROMAN_SUFFIX.items():
        if len(key) > len(roman) + 1 and key.endswith(roman):
            return key[: -len(roman)] + digit
    return key


def _keys() -> dict[str, str]:
    return {name_key(name): name for name in FILTER_NAMES}


class UnknownFilterError(UserError):
    """The filter name matches none of the 40; `suggestions` are the closest names."""

    kind = "unknown_filter"

    def __init__(self, text: str, suggestions: list[str]) -> None:
        shown = text.strip()
        if len(shown) > 40:
            shown = shown[:40] + "…"
        if suggestions:
            hint = f"Did you mean {_spoken_list(suggestions)}?"
        else:
            hint = f"The filters are: {', '.join(FILTER_NAMES)}."
        message = f"I don't know the filter '{shown}'. {hint}" if shown else f"Which filter? {hint}"
        super().__init__(message, detail=f"unknown filter {text!r}")
        self.text = text
        self.suggestions = suggestions


def _spoken_list(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def suggest_filter_names(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` canonical names closest to `text`, best first (empty when none is close):
    the names that start with what was typed if there are any, else similar spellings."""
    key = name_key(text)
    if not key or limit <= 0:
        return []
    keys = _keys()
    if len(key) >= 2:
        starting = [keys[k] for k in sorted(keys) if k.startswith(key)]
        if starting:
            return starting[:limit]
    close = difflib.get_close_matches(key, list(keys), n=limit, cutoff=_SUGGESTION_CUTOFF)
    return [keys[k] for k in close]


def resolve_filter_name(text: str) -> str:
    """The canonical name `text` means; raises `UnknownFilterError` (with suggestions)."""
    name = _keys().get(name_key(text))
    if name is None:
        raise UnknownFilterError(text, suggest_filter_names(text))
    return name

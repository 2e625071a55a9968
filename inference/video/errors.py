"""`VideoError`: a clip or GIF we cannot or will not take, with one friendly message.

Every refusal names what went wrong and, for a limit, which one and by how much; `reason` is for
code and metrics, `detail` for the operator's log (it never reaches the user).
"""

from __future__ import annotations

from typing import Literal, get_args

from core.errors import UserError

VideoErrorReason = Literal[
    "empty",
    "not_a_video",
    "audio_only",
    "no_frames",
    "truncated",
    "corrupt",
    "too_many_bytes",
    "too_long",
    "too_many_frames",
    "too_many_pixels",
    "output_too_big",
]

ACCEPTED_TEXT = "an MP4, MOV, WebM or GIF"


class VideoError(UserError):
    """An uploaded clip we cannot or will not process; `reason` says why."""

    kind = "bad_video"

    def __init__(
        self, user_message: str, *, reason: VideoErrorReason, detail: str | None = None
    ) -> None:
        if reason not in get_args(VideoErrorReason):
            raise ValueError(f"unknown VideoError reason {reason!r}")
        super().__init__(user_message, detail=detail)
        self.reason: VideoErrorReason = reason


def over_by(amount: float, limit: float, unit: str, *, decimals: int = 1) -> str:
    """'72 s, 12 s over the 60 s limit' (amount and excess shown so the excess is visible)."""
    excess = amount - limit
    shown_decimals = decimals
    while shown_decimals < 6 and round(excess, shown_decimals) <= 0:
        shown_decimals += 1
    limit_decimals = decimals
    while limit_decimals < 6 and round(limit, limit_decimals) != round(limit, 6):
        limit_decimals += 1  # a limit is shown as it is (0.05 MB, not 0.1 MB)
    return (
        f"{_number(amount, shown_decimals)} {unit}, {_number(excess, shown_decimals)} {unit} "
        f"over the {_number(limit, limit_decimals)} {unit} limit"
    )


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def damaged(detail: str) -> VideoError:
    return VideoError(
        "That video seems to be damaged and can't be played. Please send it again, "
        f"or save it as {ACCEPTED_TEXT} and send that.",
        reason="corrupt",
        detail=detail,
    )


def cut_off(detail: str) -> VideoError:
    return VideoError(
        "That video looks cut off before the end (it may not have finished uploading); "
        "please send it again.",
        reason="truncated",
        detail=detail,
    )

"""Errors that carry what the person on the other end should read.

Code anywhere raises `UserError` with a friendly text; the job runner (or the web route) is the
one place that sends it, so a person hears about a problem exactly once. `detail` is for the
operator's log and never reaches the user.
"""

from __future__ import annotations


class UserError(Exception):
    """A permanent problem with a request, explained in words a user understands."""

    kind = "user_error"

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail or user_message

    def __str__(self) -> str:
        return self.user_message


class RetryLater(Exception):
    """A transient failure (rate limit, 5xx, timeout): the job runs again after `delay_s`."""

    def __init__(self, reason: str, *, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s

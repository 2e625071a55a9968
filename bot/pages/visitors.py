"""Anonymous gallery visitors: a random id in a signed cookie, CSRF tokens bound to it, and
sliding-window rate limits. No account and nothing personal: the id is random, and an IP
address is only ever a key of the in-memory rate limiter (never stored).

The cookie is `<id>.<HMAC-SHA256(secret, "visitor:" + id)>`; the CSRF token is
HMAC-SHA256(secret, "csrf:" + id), so a form from another site cannot carry it (and the
cookie is SameSite=Lax besides). The secret is the service's signing key (`bot.signing`).

The rate limits live in the process's memory: with several web processes each one counts
separately, which multiplies the allowance by the number of processes.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import deque
from collections.abc import Callable

from bot.signing import Signer

COOKIE_NAME = "colorbot_visitor"
COOKIE_MAX_AGE = 365 * 24 * 3600
_ID_BYTES = 16


class VisitorKeys:
    """Issues and checks visitor cookies and CSRF tokens with the service's signer."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    @staticmethod
    def new_visitor() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(_ID_BYTES)).decode().rstrip("=")

    def cookie_value(self, visitor: str) -> str:
        return f"{visitor}.{self._signer.sign('visitor', visitor)}"

    def visitor_from(self, cookie: str | None) -> str | None:
        """The visitor id in a cookie the service's key signed; None otherwise."""
        if not cookie or cookie.count(".") != 1:
            return None
        visitor, signature = cookie.split(".")
        if not visitor or not self._signer.verify("visitor", visitor, signature):
            return None
        return visitor

    def csrf_token(self, visitor: str) -> str:
        return self._signer.sign("csrf", visitor)

    def csrf_ok(self, visitor: str | None, token: str | None) -> bool:
        if not visitor or not token:
            return False
        return self._signer.verify("csrf", visitor, token)


class SlidingWindowLimiter:
    """At most `limit` events per key in any `seconds` window. Memory is bounded: keys whose
    events have all expired are dropped once the table holds `max_keys` keys."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self._max_keys = max_keys
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count an event for `key`; None when allowed, else the seconds until one is."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._forget_idle(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            return max(0.0, events[0] + self.seconds - now)
        events.append(now)
        return None

    def give_back(self, key: str) -> None:
        """Un-count the latest event for `key` (it turned out not to count, e.g. a repeated
        vote); counting first and giving back keeps concurrent requests from all passing."""
        events = self._events.get(key)
        if events:
            events.pop()

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self.seconds
        for key in [k for k, events in self._events.items() if not events or events[-1] <= cutoff]:
            del self._events[key]
        if len(self._events) >= self._max_keys:  # all busy: forget the oldest half
            for key in list(self._events)[: self._max_keys // 2]:
                del self._events[key]

    def __len__(self) -> int:
        return len(self._events)

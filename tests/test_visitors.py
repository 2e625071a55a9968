"""Visitor cookies, CSRF tokens and the sliding-window rate limiter (pure)."""

from __future__ import annotations

from bot.pages.visitors import SlidingWindowLimiter, VisitorKeys
from bot.signing import Signer


def keys_for(secret: str) -> VisitorKeys:
    return VisitorKeys(Signer(secret.encode()))


def test_cookies_are_signed_and_tampering_is_refused() -> None:
    keys = keys_for("secret")
    visitor = keys.new_visitor()
    assert len(visitor) >= 20 and visitor != keys.new_visitor()
    cookie = keys.cookie_value(visitor)
    assert keys.visitor_from(cookie) == visitor
    assert keys_for("secret").visitor_from(cookie) == visitor  # same secret, same answer
    assert keys_for("other").visitor_from(cookie) is None
    other = keys.new_visitor()
    forged = f"{other}.{cookie.split('.')[1]}"
    for bad in (None, "", visitor, forged, cookie + "x", "a.b.c", "." + cookie.split(".")[1]):
        assert keys.visitor_from(bad) is None, bad


def test_csrf_tokens_belong_to_one_visitor() -> None:
    keys = keys_for("secret")
    alice, bob = keys.new_visitor(), keys.new_visitor()
    token = keys.csrf_token(alice)
    assert keys.csrf_ok(alice, token)
    assert not keys.csrf_ok(bob, token)
    assert not keys.csrf_ok(alice, None) and not keys.csrf_ok(None, token)
    assert not keys.csrf_ok(alice, token[:-1])
    assert not keys_for("other").csrf_ok(alice, token)
    assert not keys.csrf_ok(alice, keys.cookie_value(alice).split(".")[1])  # another purpose


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_limit_events_per_window_per_key() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("a")
    assert wait == 60
    assert limiter.hit("b") is None  # keys are separate
    clock.now += 30
    assert limiter.hit("a") == 30
    clock.now += 30  # the first events have left the window
    assert limiter.hit("a") is None


def test_an_event_given_back_no_longer_counts() -> None:
    limiter = SlidingWindowLimiter(2, 60, clock=Clock())
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") is not None
    limiter.give_back("a")
    limiter.give_back("never-seen")  # nothing to give back: no error
    assert limiter.hit("a") is None


def test_limiter_memory_is_bounded() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(1, 10, max_keys=100, clock=clock)
    for n in range(100):
        limiter.hit(f"old{n}")
    clock.now += 11
    limiter.hit("new")
    assert len(limiter) == 1  # the idle keys were dropped
    for n in range(250):
        limiter.hit(f"busy{n}")
    assert len(limiter) <= 100

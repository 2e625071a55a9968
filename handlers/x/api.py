"""The small X API client: OAuth 1.0a-signed v2 calls, media upload, DMs, and photo downloads
restricted to an allowlist of hosts. Every API call goes to `X_API_URL`.

tweepy's `AsyncClient` is not used: its `request` builds every URL from the hard-coded
"https://api.twitter.com" (so it cannot reach `X_API_URL`, e.g. the fake in the tests, without
patching tweepy), it logs request headers (the OAuth header) at DEBUG, and it has no v2 media
upload or DM media download.

Failures become what the job runner understands: 429 -> `RetryLater` until
`x-rate-limit-reset`; 5xx and timeouts are retried here with backoff, then `RetryLater`; other
4xx -> `XRequestError` (permanent). A call that creates something visible (a post, a DM) is not
retried after a timeout, because it may have arrived: `XDeliveryUnknownError` instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from bot.settings import XSettings
from core.errors import RetryLater, UserError
from handlers.clips import save_capped
from handlers.x.oauth1 import OAuth1Credentials, authorization_header

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 3
_MAX_JSON_BYTES = 5_000_000
_CHUNK = 256 * 1024
# What a post's photos and videos need: a photo's URL, a video's MP4 variants and length.
MEDIA_FIELDS = "url,type,width,height,variants,duration_ms,preview_image_url"


class XRequestError(Exception):
    """A permanent refusal (4xx other than 429): retrying the same call will not help."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"X API {method} {path}: HTTP {status}: {detail}")
        self.status = status


class XDeliveryUnknownError(RuntimeError):
    """A post or DM request timed out after it was sent: it may have been published."""


class PhotoUnavailableError(UserError):
    kind = "photo_unavailable"

    def __init__(self, detail: str, what: str = "photo") -> None:
        super().__init__(
            f"I couldn't fetch that {what} (it may have been deleted or made private).",
            detail=detail,
        )


class PhotoRefusedError(UserError):
    kind = "photo_refused"

    def __init__(self, detail: str) -> None:
        super().__init__("I can only fetch photos and videos that X itself hosts.", detail=detail)


class PhotoTooLargeError(UserError):
    kind = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"That photo is too large; the limit is {limit / 1e6:.0f} MB.",
            detail=f"download over {limit} bytes",
        )


class XApi:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: XSettings,
        *,
        attempts: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        on_error: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self.http = http
        self.base = settings.api_url.rstrip("/")
        self.media_hosts = settings.media_hosts
        self.credentials = OAuth1Credentials(
            settings.consumer_key,
            settings.consumer_secret,
            settings.access_token,
            settings.access_token_secret,
        )
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(10.0, timeout_s))
        self.on_error = on_error

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        creates: bool = False,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A signed call to X_API_URL + path; the decoded JSON body ({} when empty)."""
        timeout = self.timeout
        if timeout_s is not None:
            timeout = aiohttp.ClientTimeout(total=timeout_s, connect=self.timeout.connect)
        url = URL(self.base + path)
        if params:
            url = url.with_query(dict(params))
        failure = ""
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            headers = {"Authorization": authorization_header(self.credentials, method, url)}
            try:
                async with self.http.request(
                    method,
                    url,
                    json=json,
                    data=form() if form is not None else None,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                ) as response:
                    body = await read_capped(response, _MAX_JSON_BYTES)
                    status = response.status
                    if status == 429:
                        self.on_error("rate_limited")
                        raise RetryLater(
                            f"X API {method} {path}: rate limited",
                            delay_s=rate_limit_wait(response.headers),
                        )
                    if status >= 500:
                        self.on_error("server_error")
                        failure = f"HTTP {status}"
                        log.warning("X API %s %s: HTTP %d (try %d)", method, path, status, attempt)
                        continue
                    decoded = _decode(body)
                    if status >= 400:
                        self.on_error("refused")
                        raise XRequestError(method, path, status, _detail(decoded))
                    return decoded
            except aiohttp.ClientConnectorError as exc:  # nothing was sent
                failure = type(exc).__name__
            except (aiohttp.ClientError, TimeoutError) as exc:
                if creates:
                    self.on_error("delivery_unknown")
                    raise XDeliveryUnknownError(
                        f"X API {method} {path}: {type(exc).__name__} after sending"
                    ) from None
                failure = type(exc).__name__
            log.warning("X API %s %s: %s (try %d)", method, path, failure, attempt)
        self.on_error("unavailable")
        raise RetryLater(f"X API {method} {path}: {failure}")

    async def get_post(self, post_id: str) -> dict[str, Any]:
        return await self.request(
            "GET",
            f"/2/tweets/{post_id}",
            params={
                "expansions": "attachments.media_keys",
                "media.fields": MEDIA_FIELDS,
            },
        )

    async def get_mentions(
        self, user_id: str, *, since_id: str | None, pagination_token: str | None
    ) -> dict[str, Any]:
        params = {
            "max_results": "100",
            "expansions": (
                "attachments.media_keys,author_id,referenced_tweets.id,"
                "referenced_tweets.id.attachments.media_keys"
            ),
            "media.fields": MEDIA_FIELDS,
            "tweet.fields": (
                "author_id,entities,referenced_tweets,in_reply_to_user_id,attachments,"
                "display_text_range"
            ),
            "user.fields": "username",
        }
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        return await self.request("GET", f"/2/users/{user_id}/mentions", params=params)

    async def get_like_counts(self, post_ids: list[str]) -> dict[str, int]:
        found = await self.request(
            "GET", "/2/tweets", params={"ids": ",".join(post_ids), "tweet.fields": "public_metrics"}
        )
        return {
            str(post["id"]): int(post.get("public_metrics", {}).get("like_count", 0))
            for post in found.get("data") or []
        }

    async def upload_media(self, jpeg: bytes, category: str) -> str:
        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("media_category", category)
            data.add_field("media_type", "image/jpeg")
            data.add_field("media", jpeg, filename="photo.jpg", content_type="image/jpeg")
            return data

        answer = await self.request("POST", "/2/media/upload", form=form)
        return str(answer["data"]["id"])

    async def set_alt_text(self, media_id: str, text: str) -> None:
        body = {"id": media_id, "metadata": {"alt_text": {"text": text[:1000]}}}
        await self.request("POST", "/2/media/metadata", json=body)

    async def create_post(self, text: str, *, reply_to: str, media_ids: list[str]) -> str:
        body: dict[str, Any] = {"text": text, "reply": {"in_reply_to_tweet_id": reply_to}}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        answer = await self.request("POST", "/2/tweets", json=body, creates=True)
        return str(answer["data"]["id"])

    async def delete_post(self, post_id: str) -> None:
        await self.request("DELETE", f"/2/tweets/{post_id}")

    async def send_dm(self, participant_id: str, text: str, *, media_id: str | None) -> str:
        body: dict[str, Any] = {"text": text}
        if media_id is not None:
            body["attachments"] = [{"media_id": media_id}]
        answer = await self.request(
            "POST", f"/2/dm_conversations/with/{participant_id}/messages", json=body, creates=True
        )
        return str(answer["data"]["dm_event_id"])

    def check_media_url(self, url: URL) -> None:
        """Raise `PhotoRefusedError` unless `url` is on an allowlisted host (https; plain http
        only for a loopback host a test put on the list)."""
        host = (url.host or "").lower()
        if url.user is not None or url.password is not None or host not in self.media_hosts:
            raise PhotoRefusedError(f"media host {host!r} is not in X_MEDIA_HOSTS")
        if url.scheme != "https" and not (url.scheme == "http" and host in LOOPBACK_HOSTS):
            raise PhotoRefusedError(f"media URL scheme {url.scheme!r} refused")

    async def download(self, url: str, *, signed: bool, max_bytes: int) -> bytes:
        """A photo from an allowlisted host, reading at most `max_bytes`."""
        async with self.open_media(url, signed=signed, what="photo") as response:
            if (response.content_length or 0) > max_bytes:
                raise PhotoTooLargeError(max_bytes)
            return await read_capped(response, max_bytes, too_large=PhotoTooLargeError)

    async def download_to(self, url: str, target: Path, *, signed: bool, max_bytes: int) -> int:
        """A video from an allowlisted host, streamed into `target`, at most `max_bytes` (over
        it: the clip's `VideoError`, no partial file left); the bytes written."""
        async with self.open_media(url, signed=signed, what="video") as response:
            return await save_capped(response, target, max_bytes)

    @asynccontextmanager
    async def open_media(
        self, url: str, *, signed: bool, what: str
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET media from an allowlisted host, following redirects only while they stay on
        the allowlist: the 200 response, to read. 429 and 5xx (and broken connections, also
        while reading) are `RetryLater`; other answers `PhotoUnavailableError`."""
        current = URL(url)
        timeout = aiohttp.ClientTimeout(total=300.0, sock_read=60.0, connect=10.0)
        for _ in range(_MAX_REDIRECTS + 1):
            self.check_media_url(current)
            headers = {}
            if signed:
                headers["Authorization"] = authorization_header(self.credentials, "GET", current)
            try:
                async with self.http.get(
                    current, headers=headers, allow_redirects=False, timeout=timeout
                ) as response:
                    if response.status in _REDIRECTS:
                        location = response.headers.get("Location", "")
                        current = current.join(URL(location))
                        continue
                    if response.status == 429:
                        raise RetryLater(
                            f"{what} download rate limited",
                            delay_s=rate_limit_wait(response.headers),
                        )
                    if response.status >= 500:
                        raise RetryLater(f"{what} download: HTTP {response.status}")
                    if response.status != 200:
                        raise PhotoUnavailableError(
                            f"{what} download: HTTP {response.status}", what
                        )
                    yield response
                    return
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RetryLater(f"{what} download: {type(exc).__name__}") from None
        raise PhotoRefusedError("too many redirects")


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds until `x-rate-limit-reset` (epoch seconds), at least 1; 60 when absent."""
    reset = headers.get("x-rate-limit-reset", "")
    if not reset.strip().isdigit():
        return 60.0
    return max(1.0, float(reset) - (time.time() if now is None else now))


async def read_capped(
    response: aiohttp.ClientResponse,
    limit: int,
    *,
    too_large: Callable[[int], Exception] | None = None,
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise (too_large(limit) if too_large else RetryLater(f"response over {limit} bytes"))
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        decoded = json.loads(body)
    except ValueError:
        return {"detail": body[:200].decode("utf-8", "replace")}
    return decoded if isinstance(decoded, dict) else {"data": decoded}


def _detail(body: Mapping[str, Any]) -> str:
    parts = [str(body.get(key)) for key in ("title", "detail") if body.get(key)]
    return "; ".join(parts)[:300] or "no detail"

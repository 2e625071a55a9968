"""A fake X API as a real aiohttp server on 127.0.0.1, for the X channel's tests.

It speaks the v2 JSON shapes the channel uses (post lookup with expansions, mentions with
since_id / pagination, like counts, media upload + metadata, posts, post deletion, DMs), hosts
photos (public ones like pbs.twimg.com; DM ones like ton.twitter.com, which need an OAuth 1.0a
signature) and videos and GIFs as X serves them (MP4 variants of several bit rates and an HLS
playlist, like video.twimg.com; DM ones signed too), and checks the OAuth 1.0a signature of
every API request with `oauthlib` (an implementation independent of `handlers.x.oauth1`),
rejecting a bad one with 401. Tests script faults (429 with x-rate-limit-* headers, 5xx) and
stalls, and read the `transcript`.

The chunked upload of videos and GIFs is `tests.fake_x_uploads.ChunkedUploads`.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from PIL import Image

from tests.fake_x_uploads import DEFAULT_PROCESSING, UPLOAD, ChunkedUploads, Processing
from tests.uploaded_clips import decode_clip

__all__ = ["Credentials", "FakeX", "Processing"]

UPLOAD_LIMIT = 5_000_000
PUBLIC_PHOTOS = "/pbs/media/"
DM_PHOTOS = "/ton/1.1/ton/data/dm/"
PUBLIC_VIDEOS = "/video/ext_tw_video/"
PUBLIC_GIFS = "/video/tweet_video/"
DM_VIDEOS = "/video/dm_video/"
ALWAYS_MEDIA_FIELDS = ("media_key", "type")


@dataclass
class Credentials:
    consumer_key: str = "apiKey"
    consumer_secret: str = "apiSecret"
    token: str = "1-accessToken"
    token_secret: str = "accessTokenSecret"


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    response: Any
    at: float = field(default_factory=time.monotonic)  # when the answer was ready


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stall:
    method: str
    path: re.Pattern[str]
    after: bool  # answer the request (state changed) but hold the response back
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeX(ChunkedUploads):
    def __init__(self, credentials: Credentials, bot_id: str, bot_username: str) -> None:
        self.credentials = credentials
        self.bot_id = bot_id
        self.users: dict[str, dict[str, str]] = {bot_id: {"id": bot_id, "username": bot_username}}
        self.posts: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, bytes] = {}  # path -> bytes
        self.missing_orig: set[str] = set()  # photo paths whose name=orig answers 404
        self.redirects: dict[str, str] = {}  # path -> Location
        self.uploads: dict[str, dict[str, Any]] = {}
        # What FINALIZE and each STATUS answer for the next chunked upload (tests replace it).
        self.processing: list[Processing] = list(DEFAULT_PROCESSING)
        self.early_status_checks = 0
        self.videos: dict[str, bytes] = {}  # path -> bytes (every variant of every video)
        self.created: list[dict[str, Any]] = []  # POST /2/tweets bodies, with their new "id"
        self.dms: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.likes: dict[str, int] = {}
        self.transcript: list[Exchange] = []
        self.rejected_auth = 0
        self.faults: list[Fault] = []
        self.stalls: list[Stall] = []
        self.mentions_page_size = 100
        self._ids = itertools.count(1_800_000_000_000_000_000)
        self._nonces: set[str] = set()
        self._signer = SimpleNamespace(
            client_secret=credentials.consumer_secret,
            resource_owner_secret=credentials.token_secret,
        )
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- scripting ----------------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, user_id: str, username: str) -> None:
        self.users[user_id] = {"id": user_id, "username": username}

    def add_photo(self, data: bytes, *, dm: bool = False) -> tuple[str, str]:
        """Host `data`; returns (media_key, URL)."""
        key = f"3_{self.next_id()}"
        path = f"{DM_PHOTOS}{self.next_id()}/{key}.jpg" if dm else f"{PUBLIC_PHOTOS}{key}.jpg"
        self.photos[path] = data
        url = f"{self.url}{path}"
        width, height = Image.open(io.BytesIO(data)).size
        self.media[key] = {
            "media_key": key,
            "type": "photo",
            "url": url,
            "width": width,
            "height": height,
        }
        return key, url

    def add_video(
        self,
        data: bytes,
        *,
        gif: bool = False,
        dm: bool = False,
        variants: list[tuple[int, bytes]] | None = None,
        duration_ms: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Host a video (or an animated GIF, which X serves as one soundless MP4 of bit rate
        0) as X does: MP4 `variants` of (bit_rate, bytes), best first, plus an HLS playlist.
        Returns (media_key, the v2 media object)."""
        key = f"{16 if gif else 7}_{self.next_id()}"
        clip = decode_clip("video", data)
        base = (DM_VIDEOS if dm else PUBLIC_GIFS if gif else PUBLIC_VIDEOS) + self.next_id()
        chosen = variants or [(0 if gif else 832_000, data)]
        listed: list[dict[str, Any]] = []
        if not gif:
            playlist = f"{base}/pl/playlist.m3u8"
            self.videos[playlist] = b"#EXTM3U\n"
            listed.append({"content_type": "application/x-mpegURL", "url": self.url + playlist})
        for bit_rate, body in chosen:
            path = f"{base}/vid/{bit_rate}/{key}.mp4"
            self.videos[path] = body
            listed.append(
                {"bit_rate": bit_rate, "content_type": "video/mp4", "url": self.url + path}
            )
        media: dict[str, Any] = {
            "media_key": key,
            "type": "animated_gif" if gif else "video",
            "width": clip.width,
            "height": clip.height,
            "duration_ms": duration_ms if duration_ms is not None else round(clip.duration * 1000),
            "preview_image_url": f"{self.url}{PUBLIC_PHOTOS}{key}_thumb.jpg",
            "variants": listed,
        }
        self.media[key] = media
        return key, media

    def add_post(
        self,
        author_id: str,
        text: str,
        *,
        photo: bytes | None = None,
        media_key: str | None = None,
        reply_to: str | None = None,
        repost_of: str | None = None,
    ) -> str:
        post_id = self.next_id()
        post: dict[str, Any] = {
            "id": post_id,
            "author_id": author_id,
            "text": text,
            "edit_history_tweet_ids": [post_id],
        }
        mentions = []
        for match in re.finditer(r"@(\w+)", text):
            found = [u for u in self.users.values() if u["username"] == match.group(1)]
            mention = {"start": match.start(), "end": match.end(), "username": match.group(1)}
            if found:
                mention["id"] = found[0]["id"]
            mentions.append(mention)
        if mentions:
            post["entities"] = {"mentions": mentions}
        if photo is not None:
            key, _ = self.add_photo(photo)
            post["attachments"] = {"media_keys": [key]}
        if media_key is not None:
            post["attachments"] = {"media_keys": [media_key]}
        references = []
        if reply_to is not None:
            references.append({"type": "replied_to", "id": reply_to})
            post["in_reply_to_user_id"] = self.posts[reply_to]["author_id"]
            prefix = re.match(r"@\w+ ", text)  # the replied-to author, as X prefixes replies
            post["display_text_range"] = [prefix.end() if prefix else 0, len(text)]
        if repost_of is not None:
            references.append({"type": "retweeted", "id": repost_of})
        if references:
            post["referenced_tweets"] = references
        self.posts[post_id] = post
        return post_id

    def fail(
        self, method: str, path: str, status: int, *, times: int = 1, reset_in: float = 2.0
    ) -> None:
        """The next `times` matching requests answer `status` (429 with rate-limit headers)."""
        headers = {}
        if status == 429:
            headers = {
                "x-rate-limit-limit": "300",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time() + reset_in)),
            }
        self.faults.append(Fault(method, re.compile(path), status, times, headers))

    def stall(self, method: str, path: str, *, after: bool) -> Stall:
        stall = Stall(method, re.compile(path), after)
        self.stalls.append(stall)
        return stall

    def replies_to(self, post_id: str) -> list[dict[str, Any]]:
        return [p for p in self.created if p["reply"]["in_reply_to_tweet_id"] == post_id]

    def format_transcript(self) -> str:
        """The exchanges, one line each (uploaded media as the fake decoded them)."""
        lines = []
        start = self.transcript[0].at if self.transcript else 0.0
        for exchange in self.transcript:
            query = "&".join(f"{k}={v}" for k, v in exchange.query.items())
            target = exchange.path + (f"?{query}" if query else "")
            body = "" if exchange.body is None else f" {_short(exchange.body)}"
            answer = f" -> {_short(exchange.response)}" if exchange.response else ""
            when = f"+{exchange.at - start:5.2f} s"
            lines.append(
                f"{when} bot -> {exchange.method} {target}{body}  [{exchange.status}]{answer}"
            )
        for media_id, upload in self.uploads.items():
            clip = upload.get("clip")
            if clip is not None:
                lines.append(f"  (upload {media_id}: {upload['category']}, {clip.describe()})")
        return "\n".join(lines)

    def requests(self, method: str, path_prefix: str) -> list[Exchange]:
        return [e for e in self.transcript if e.method == method and e.path.startswith(path_prefix)]

    # ---- server -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=20_000_000)
        app.add_routes(
            [
                web.get("/2/tweets/{id}", self._get_post),
                web.get("/2/tweets", self._get_posts),
                web.delete("/2/tweets/{id}", self._delete_post),
                web.post("/2/tweets", self._create_post),
                web.get("/2/users/{id}/mentions", self._mentions),
                web.post("/2/media/upload", self._upload),
                web.post("/2/media/upload/initialize", self._initialize),
                web.post("/2/media/upload/{id}/append", self._append),
                web.post("/2/media/upload/{id}/finalize", self._finalize),
                web.get("/2/media/upload", self._status),
                web.post("/2/media/metadata", self._metadata),
                web.post("/2/dm_conversations/with/{id}/messages", self._send_dm),
                web.get("/pbs/{tail:.*}", self._photo),
                web.get("/ton/{tail:.*}", self._photo),
                web.get("/video/{tail:.*}", self._video),
            ]
        )
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for stall in self.stalls:
            stall.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if path in self.redirects:
            redirect = web.Response(status=302, headers={"Location": self.redirects[path]})
            return self._record(request, None, redirect)
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        needs_auth = not (
            path.startswith("/pbs/") or (path.startswith("/video/") and DM_VIDEOS not in path)
        )
        if needs_auth and not self._signed(request):
            self.rejected_auth += 1
            answer = web.json_response({"title": "Unauthorized", "status": 401}, status=401)
            return self._record(request, body, answer)
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and fault.path.search(path):
                fault.times -= 1
                answer = web.json_response(
                    {"title": "scripted", "status": fault.status},
                    status=fault.status,
                    headers=fault.headers,
                )
                return self._record(request, body, answer)
        stall = next(
            (s for s in self.stalls if s.method == request.method and s.path.search(path)), None
        )
        if stall is not None and not stall.after:
            stall.reached.set()
            await stall.release.wait()
        response = await handler(request)
        if stall is not None and stall.after:
            self._record(request, body, response)
            stall.reached.set()
            await stall.release.wait()
            return response
        return self._record(request, body, response)

    def _record(self, request: web.Request, body: Any, response: web.StreamResponse) -> Any:
        content = (
            getattr(response, "text", None)
            if response.content_type.startswith("application/json")
            else None
        )
        shown = request.get(UPLOAD, body)
        self.transcript.append(
            Exchange(
                request.method, request.path, dict(request.query), shown, response.status, content
            )
        )
        return response

    def _signed(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return False
        params = oauth_signature.collect_parameters(
            uri_query=request.rel_url.raw_query_string,
            headers={"Authorization": header},
            exclude_oauth_signature=False,
        )
        oauth = dict(p for p in params if p[0].startswith("oauth_"))
        signed = [p for p in params if p[0] != "oauth_signature"]
        base = oauth_signature.signature_base_string(
            request.method,
            oauth_signature.base_string_uri(str(request.url)),
            oauth_signature.normalize_parameters(signed),
        )
        expected = oauth_signature.sign_hmac_sha1_with_client(base, self._signer)
        nonce = oauth.get("oauth_nonce", "")
        fresh = abs(time.time() - int(oauth.get("oauth_timestamp", "0") or 0)) < 300
        valid = (
            oauth.get("oauth_signature") == expected
            and oauth.get("oauth_consumer_key") == self.credentials.consumer_key
            and oauth.get("oauth_token") == self.credentials.token
            and oauth.get("oauth_signature_method") == "HMAC-SHA1"
            and fresh
            and nonce not in self._nonces
        )
        if valid:
            self._nonces.add(nonce)
        return valid

    # ---- endpoints ----------------------------------------------------------------------

    def _includes(
        self, posts: list[dict[str, Any]], expansions: str, media_fields: str = ""
    ) -> dict[str, Any]:
        wanted = set(expansions.split(","))
        fields = {*ALWAYS_MEDIA_FIELDS, *media_fields.split(",")}
        includes: dict[str, list[Any]] = {}
        referenced = [
            self.posts[r["id"]]
            for p in posts
            for r in p.get("referenced_tweets", [])
            if r["id"] in self.posts
        ]
        if "referenced_tweets.id" in wanted and referenced:
            includes["tweets"] = referenced
        keyed = posts + (
            referenced if "referenced_tweets.id.attachments.media_keys" in wanted else []
        )
        if "attachments.media_keys" in wanted:
            keys = [k for p in keyed for k in p.get("attachments", {}).get("media_keys", [])]
            if keys:
                includes["media"] = [
                    {k: v for k, v in self.media[key].items() if k in fields} for key in keys
                ]
        if "author_id" in wanted:
            authors = {p["author_id"] for p in posts}
            includes["users"] = [self.users[a] for a in sorted(authors) if a in self.users]
        return includes

    async def _get_post(self, request: web.Request) -> web.Response:
        post = self.posts.get(request.match_info["id"])
        if post is None:
            return web.json_response({"errors": [{"title": "Not Found Error"}]}, status=200)
        body = {"data": post}
        includes = self._includes(
            [post], request.query.get("expansions", ""), request.query.get("media.fields", "")
        )
        if includes:
            body["includes"] = includes
        return web.json_response(body)

    async def _get_posts(self, request: web.Request) -> web.Response:
        ids = request.query.get("ids", "").split(",")
        if "public_metrics" not in request.query.get("tweet.fields", ""):
            return web.json_response({"title": "Invalid Request"}, status=400)
        data = [
            {"id": i, "text": "", "public_metrics": {"like_count": self.likes.get(i, 0)}}
            for i in ids
            if i in self.likes
        ]
        return web.json_response({"data": data})

    async def _mentions(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != self.bot_id:
            return web.json_response({"title": "Forbidden"}, status=403)
        since = int(request.query.get("since_id", "0"))
        mentioning = sorted(
            (
                p
                for p in self.posts.values()
                if int(p["id"]) > since
                and p["author_id"] != self.bot_id
                and any(
                    m.get("id") == self.bot_id for m in p.get("entities", {}).get("mentions", [])
                )
            ),
            key=lambda p: int(p["id"]),
            reverse=True,
        )
        start = int(request.query.get("pagination_token", "0"))
        page = mentioning[start : start + self.mentions_page_size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if start + self.mentions_page_size < len(mentioning):
            meta["next_token"] = str(start + self.mentions_page_size)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = self._includes(
                page, request.query.get("expansions", ""), request.query.get("media.fields", "")
            )
        return web.json_response(body)

    async def _upload(self, request: web.Request) -> web.Response:
        fields: dict[str, Any] = {}
        async for part in await request.multipart():
            fields[part.name] = await part.read()  # type: ignore[union-attr]
        media = fields.get("media", b"")
        category = fields.get("media_category", b"").decode()
        request[UPLOAD] = {"media_category": category, "bytes": len(media)}
        if category not in ("tweet_image", "dm_image") or not 0 < len(media) <= UPLOAD_LIMIT:
            return web.json_response({"title": "Invalid Request"}, status=400)
        try:
            size = Image.open(io.BytesIO(media)).size
        except OSError:
            return web.json_response({"title": "Invalid media"}, status=400)
        media_id = self.next_id()
        self.uploads[media_id] = {"category": category, "bytes": len(media), "size": size}
        return web.json_response(
            {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(media)}}
        )

    async def _metadata(self, request: web.Request) -> web.Response:
        body = await request.json()
        upload = self.uploads.get(body.get("id"))
        if upload is None:
            return web.json_response({"title": "Not Found"}, status=404)
        upload["alt_text"] = body["metadata"]["alt_text"]["text"]
        return web.json_response({"data": {"associated_metadata": True}})

    async def _create_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not all(self._usable(m, "tweet") for m in body.get("media", {}).get("media_ids", [])):
            return web.json_response(
                {"title": "Invalid Request", "detail": "Your media IDs are invalid."}, status=400
            )
        parent = body.get("reply", {}).get("in_reply_to_tweet_id")
        if parent not in self.posts:
            return web.json_response({"title": "Parent not found"}, status=400)
        post_id = self.add_post(self.bot_id, body["text"], reply_to=parent)
        self.created.append({**body, "id": post_id})
        return web.json_response({"data": {"id": post_id, "text": body["text"]}}, status=201)

    async def _delete_post(self, request: web.Request) -> web.Response:
        post_id = request.match_info["id"]
        if self.posts.get(post_id, {}).get("author_id") != self.bot_id:
            return web.json_response({"title": "Forbidden"}, status=403)
        self.deleted.append(post_id)
        del self.posts[post_id]
        return web.json_response({"data": {"deleted": True}})

    async def _send_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        for attachment in body.get("attachments", []):
            if not self._usable(attachment["media_id"], "dm"):
                return web.json_response({"title": "Invalid media for a DM"}, status=400)
        event_id = self.next_id()
        participant = request.match_info["id"]
        self.dms.append({**body, "to": participant, "id": event_id})
        conversation = "-".join(sorted((participant, self.bot_id)))
        return web.json_response(
            {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}, status=201
        )

    def _usable(self, media_id: str, use: str) -> bool:
        """A post ("tweet") or DM ("dm") may attach the upload: its category is for that use
        and, for a chunked upload, its processing has succeeded."""
        upload = self.uploads.get(media_id)
        if upload is None or not str(upload["category"]).startswith(f"{use}_"):
            return False
        return upload.get("state", "succeeded") == "succeeded"

    async def _video(self, request: web.Request) -> web.Response:
        data = self.videos.get(request.path)
        if data is None:
            return web.Response(status=404)
        kind = "application/x-mpegURL" if request.path.endswith(".m3u8") else "video/mp4"
        return web.Response(body=data, content_type=kind)

    async def _photo(self, request: web.Request) -> web.Response:
        data = self.photos.get(request.path)
        if data is None or (
            request.query.get("name") == "orig" and request.path in self.missing_orig
        ):
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."

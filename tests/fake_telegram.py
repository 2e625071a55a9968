"""A fake Telegram Bot API as a real aiohttp server on 127.0.0.1, for the Telegram channel's
tests.

It speaks the real wire format: `POST|GET /bot<token>/<method>` with form-encoded, JSON or
multipart bodies (as python-telegram-bot sends them), `{"ok": true, "result": ...}` envelopes
and `{"ok": false, "error_code", "description", "parameters": {"retry_after"}}` errors, and
file downloads under `/file/bot<token>/<file_path>`. It keeps the state the methods need
(the webhook, queued updates for getUpdates with offset semantics, files, sent messages,
callback queries answered at most once), checks what Telegram checks (callback data of
1-64 bytes, text and caption lengths, that an uploaded photo decodes and fits the photo
limits; that a video is within the bots' 50 MB upload limit and a video note is square and
at most a minute long), and records every call, with the decoded size of every uploaded
picture and every uploaded clip decoded with PyAV (codec, frames, duration, sound), as a
`transcript`. Tests script faults (429 with retry_after, 5xx) and stalls per method.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fake_telegram_clips import ClipMethods, TelegramError
from tests.telegram_updates import UpdateBuilder
from tests.uploaded_clips import UploadedClip, decode_clip

CLIP_METHODS = ("sendVideo", "sendAnimation", "sendVideoNote")
JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "commands", "scope"}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "cache_time",
    "width",
    "height",
    "duration",
    "length",
}
CLIP_FIELDS = ("video", "animation", "video_note")
FILE_FIELDS = ("photo", "document", *CLIP_FIELDS)
PHOTO_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = 50 * 1024 * 1024  # what bots may upload (sendVideo, sendDocument, ...)


@dataclass
class Picture:
    """An uploaded file, as the fake decoded it."""

    field: str
    size: int
    format: str | None  # None: not a decodable image
    width: int = 0
    height: int = 0


@dataclass
class Call:
    method: str
    encoding: str  # form, multipart, json, query
    params: dict[str, Any]
    pictures: list[Picture]
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)
    clips: list[UploadedClip] = field(default_factory=list)

    def clip(self, name: str | None = None) -> UploadedClip:
        """The uploaded clip (of field `name`); fails the test when there is none."""
        found = [c for c in self.clips if name is None or c.field == name]
        assert found, f"{self.method} uploaded no clip{f' as {name}' if name else ''}"
        return found[0]


@dataclass
class Fault:
    method: str
    status: int
    times: int
    retry_after: int | None = None


@dataclass
class Stall:
    method: str
    seconds: float
    times: int
    after: bool  # carry out the call, then stall before answering


class FakeTelegram(ClipMethods):
    def __init__(self, token: str, *, bot_id: int = 7000, username: str = "colorbot_test_bot"):
        self.token = token
        self.me = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Colorbot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.url = ""
        self.transcript: list[Call | str] = []
        self.files: dict[str, tuple[str, bytes, int | None]] = {}  # id -> (path, data, size)
        self.webhook: dict[str, Any] = {}
        self.commands: list[dict[str, Any]] = []
        self.messages: dict[int, dict[str, Any]] = {}  # every message, the bot's and users'
        self.deleted: list[int] = []  # ids of messages the bot deleted

        self.callbacks: dict[str, int] = {}  # callback query id -> times answered
        self.pending: list[dict[str, Any]] = []  # for getUpdates
        self.faults: list[Fault] = []
        self.stalls: list[Stall] = []
        self.drops: dict[str, int] = {}  # method -> calls to carry out, then hang up on
        self.updates = UpdateBuilder(self)
        self._ids = itertools.count(500)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- set-up -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._method),
                web.get("/file/bot{token}/{path:.+}", self._download),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def next_id(self) -> int:
        return next(self._ids)

    def add_file(self, data: bytes, *, reported_size: int | None = None) -> str:
        """Host `data`; getFile reports `reported_size` (default: the true size)."""
        file_id = f"AgAC-{self.next_id()}-{'x' * 60}"  # real file ids are long
        folder, suffix = "photos", "bin"
        if data[:2] == b"\xff\xd8":
            suffix = "jpg"
        elif data[:4] == b"GIF8":
            folder, suffix = "animations", "gif"
        elif data[4:8] == b"ftyp":
            folder, suffix = "videos", "mp4"
        self.files[file_id] = (f"{folder}/file_{len(self.files)}.{suffix}", data, reported_size)
        return file_id

    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None):
        self.faults.append(Fault(method, status, times, retry_after))

    def stall(self, method: str, seconds: float, *, times: int = 1, after: bool = False) -> None:
        self.stalls.append(Stall(method, seconds, times, after))

    def drop(self, method: str, *, times: int = 1) -> None:
        """Carry out the next `times` calls of `method`, then close the connection without
        answering (the caller cannot know whether it worked)."""
        self.drops[method] = times

    def queue_update(self, update: dict[str, Any]) -> None:
        self.pending.append(update)
        asyncio.get_running_loop().create_task(self._notify())

    def note(self, line: str) -> None:
        self.transcript.append(line)

    # -- reading the transcript ----------------------------------------------------------------

    def calls(self, *methods: str) -> list[Call]:
        return [c for c in self.transcript if isinstance(c, Call) and c.method in methods]

    def sent(self, *methods: str) -> list[Call]:
        """Calls of `methods` that were carried out (answered, or hung up on after)."""
        return [c for c in self.calls(*methods) if c.status in (200, 0)]

    def replies(self) -> list[Call]:
        return self.sent("sendMessage", "sendPhoto", "sendDocument", *CLIP_METHODS)

    def clip_replies(self) -> list[Call]:
        """The clips the bot sent (sendVideo, sendAnimation, sendVideoNote) that arrived."""
        return self.sent(*CLIP_METHODS)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(
                f"gave up after {timeout} s; the transcript:\n{self.format_transcript()}"
            ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def format_transcript(self) -> str:
        lines: list[str] = []
        for entry in self.transcript:
            if isinstance(entry, str):
                lines.append(entry)
                continue
            shown = {k: v for k, v in entry.params.items() if k not in FILE_FIELDS}
            for picture in entry.pictures:
                if picture.field not in CLIP_FIELDS:
                    shown[picture.field] = (
                        f"<{picture.format} {picture.width}x{picture.height}, {picture.size} bytes>"
                    )
            for clip in entry.clips:
                shown[clip.field] = clip.describe()
            if "reply_markup" in shown:
                shown["reply_markup"] = _buttons(shown["reply_markup"])
            arguments = " ".join(f"{k}={_short(v)}" for k, v in shown.items())
            outcome = {200: "ok", 0: "done, then hung up"}.get(entry.status, f"HTTP {entry.status}")
            lines.append(f"bot -> {entry.method} ({entry.encoding}) {arguments}  [{outcome}]")
        return "\n".join(lines)

    # -- the server ----------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        try:
            encoding, params, pictures, clips = await _read(request)
        except web.HTTPRequestEntityTooLarge:
            self.transcript.append(Call(method, "multipart", {}, [], status=413))
            await self._notify()
            return _error(413, "Request Entity Too Large")
        call = Call(method, encoding, params, pictures, clips=clips)
        self.transcript.append(call)
        try:
            await self._stall(method, after=False)
        except asyncio.CancelledError:
            call.status = 499  # the caller hung up first: nothing was done
            raise
        fault = next((f for f in self.faults if f.method == method and f.times > 0), None)
        if fault is not None:
            fault.times -= 1
            call.status = fault.status
            await self._notify()
            if fault.retry_after is not None:
                return _error(fault.status, "Too Many Requests", fault.retry_after)
            return _error(fault.status, "Internal Server Error")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.status = 404
            await self._notify()
            return _error(404, "Not Found")
        try:
            call.result = await handler(params, pictures)
        except TelegramError as exc:
            call.status = exc.status
            call.result = exc.description
            await self._notify()
            return _error(exc.status, exc.description)
        await self._notify()
        await self._stall(method, after=True)
        if self.drops.get(method, 0) > 0:
            self.drops[method] -= 1
            call.status = 0  # carried out; the answer never arrives
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        return web.json_response({"ok": True, "result": call.result})

    async def _stall(self, method: str, *, after: bool) -> None:
        stall = next(
            (s for s in self.stalls if s.method == method and s.after == after and s.times > 0),
            None,
        )
        if stall is not None:
            stall.times -= 1
            await asyncio.sleep(stall.seconds)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        found = next((data for p, data, _ in self.files.values() if p == path), None)
        self.transcript.append(Call("download", "query", {"path": path}, []))
        await self._notify()
        await self._stall("download", after=False)
        fault = next((f for f in self.faults if f.method == "download" and f.times > 0), None)
        if fault is not None:
            fault.times -= 1
            return web.Response(status=fault.status)
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found, content_type="application/octet-stream")

    # -- methods ---------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        return self.me

    async def _m_setWebhook(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        self.webhook = params
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        self.webhook = {}
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        self.commands = params["commands"]
        return True

    async def _m_getUpdates(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        if self.webhook.get("url"):
            raise TelegramError(
                409, "Conflict: can't use getUpdates method while webhook is active"
            )
        offset = int(params.get("offset", 0))
        self.pending = [u for u in self.pending if u["update_id"] >= offset]
        if not self.pending:
            waited = asyncio.ensure_future(self._wait_pending())
            closing = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait(
                [waited, closing],
                timeout=float(params.get("timeout", 0)),
                return_when=asyncio.FIRST_COMPLETED,
            )
            waited.cancel()
            closing.cancel()
        return [u for u in self.pending if u["update_id"] >= offset][
            : int(params.get("limit", 100))
        ]

    async def _wait_pending(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self.pending))

    async def _m_getFile(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        found = self.files.get(str(params.get("file_id")))
        if found is None:
            raise TelegramError(400, "Bad Request: invalid file_id")
        path, data, reported = found
        size = reported if reported is not None else len(data)
        if size > 20 * 1024 * 1024:
            raise TelegramError(400, "Bad Request: file is too big")
        return {
            "file_id": params["file_id"],
            "file_unique_id": params["file_id"][-12:],
            "file_size": size,
            "file_path": path,
        }

    async def _m_sendMessage(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        if not 1 <= len(str(params.get("text", ""))) <= 4096:
            raise TelegramError(400, "Bad Request: message text is empty or too long")
        return self._message(params, text=params["text"])

    async def _m_sendPhoto(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        picture = _picture(pictures, "photo")
        if picture.size > PHOTO_MAX_BYTES:
            raise TelegramError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        if picture.width + picture.height > 10_000 or (
            max(picture.width, picture.height) / min(picture.width, picture.height) > 20
        ):
            raise TelegramError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        size = {"width": picture.width, "height": picture.height, "file_size": picture.size}
        photo = [{"file_id": f"sent-{self.next_id()}", "file_unique_id": "u", **size}]
        return self._message(params, photo=photo, caption=params.get("caption"))

    async def _m_sendDocument(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        picture = _picture(pictures, "document")
        document = {
            "file_id": f"doc-{self.next_id()}",
            "file_unique_id": "d",
            "file_size": picture.size,
        }
        return self._message(params, document=document, caption=params.get("caption"))

    async def _m_deleteMessage(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        message = self.messages.get(int(params.get("message_id", 0)))
        if message is None or message["chat"]["id"] != params.get("chat_id"):
            raise TelegramError(400, "Bad Request: message to delete not found")
        if message["from"]["id"] != self.me["id"]:
            raise TelegramError(400, "Bad Request: message can't be deleted")
        del self.messages[message["message_id"]]
        self.deleted.append(message["message_id"])
        return True

    async def _m_sendChatAction(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        return True

    async def _m_editMessageText(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        message = self._own_message(params)
        if message.get("text") == params.get("text"):
            raise TelegramError(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        return message

    async def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], pictures: list[Picture]
    ) -> Any:
        message = self._own_message(params)
        message["reply_markup"] = _checked_markup(params.get("reply_markup"))
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any], pictures: list[Picture]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self.callbacks or self.callbacks[query_id] > 0:
            raise TelegramError(400, "Bad Request: query is too old or query ID is invalid")
        self.callbacks[query_id] += 1
        return True

    def _own_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get(int(params.get("message_id", 0)))
        if (
            message is None
            or message["chat"]["id"] != params.get("chat_id")
            or message["from"]["id"] != self.me["id"]
        ):
            raise TelegramError(400, "Bad Request: message to edit not found")
        return message

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        caption = content.get("caption")
        if caption is not None and len(caption) > 1024:
            raise TelegramError(400, "Bad Request: message caption is too long")
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise TelegramError(400, "Bad Request: chat not found")
        message: dict[str, Any] = {
            "message_id": self.next_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self.me,
            **{k: v for k, v in content.items() if v is not None},
        }
        if "reply_markup" in params:
            message["reply_markup"] = _checked_markup(params["reply_markup"])
        reply = params.get("reply_parameters")
        if reply is not None and reply["message_id"] in self.messages:
            replied = dict(self.messages[reply["message_id"]])
            replied.pop("reply_to_message", None)  # Telegram nests one level only
            message["reply_to_message"] = replied
        self.messages[message["message_id"]] = message
        return message


async def _read(
    request: web.Request,
) -> tuple[str, dict[str, Any], list[Picture], list[UploadedClip]]:
    """The call's parameters as Telegram reads them: query string, form, multipart or JSON;
    uploaded files decoded (pictures with Pillow, clips with PyAV)."""
    pictures: list[Picture] = []
    clips: list[UploadedClip] = []
    params: dict[str, Any] = {}
    if request.method == "GET" or not request.body_exists:
        encoding, raw = "query", dict(request.query)
    elif request.content_type == "application/json":
        encoding, raw = "json", await request.json()
        return encoding, {k: v for k, v in raw.items()}, pictures, clips
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        encoding = "multipart" if request.content_type.startswith("multipart") else "form"
        if (request.content_length or 0) > UPLOAD_MAX_BYTES + 64 * 1024:
            raise web.HTTPRequestEntityTooLarge(
                max_size=UPLOAD_MAX_BYTES, actual_size=request.content_length or 0
            )
        raw = {}
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                if len(data) > UPLOAD_MAX_BYTES:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=UPLOAD_MAX_BYTES, actual_size=len(data)
                    )
                if name in CLIP_FIELDS:
                    clips.append(decode_clip(name, data))
                else:
                    pictures.append(_decode_picture(name, data))
            else:
                raw[name] = value
    else:
        raise web.HTTPBadRequest(text=f"unexpected content type {request.content_type}")
    for name, value in raw.items():
        if name in JSON_FIELDS:
            params[name] = json.loads(value)
        elif name in INT_FIELDS and value.lstrip("-").isdigit():
            params[name] = int(value)
        else:
            params[name] = value
    return encoding, params, pictures, clips


def _decode_picture(name: str, data: bytes) -> Picture:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return Picture(name, len(data), image.format, image.width, image.height)
    except OSError:
        return Picture(name, len(data), None)


def _picture(pictures: list[Picture], name: str) -> Picture:
    picture = next((p for p in pictures if p.field == name), None)
    if picture is None:
        raise TelegramError(400, f"Bad Request: there is no {name} in the request")
    if picture.format is None or picture.width == 0:
        raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    return picture


def _checked_markup(markup: Any) -> Any:
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and "url" not in button:
                raise TelegramError(400, "Bad Request: can't parse inline keyboard button")
    return markup


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["description"] = f"Too Many Requests: retry after {retry_after}"
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def _buttons(markup: dict[str, Any]) -> str:
    rows = markup.get("inline_keyboard", [])
    labels = [b["text"] for row in rows for b in row]
    if len(labels) > 6:
        return f"[{len(labels)} buttons: {', '.join(labels[:4])}, ...]"
    return "[" + " | ".join(labels) + "]"


def _short(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return repr(text[:120] + "...") if len(text) > 120 else repr(text)

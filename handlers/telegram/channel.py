"""The Telegram channel: python-telegram-bot v22 inside our aiohttp app.

PTB's `Application` is built with `.updater(None)`: it brings the bot (on our shared aiohttp
session, see `http`) and its lifecycle, and no server or poller of its own. Our route
`POST /webhooks/telegram` checks the secret header, turns the JSON into a PTB `Update` and hands
it to the intake, which stores the job (or the answer) before the 200 goes back. Updates are
not run through `Application.process_update`, because that hands handler exceptions to error
handlers: a database failure must become a 500, so that Telegram delivers the update again.

With `intake` the channel registers its webhook (with the secret and the update kinds it
wants) or, in polling mode, starts long-polling getUpdates; it always sets the command menu.
The worker side (`fetch_input` / `fetch_clip`, `report_progress`, `send_result`, `send_error`,
`working`) needs only the bot; a clip's messages are `clip_replies`'.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from telegram import Bot, BotCommand, File, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.services import Services
from bot.settings import TelegramSettings
from core.errors import RetryLater, UserError
from db.models import InputKind, Job
from handlers.commands import MENU
from handlers.platform import PeriodicTask, Reply, VideoProgress
from handlers.telegram import texts
from handlers.telegram.albums import AlbumSummaries
from handlers.telegram.calls import Outbox, call_with_retries, error_kind, retry_after_seconds
from handlers.telegram.clip_replies import UPLOAD_LIMIT, ClipReplies
from handlers.telegram.clips import TELEGRAM_DOWNLOAD_LIMIT, too_big_to_fetch
from handlers.telegram.http import (
    AiohttpRequest,
    DownloadError,
    FileTooLargeError,
    TokenRedactor,
    download,
    download_to,
    file_url,
)
from handlers.telegram.intake import CHANNEL, Intake
from handlers.telegram.polling import UpdatePoller
from handlers.telegram.replies import Replier

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
CHAT_ACTION_EVERY_S = 4.0  # Telegram shows a chat action for about 5 s


class FileTooBigError(UserError):
    kind = "too_large"

    def __init__(self, size: int | None, limit: int) -> None:
        message = (
            texts.too_large(size, limit)
            if size
            else (f"That file is too big; I can take files up to {limit / 1e6:.0f} MB.")
        )
        super().__init__(message, detail=f"Telegram file over {limit} bytes")


class FileUnavailableError(UserError):
    kind = "file_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "I couldn't get that file from Telegram; please send it again.", detail=detail
        )


def build_application(
    settings: TelegramSettings, services: Services
) -> Application[Any, Any, Any, Any, Any, Any]:
    api = settings.api_url
    return (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(AiohttpRequest(services.http, settings.token))
        .get_updates_request(AiohttpRequest(services.http, settings.token, read_timeout=10.0))
        .updater(None)
        .build()
    )


class TelegramChannel:
    name = CHANNEL

    def __init__(self, services: Services, settings: TelegramSettings) -> None:
        self.services = services
        self.settings = settings
        self.redactor = TokenRedactor(settings.token)
        self.redactor.attach()  # before the bot is built: PTB logs its URLs then
        self.application = build_application(settings, services)
        self.bot: Bot = self.application.bot
        self.max_file_bytes = min(TELEGRAM_DOWNLOAD_LIMIT, services.settings.max_image_bytes)
        self.replier = Replier(self.bot, services.db, self._count_error)
        self.clip_replies = ClipReplies(self.bot, services.db, self.replier, self._count_error)
        self.outbox = Outbox()
        self.albums = AlbumSummaries(services.db, CHANNEL, self.replier.send_text)
        self.intake = Intake(
            services,
            self.replier,
            self.outbox,
            self.albums,
            max_file_bytes=self.max_file_bytes,
            admin_ids=settings.admin_ids,
        )
        self.poller: UpdatePoller | None = None

    @classmethod
    def from_services(cls, services: Services) -> TelegramChannel | None:
        if services.settings.telegram is None:
            return None
        return cls(services, services.settings.telegram)

    def _count_error(self, kind: str) -> None:
        self.services.metrics.channel_errors.labels(CHANNEL, kind).inc()

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)]

    async def start(self, *, intake: bool) -> None:
        await self.application.initialize()  # getMe: who we are (for /command@botname)
        self.intake.bot_username = self.bot.username
        if not intake:
            return
        commands = [BotCommand(command, description) for command, description in MENU]
        await call_with_retries(lambda: self.bot.set_my_commands(commands), what="setMyCommands")
        if self.settings.mode == "webhook":
            url = f"{self.services.settings.public_base_url}{WEBHOOK_PATH}"
            registered = await call_with_retries(
                lambda: self.bot.set_webhook(
                    url,
                    secret_token=self.settings.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                ),
                what="setWebhook",
            )
            if not registered:
                raise RuntimeError(f"could not register the Telegram webhook at {url}; see the log")
            log.info("Telegram webhook registered at %s", url)
        else:
            self.poller = UpdatePoller(
                self.bot, self.services.db, self.intake.accept, allowed_updates=ALLOWED_UPDATES
            )
            await self.poller.start()
            log.info("Telegram polling started")

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        await self.albums.stop()
        await self.outbox.close(grace_s=5.0)
        await self.application.shutdown()
        self.redactor.detach()

    def periodic_tasks(self) -> list[PeriodicTask]:
        return []

    def shares_by_default(self, job: Job) -> bool:
        return False  # only with the "Share to gallery" button

    # -- incoming ----------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        expected = self.settings.webhook_secret
        given = request.headers.get(SECRET_HEADER)
        if (
            not expected
            or given is None
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            return web.Response(status=403, text="forbidden")
        try:
            payload = await request.json()
            update = Update.de_json(payload, self.bot) if isinstance(payload, dict) else None
        except (ValueError, KeyError, TypeError):
            update = None
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        await self.intake.accept(update)
        return web.Response(text="ok")

    # -- the worker's side -------------------------------------------------------------------

    @asynccontextmanager
    async def working(self, job: Job) -> AsyncIterator[None]:
        """ "uploading a photo..." (or a video) in the chat every few seconds while the job
        runs."""
        chat_id = job.reply_to.get("chat_id")
        action = ChatAction.UPLOAD_PHOTO
        if job.input_kind in InputKind.CLIPS:
            note = job.source.get("clip") == "video_note"
            action = ChatAction.UPLOAD_VIDEO_NOTE if note else ChatAction.UPLOAD_VIDEO
        task = asyncio.create_task(self._show_working(int(chat_id), action)) if chat_id else None
        try:
            yield
        finally:
            self.clip_replies.forget(job.id)
            if task is not None:
                task.cancel()
                await asyncio.wait([task])

    async def _show_working(self, chat_id: int, action: str) -> None:
        while True:
            try:
                await self.bot.send_chat_action(chat_id, action)
            except TelegramError as exc:  # only a courtesy: never retried, never fatal
                self._count_error(error_kind(exc))
                log.debug("sendChatAction failed (%s): %s", error_kind(exc), exc.message)
            await asyncio.sleep(CHAT_ACTION_EVERY_S)

    async def fetch_input(self, job: Job) -> bytes:
        media = self.services.media
        stored = job.input_media or job.source.get("media")
        if stored:
            if not media.exists(stored):
                raise UserError(texts.PHOTO_GONE, detail=f"job {job.id}: media {stored} is gone")
            return await asyncio.to_thread(media.read, stored)
        limit = self.max_file_bytes
        file = await self._get_file(job, limit, lambda size: FileTooBigError(size, limit))
        try:
            return await download(self.services.http, file_url(file), max_bytes=limit)
        except FileTooLargeError:
            raise FileTooBigError(None, limit) from None
        except DownloadError as exc:
            if exc.transient:
                raise RetryLater(str(exc)) from None
            raise FileUnavailableError(str(exc)) from None

    async def fetch_clip(self, job: Job, target: Path, max_bytes: int) -> None:
        limit = min(TELEGRAM_DOWNLOAD_LIMIT, max_bytes)
        path = await self._get_file(job, limit, lambda size: too_big_to_fetch(size, limit))
        try:
            await download_to(self.services.http, file_url(path), target, max_bytes=limit)
        except DownloadError as exc:
            if exc.transient:
                raise RetryLater(str(exc)) from None
            raise UserError(texts.CLIP_UNAVAILABLE, detail=str(exc)) from None

    async def _get_file(
        self, job: Job, limit: int, too_big_error: Callable[[int | None], UserError]
    ) -> str:
        """getFile for the job's file: its download path (the token is added by PTB)."""
        file_id = str(job.source.get("file_id") or "")
        claimed = job.source.get("file_size")
        if isinstance(claimed, int) and claimed > limit:
            raise too_big_error(claimed)
        try:
            file: File = await self.bot.get_file(file_id)
        except RetryAfter as exc:
            raise RetryLater("getFile: flood control", delay_s=retry_after_seconds(exc)) from None
        except BadRequest as exc:  # before TelegramError: PTB's BadRequest is a NetworkError
            self._count_error(error_kind(exc))
            if "too big" in exc.message.lower():
                raise too_big_error(None) from None
            raise FileUnavailableError(f"getFile: {exc.message}") from None
        except TelegramError as exc:  # 5xx, no connection, no answer: getFile is safe to repeat
            self._count_error(error_kind(exc))
            raise RetryLater(f"getFile: {exc.message}") from None
        if file.file_size is not None and file.file_size > limit:
            raise too_big_error(file.file_size)
        if not file.file_path:
            raise FileUnavailableError("getFile gave no file_path")
        return file.file_path

    def clip_output_kind(self, job: Job) -> Literal["mp4", "gif"] | None:
        return None  # Telegram shows MP4 animations natively: a GIF in, a GIF out, else MP4

    def clip_upload_limit(self, job: Job) -> int | None:
        return UPLOAD_LIMIT  # a bot's sendVideo / sendAnimation / sendVideoNote

    async def report_progress(self, job: Job, progress: VideoProgress) -> None:
        await self.clip_replies.show_progress(job, progress)

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        if reply.clip is not None:
            return await self.clip_replies.send_clip(job, reply, reply.clip)
        return await self.replier.send_result(job, reply)

    async def send_error(self, job: Job, message: str) -> str | None:
        if job.input_kind not in InputKind.CLIPS:
            return await self.replier.send_error(job, message)
        sent = await self.replier.send_error(job, message, finish=False)
        await self.clip_replies.remove_progress(job)
        return sent

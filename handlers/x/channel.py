"""The X channel: mentions and DMs with a photo in, a reply post or DM with the result out.

Intake (the `serve` process): `GET /webhooks/x` answers the CRC challenge; `POST /webhooks/x`
is verified (HMAC-SHA256 of the raw body) before it is parsed, then its posts and DMs are
queued (`handlers.x.intake`). In poll mode a scheduler task reads `GET /2/users/:id/mentions`
from a since_id kept in the database, so a restart neither misses nor repeats a mention.

Replies (the worker): the photo is fetched from an allowlisted host only (DM photos with an
OAuth 1.0a-signed request), the result uploaded with `POST /2/media/upload` and posted as a
reply or a DM. A video or animated GIF is a clip job: its best MP4 variant is fetched the same
way and the result uploaded in chunks (`handlers.x.clips`, `handlers.x.uploads`); X shows no
progress. Public mentions' results go to the gallery, attributed to the @handle and the
reply's URL; a scheduler task keeps their like counts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from yarl import URL

from bot.services import Services
from bot.settings import XSettings
from core.errors import RetryLater, UserError
from db.channel_state import claim_hint
from db.models import Job, utcnow
from db.results import list_replied_results, list_unattributed, set_attribution, set_external_likes
from handlers.platform import PeriodicTask, Reply, VideoProgress, describe
from handlers.x.api import PhotoUnavailableError, XApi, XDeliveryUnknownError, XRequestError
from handlers.x.clips import XClips
from handlers.x.commands import HINT_TEXT
from handlers.x.events import (
    DM,
    POST,
    parse_webhook,
    photo_of_post,
    video_of_post,
    webhook_owner,
)
from handlers.x.intake import CHANNEL, HINT_PERIOD, XIntake, shorten
from handlers.x.polling import MentionsPoller
from handlers.x.signatures import SIGNATURE_HEADER, crc_response, is_valid_signature
from inference.images import ImageLimits, decode_image, encode_jpeg

log = logging.getLogger(__name__)

UPLOAD_LIMIT = 5_000_000  # X's image upload limit
WEBHOOK_BODY_LIMIT = 1_000_000
GALLERY_SYNC_SECONDS = 900
LIKES_WINDOW = timedelta(days=7)


class NoPhotoError(UserError):
    kind = "no_photo"

    def __init__(self, post_id: str) -> None:
        super().__init__(HINT_TEXT, detail=f"no photo in post {post_id}")


class XRejectedError(UserError):
    kind = "x_rejected"

    def __init__(self, detail: str) -> None:
        super().__init__("X did not accept my reply.", detail=detail)


def post_url(post_id: str) -> str:
    return f"https://x.com/i/status/{post_id}"


def alt_text(reply: Reply) -> str:
    if reply.operation == "filter" and reply.filter_name:
        done = f"with the {reply.filter_name} filter"
        if reply.colourised:
            done = f"colourised by AI, then {done}"
    else:
        done = "colourised by AI"
    what = "photo" if reply.clip is None else "GIF" if reply.clip.kind == "gif" else "video"
    text = f"The {what} {done}."
    return text + " The colours are AI-generated guesses." if reply.colourised else text


class XChannel:
    name = CHANNEL

    def __init__(self, services: Services, settings: XSettings) -> None:
        self.services = services
        self.settings = settings
        self.api = XApi(
            services.http,
            settings,
            on_error=lambda kind: services.metrics.channel_errors.labels(CHANNEL, kind).inc(),
        )
        self.intake = XIntake(services, self.api)
        self.clips = XClips(services, self.api)
        self.poller = MentionsPoller(services, self.api, self.intake, settings)
        self._replies: dict[int, str] = {}  # job id -> our reply's post id, until attributed

    @classmethod
    def from_services(cls, services: Services) -> XChannel | None:
        settings = services.settings.x
        return None if settings is None else cls(services, settings)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/webhooks/x", self.answer_crc), web.post("/webhooks/x", self.receive)]

    async def start(self, *, intake: bool) -> None:
        if intake:
            log.info("X channel: %s mode", self.settings.mode)

    async def stop(self) -> None:
        await self.intake.drain()

    def working(self, job: Job) -> AbstractAsyncContextManager[None]:
        return self._attributing(job)

    @asynccontextmanager
    async def _attributing(self, job: Job) -> AsyncIterator[None]:
        """After the runner stored the result of a public mention: its @handle and post URL."""
        try:
            yield
        finally:
            reply_id = self._replies.pop(job.id, None)
        if reply_id is None or job.source.get("kind") != POST:
            return
        try:
            await set_attribution(
                self.services.db,
                job.id,
                author_handle=job.source.get("handle"),
                post_url=post_url(reply_id),
            )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("job %s: attribution left to the gallery sync: %r", job.id, exc)

    async def fetch_input(self, job: Job) -> bytes:
        source = job.source
        url = source.get("url")
        limit = self.services.settings.max_image_bytes
        if not url and source.get("lookup"):
            post_id = str(source["lookup"])
            try:
                post = await self.api.get_post(post_id)
            except XRequestError as exc:
                raise PhotoUnavailableError(str(exc)) from None
            url = photo_of_post(post)
            video = video_of_post(post) if url is None else None
            if video is not None:
                await self.clips.become_clip(job, video)  # back to the queue as a clip job
            if url is None:
                raise NoPhotoError(post_id)
        if not url:
            raise NoPhotoError(job.event_id)
        if source.get("kind") == DM:
            return await self.api.download(str(url), signed=True, max_bytes=limit)
        try:
            return await self.api.download(
                photo_size(str(url), "orig"), signed=False, max_bytes=limit
            )
        except PhotoUnavailableError:
            return await self.api.download(
                photo_size(str(url), "large"), signed=False, max_bytes=limit
            )

    async def fetch_clip(self, job: Job, target: Path, max_bytes: int) -> None:
        await self.clips.fetch(job, target, max_bytes)

    def clip_output_kind(self, job: Job) -> Literal["mp4", "gif"] | None:
        return self.clips.output_kind(job)

    def clip_upload_limit(self, job: Job) -> int | None:
        return self.clips.upload_limit(job)

    async def report_progress(self, job: Job, progress: VideoProgress) -> None:
        return None  # a post or DM cannot be edited into a progress bar

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        is_dm = job.source.get("kind") == DM
        try:
            if reply.clip is not None:  # a failed processing raises its UserError: not posted
                media_id = await self.clips.upload(job, reply.clip)
            else:
                media_id = await self._upload_photo(reply.image, is_dm)
            await self._describe_media(job, media_id, reply)
            # "seconds taken" as the person sees it: from the mention or DM to this reply.
            taken = (utcnow() - job.created_at).total_seconds()
            caption = describe(replace(reply, seconds=taken))
            if is_dm:
                sent = await self.api.send_dm(
                    job.reply_to["participant_id"], caption, media_id=media_id
                )
            else:
                text = caption + '\nReply "delete" to remove it from the gallery.'
                sent = await self.api.create_post(
                    shorten(text), reply_to=job.reply_to["tweet_id"], media_ids=[media_id]
                )
        except XRequestError as exc:
            raise XRejectedError(str(exc)) from None
        self._replies[job.id] = sent
        return sent

    async def _upload_photo(self, jpeg: bytes, is_dm: bool) -> str:
        if len(jpeg) > UPLOAD_LIMIT:
            jpeg = await self.services.pipeline.compute.run(
                fit_upload, jpeg, self.services.image_limits
            )
        return await self.api.upload_media(jpeg, "dm_image" if is_dm else "tweet_image")

    async def _describe_media(self, job: Job, media_id: str, reply: Reply) -> None:
        try:
            await self.api.set_alt_text(media_id, alt_text(reply))
        except XRequestError as exc:  # the picture still goes out, without alt text
            log.warning("job %s: alt text refused: %s", job.id, exc)

    async def send_error(self, job: Job, message: str) -> str | None:
        handle = job.source.get("handle")
        if message == HINT_TEXT and not await claim_hint(
            self.services.db, CHANNEL, _author(job), handle, period=HINT_PERIOD
        ):
            log.info("job %s: no photo; this user was hinted within a day, quiet", job.id)
            return None
        try:
            if job.source.get("kind") == DM:
                return await self.api.send_dm(
                    job.reply_to["participant_id"], shorten(message, 1000), media_id=None
                )
            return await self.api.create_post(
                shorten(message), reply_to=job.reply_to["tweet_id"], media_ids=[]
            )
        except (XRequestError, XDeliveryUnknownError) as exc:
            log.warning("job %s: error message not sent: %s", job.id, exc)
            return None

    def shares_by_default(self, job: Job) -> bool:
        return job.source.get("kind") == POST  # public mentions; DMs stay private

    def periodic_tasks(self) -> list[PeriodicTask]:
        tasks = [PeriodicTask("x-gallery-sync", GALLERY_SYNC_SECONDS, self.sync_gallery)]
        if self.settings.mode == "poll":
            tasks.append(
                PeriodicTask("x-poll-mentions", self.settings.poll_interval_s, self.poller.poll)
            )
        return tasks

    async def answer_crc(self, request: web.Request) -> web.Response:
        token = request.query.get("crc_token")
        if not token:
            return web.json_response({"error": "crc_token is required"}, status=400)
        if "{" in token:
            # The CRC answer is the same HMAC that signs webhook payloads, and a payload is a
            # JSON object: signing a token with a brace would forge a delivery for anyone.
            log.warning("X CRC request with a payload-like crc_token refused")
            return web.json_response({"error": "not a CRC token"}, status=400)
        return web.json_response(crc_response(self.settings.consumer_secret, token))

    async def receive(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > WEBHOOK_BODY_LIMIT:
            return web.json_response({"error": "payload too large"}, status=413)
        body = await request.read()
        signature = request.headers.get(SIGNATURE_HEADER)
        if not is_valid_signature(self.settings.consumer_secret, body, signature):
            log.warning("X webhook with a missing or wrong signature refused")
            return web.json_response({"error": "bad signature"}, status=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "not a JSON object"}, status=400)
        bot_user_id = self.settings.bot_user_id or webhook_owner(payload)
        await self.intake.handle(parse_webhook(payload, self.settings.bot_user_id), bot_user_id)
        return web.json_response({})

    async def sync_gallery(self) -> None:
        """Attribute results the process stopped before attributing; refresh like counts."""
        db = self.services.db
        for job_id, reply_id, handle in await list_unattributed(db, CHANNEL, 100):
            await set_attribution(
                db, job_id, author_handle=handle or None, post_url=post_url(reply_id)
            )
        recent = await list_replied_results(db, CHANNEL, utcnow() - LIKES_WINDOW, 100)
        if not recent:
            return
        try:
            likes = await self.api.get_like_counts([reply_id for _, reply_id in recent])
        except (RetryLater, XRequestError) as exc:
            log.warning("X like counts not refreshed: %s", exc)
            return
        await set_external_likes(
            db, {result_id: likes[reply] for result_id, reply in recent if reply in likes}
        )


def fit_upload(jpeg: bytes, limits: ImageLimits) -> bytes:
    """The result re-encoded (downscaled as needed) to X's 5 MB image limit."""
    if len(jpeg) <= UPLOAD_LIMIT:
        return jpeg
    return encode_jpeg(decode_image(jpeg, limits), max_bytes=UPLOAD_LIMIT)


def photo_size(url: str, name: str) -> str:
    """A pbs.twimg.com photo URL asking for the `orig` or `large` variant."""
    return str(URL(url).update_query(name=name))


def _author(job: Job) -> str:
    return str(job.source.get("author") or job.reply_to.get("participant_id") or "")

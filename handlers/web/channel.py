"""The web channel: `POST /api/v1/jobs` (multipart upload) and `GET /api/v1/jobs/{id}`.

A plainly bad request (no file, not an image, too large, unknown filter) is answered at once
with a 4xx and `{"error": "..."}`; a good one is queued and answered 202. The photo is written
to the media store only once its job is accepted, so a refused upload (over the per-client
limit, the busy answer, anything else) leaves nothing behind; a worker that picks the job up in
the instant before the file lands waits for it (`UPLOAD_LANDING_S`). The result is polled;
nothing is pushed, so `send_result`/`send_error` only record.

Who is who: a client is its address (`services.clients`: TRUSTED_PROXIES decide whether
X-Forwarded-For counts; IPv6 by /64), never a cookie it could drop. The per-client hourly limit
counts by it, and an `Idempotency-Key` is that client's own: the same key from someone else is
another job, and a repeat with the same key must be the same upload (else 422). The submitter
gets a job token with the 202; the status shows the job's pictures (as signed, expiring links)
only to a request that carries it (`Authorization: Bearer <token>`), and to anyone else only a
result that is in the public gallery.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from bot.services import Services
from core.errors import UserError
from db import jobs as queue
from db.models import InputKind, Job, JobStatus, Result, utcnow
from db.results import get_result_for_job
from handlers.platform import PeriodicTask, Reply, VideoProgress
from handlers.web import openapi
from handlers.web.media import TOO_BIG, accept_media, job_progress, store_media
from handlers.web.uploads import Upload, UploadTooLargeError, read_upload
from inference.filters import resolve_filter_name
from inference.images import ImageError
from inference.pipeline import COLORIZE, FILTER
from inference.video import VideoError

CHANNEL = "web"
_IDEMPOTENCY_KEY_CHARS = 100
TOKEN_PURPOSE = "job"
UPLOAD_LANDING_S = 5.0  # how long after its job is accepted an upload's file may take to land
KEY_REUSED = "That Idempotency-Key was already used for a different upload; send a new key."


def json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


class WebChannel:
    name = CHANNEL

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    def from_services(cls, services: Services) -> WebChannel:
        return cls(services)  # always on

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/jobs", self.submit_job),
            web.get("/api/v1/jobs/{id}", self.job_status),
            *openapi.routes(
                self.services.settings.max_image_bytes, self.services.settings.max_video_bytes
            ),
        ]

    async def start(self, *, intake: bool) -> None:
        return None

    async def stop(self) -> None:
        return None

    def working(self, job: Job) -> AbstractAsyncContextManager[None]:
        return nullcontext()  # the page polls for progress

    async def fetch_input(self, job: Job) -> bytes:
        key = await self._landed(job)
        return await asyncio.to_thread(self.services.media.read, key)

    async def fetch_clip(self, job: Job, target: Path, max_bytes: int) -> None:
        await self._landed(job)  # the runner then takes the stored original itself

    async def _landed(self, job: Job) -> str:
        """The upload's media key, once its file is in the store (it is written just after
        the job is accepted)."""
        key = job.input_media or ""
        media = self.services.media
        landing = job.created_at + timedelta(seconds=UPLOAD_LANDING_S)
        while not media.exists(key):
            if utcnow() >= landing:
                what = "video" if job.input_kind in InputKind.CLIPS else "photo"
                raise UserError(
                    f"Your upload has expired; please upload the {what} again.",
                    detail=f"web job {job.id}: input media {key!r} is missing",
                )
            await asyncio.sleep(0.02)
        return key

    def clip_output_kind(self, job: Job) -> Literal["mp4", "gif"] | None:
        return None  # a GIF stays a GIF, a video becomes an MP4

    def clip_upload_limit(self, job: Job) -> int | None:
        return None  # the page plays the result from this server

    async def report_progress(self, job: Job, progress: VideoProgress) -> None:
        return None  # stored on the job by the runner; the page polls GET /api/v1/jobs/{id}

    async def send_result(self, job: Job, reply: Reply) -> str | None:
        return None  # the page polls GET /api/v1/jobs/{id}

    async def send_error(self, job: Job, message: str) -> str | None:
        return None  # stored as the job's error, shown by the page

    def shares_by_default(self, job: Job) -> bool:
        return False  # only with the "share" checkbox (job.share)

    def periodic_tasks(self) -> list[PeriodicTask]:
        return []

    async def submit_job(self, request: web.Request) -> web.Response:
        services = self.services
        settings = services.settings
        try:
            upload = await read_upload(
                request,
                services.media,
                photo_bytes=settings.max_image_bytes,
                clip_bytes=settings.max_video_bytes,
            )
        except UploadTooLargeError as exc:
            return json_error(413, exc.user_message)
        except UserError as exc:
            return json_error(400, exc.user_message)
        try:
            return await self._submit(request, upload)
        finally:
            await upload.discard(services.media)

    async def _submit(self, request: web.Request, upload: Upload) -> web.Response:
        services = self.services
        if upload.path is None or not upload.size:
            message = (
                "The uploaded file is empty."
                if upload.path is not None
                else "Please attach a photo or a video in the `image` field."
            )
            return json_error(400, message)
        try:
            operation, filter_name = parse_operation(
                upload.fields, can_colorize=services.pipeline.can_colorize
            )
            media = await accept_media(services, upload)
        except (ImageError, VideoError) as exc:
            status = 413 if exc.reason in TOO_BIG else 400
            return json_error(status, exc.user_message)
        except UserError as exc:
            return json_error(400, exc.user_message)
        who = client_id(services, request)
        new = queue.NewJob(
            channel=CHANNEL,
            event_id=event_id_for(request, who),
            operation=operation,
            filter_name=filter_name,
            user_external_id=who,
            source={"media": media.key},
            input_media=media.key,
            input_kind=media.kind,
            share=upload.fields.get("share", "").lower() in ("true", "1", "on", "yes"),
        )
        try:
            enqueued = await services.intake.enqueue(new)
        except queue.QueueFullError as exc:
            services.metrics.refused.labels(CHANNEL, "busy").inc()
            return json_error(503, exc.user_message, **{"Retry-After": "300"})
        except queue.UserRateLimitedError as exc:
            services.metrics.refused.labels(CHANNEL, "rate_limited").inc()
            wait = max(1, int((exc.retry_at - utcnow()).total_seconds()))
            return json_error(429, exc.user_message, **{"Retry-After": str(wait)})
        job = enqueued.job
        if not enqueued.created and not same_upload(job, new):
            return json_error(422, KEY_REUSED)
        waiting = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        if enqueued.created or (waiting and not services.media.exists(media.key)):
            await store_media(services, upload, media)  # accepted: now it is stored
        if enqueued.created:
            services.metrics.enqueued.labels(CHANNEL).inc()
        status_url = f"/api/v1/jobs/{job.public_id}"
        body = {
            "id": job.public_id,
            "status": job.status,
            "status_url": status_url,
            "position": enqueued.position,
            "token": services.signer.sign(TOKEN_PURPOSE, job.public_id),
        }
        return web.json_response(body, status=202, headers={"Location": status_url})

    async def job_status(self, request: web.Request) -> web.Response:
        services = self.services
        job = await queue.get_job_by_public_id(services.db, request.match_info["id"])
        if job is None or job.channel != CHANNEL:
            return json_error(404, "There is no such job.")
        owner = services.signer.verify(TOKEN_PURPOSE, job.public_id, bearer_token(request))
        result = await self._result(job)
        public = result is not None and result.gallery and not result.hidden
        links = services.media_links
        result_url = None
        if result is not None and (public or owner):
            result_url = links.public(result.media) if public else links.private(result.media)
        shown = result is not None and result_url is not None
        poster_url = None
        if shown and result is not None and result.poster is not None:
            poster_url = links.public(result.poster) if public else links.private(result.poster)
        body: dict[str, Any] = {
            "id": job.public_id,
            "status": job.status,
            "position": await queue.queue_position(services.db, job),
            "result_url": result_url,
            "error": job.error_message if job.status == JobStatus.FAILED else None,
            "operation": job.operation,
            "filter": job.filter_name,
            "input_url": links.private(job.input_media) if owner and job.input_media else None,
            "gallery_url": f"/gallery/{result.public_id}" if result and public else None,
            "input_kind": job.input_kind,
            "progress": job_progress(job),
            "result_type": result.mime_type if shown and result is not None else None,
            "poster_url": poster_url,
            "duration": result.duration_seconds if shown and result is not None else None,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def _result(self, job: Job) -> Result | None:
        if job.status != JobStatus.DONE:
            return None
        return await get_result_for_job(self.services.db, job.id)


def parse_operation(form: dict[str, str], *, can_colorize: bool) -> tuple[str, str | None]:
    """-> (operation, canonical filter name); raises UserError with a friendly message."""
    name = str(form.get("filter", "") or "").strip()
    operation = str(form.get("operation", "") or "").strip().lower()
    if operation in ("colourise", "colorise", "colourize"):
        operation = COLORIZE
    if not operation:
        operation = FILTER if name else COLORIZE
    if operation == FILTER:
        if not name:
            raise UserError("Please choose a filter, e.g. Lo-Fi.")
        return FILTER, resolve_filter_name(name)
    if operation == COLORIZE:
        if not can_colorize:
            raise UserError("Colourising isn't available right now, sorry; the filters work.")
        return COLORIZE, None
    raise UserError("`operation` must be `colorize` or `filter`.")


def client_id(services: Services, request: web.Request) -> str:
    """A stable, non-reversible id for the uploader: what the per-client limit counts by."""
    return hashlib.sha256(f"web:{services.clients.key(request)}".encode()).hexdigest()[:32]


def event_id_for(request: web.Request, client: str) -> str:
    """The job's unique event id: the client's own `Idempotency-Key` (hashed with the client,
    so the same key from another client is another job), else a random one."""
    key = request.headers.get("Idempotency-Key", "")[:_IDEMPOTENCY_KEY_CHARS]
    if not key:
        return secrets.token_hex(16)
    return "key:" + hashlib.sha256(f"{client}\n{key}".encode()).hexdigest()


def same_upload(job: Job, new: queue.NewJob) -> bool:
    """Whether a repeated request (same client, same key) asks for what the job does."""
    return (job.input_media, job.operation, job.filter_name, job.share) == (
        new.input_media,
        new.operation,
        new.filter_name,
        new.share,
    )


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None

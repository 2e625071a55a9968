"""The web channel: `POST /api/v1/jobs` (multipart upload) and `GET /api/v1/jobs/{id}`.

A plainly bad request (no file, not an image, too large, unknown filter) is answered at once
with a 4xx and `{"error": "..."}`; a good one is stored, queued and answered 202. The result is
polled; nothing is pushed, so `send_result`/`send_error` only record.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from aiohttp import BodyPartReader, web

from bot.services import Services
from core.errors import UserError
from db import jobs as queue
from db.models import Job, JobStatus, Result, utcnow
from db.results import get_result_for_job
from handlers.platform import PeriodicTask, Reply
from handlers.web import openapi
from inference.filters import resolve_filter_name
from inference.images import ImageError, probe_image
from inference.pipeline import COLORIZE, FILTER

CHANNEL = "web"
_TEXT_FIELD_LIMIT = 1024


class UploadTooLargeError(UserError):
    kind = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"That file is too large; the limit is {limit / 1e6:.0f} MB.",
            detail=f"upload over {limit} bytes",
        )


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
            *openapi.routes(self.services.settings.max_image_bytes),
        ]

    async def start(self, *, intake: bool) -> None:
        return None

    async def stop(self) -> None:
        return None

    def working(self, job: Job) -> AbstractAsyncContextManager[None]:
        return nullcontext()  # the page polls for progress

    async def fetch_input(self, job: Job) -> bytes:
        key = job.input_media or ""
        if not self.services.media.exists(key):
            raise UserError(
                "Your upload has expired; please upload the photo again.",
                detail=f"web job {job.id}: input media {key!r} is missing",
            )
        return await asyncio.to_thread(self.services.media.read, key)

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
        try:
            form = await read_upload(request, services.settings.max_image_bytes)
        except UploadTooLargeError as exc:
            return json_error(413, exc.user_message)
        except UserError as exc:
            return json_error(400, exc.user_message)
        image = form.pop("image", None)
        if not isinstance(image, bytes) or not image:
            message = (
                "The uploaded file is empty."
                if image == b""
                else ("Please attach a photo in the `image` field.")
            )
            return json_error(400, message)
        try:
            operation, filter_name = parse_operation(
                form, can_colorize=services.pipeline.can_colorize
            )
            info = probe_image(image, services.image_limits)
        except ImageError as exc:
            status = 413 if exc.reason in ("too_many_bytes", "too_many_pixels") else 400
            return json_error(status, exc.user_message)
        except UserError as exc:
            return json_error(400, exc.user_message)
        key = await asyncio.to_thread(services.media.put_image, image, info.format)
        event_id = request.headers.get("Idempotency-Key", "")[:100] or secrets.token_hex(16)
        new = queue.NewJob(
            channel=CHANNEL,
            event_id=event_id,
            operation=operation,
            filter_name=filter_name,
            user_external_id=client_id(request),
            source={"media": key},
            input_media=key,
            share=str(form.get("share", "")).lower() in ("true", "1", "on", "yes"),
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
        if enqueued.created:
            services.metrics.enqueued.labels(CHANNEL).inc()
        job = enqueued.job
        status_url = f"/api/v1/jobs/{job.public_id}"
        body = {
            "id": job.public_id,
            "status": job.status,
            "status_url": status_url,
            "position": enqueued.position,
        }
        return web.json_response(body, status=202, headers={"Location": status_url})

    async def job_status(self, request: web.Request) -> web.Response:
        job = await queue.get_job_by_public_id(self.services.db, request.match_info["id"])
        if job is None or job.channel != CHANNEL:
            return json_error(404, "There is no such job.")
        result = await self._result(job)
        body: dict[str, Any] = {
            "id": job.public_id,
            "status": job.status,
            "position": await queue.queue_position(self.services.db, job),
            "result_url": f"/media/{result.media}" if result else None,
            "error": job.error_message if job.status == JobStatus.FAILED else None,
            "operation": job.operation,
            "filter": job.filter_name,
            "input_url": f"/media/{job.input_media}" if job.input_media else None,
            "gallery_url": f"/gallery/{result.public_id}" if result and result.gallery else None,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def _result(self, job: Job) -> Result | None:
        if job.status != JobStatus.DONE:
            return None
        return await get_result_for_job(self.services.db, job.id)


def parse_operation(form: dict[str, str | bytes], *, can_colorize: bool) -> tuple[str, str | None]:
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


async def read_upload(request: web.Request, max_bytes: int) -> dict[str, str | bytes]:
    """Read a multipart form, stopping as soon as the image exceeds `max_bytes`."""
    if not request.content_type.startswith("multipart/"):
        raise UserError("Send the photo as multipart/form-data with an `image` field.")
    reader = await request.multipart()
    fields: dict[str, str | bytes] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.name == "image":
            fields["image"] = await _read_capped(part, max_bytes)
        else:
            fields[part.name] = (await _read_capped(part, _TEXT_FIELD_LIMIT)).decode(
                "utf-8", "replace"
            )
    return fields


async def _read_capped(part: BodyPartReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise UploadTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def client_id(request: web.Request) -> str:
    """A stable, non-reversible id for the uploader (for the per-user limit)."""
    return hashlib.sha256(f"web:{request.remote}".encode()).hexdigest()[:32]

"""The chunked media upload of the fake X API (`tests.fake_x.FakeX` is built on it).

Videos and GIFs are uploaded the way X's v2 API takes them since the 2025 change (the
dedicated endpoints; the `command=` forms of `POST /2/media/upload` and v1.1's
upload.twitter.com are gone): `POST /2/media/upload/initialize` (JSON: media_type,
total_bytes, media_category), `POST /2/media/upload/{id}/append` (multipart: segment_index,
media; at most 5 MB a chunk), `POST /2/media/upload/{id}/finalize`, then
`GET /2/media/upload?command=STATUS&media_id=...` until `processing_info.state` is
`succeeded` or `failed`. The fake checks the chunks add up, decodes the whole file with PyAV
(codec, frames, duration, sound), applies the category's limits, and walks the scripted
`processing` states; a STATUS asked before the last answer's `check_after_secs` is counted in
`early_status_checks`. A post or DM may use the media only once it has succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.uploaded_clips import UploadedClip, decode_clip

UPLOAD = web.RequestKey("upload", dict)  # what an upload request carried, for the transcript
CHUNK_LIMIT = 5 * 1024 * 1024  # one APPEND's media
VIDEO_CATEGORIES = {"tweet_video": "video", "dm_video": "video", "amplify_video": "video"}
GIF_CATEGORIES = {"tweet_gif": "gif", "dm_gif": "gif"}
CLIP_BYTES_LIMIT = {"video": 512 * 1024 * 1024, "gif": 15 * 1024 * 1024}
VIDEO_SECONDS_LIMIT = 140.0


@dataclass
class Processing:
    """One scripted answer about an upload's processing (FINALIZE gives the first)."""

    state: str  # pending, in_progress, succeeded, failed
    check_after_secs: int | None = 1
    progress_percent: int | None = None
    error: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        info: dict[str, Any] = {"state": self.state}
        if self.state in ("pending", "in_progress") and self.check_after_secs is not None:
            info["check_after_secs"] = self.check_after_secs
        if self.progress_percent is not None:
            info["progress_percent"] = self.progress_percent
        if self.error is not None:
            info["error"] = self.error
        return info


DEFAULT_PROCESSING = (Processing("pending", 1), Processing("succeeded", progress_percent=100))


class ChunkedUploads:
    """The initialize / append / finalize / STATUS routes, on the fake's own upload table."""

    uploads: dict[str, dict[str, Any]]
    processing: list[Processing]  # what FINALIZE and each STATUS answer for the next upload
    early_status_checks: int
    next_id: Callable[[], str]  # the fake server's id counter

    async def _initialize(self, request: web.Request) -> web.Response:
        body = await request.json() if request.content_type == "application/json" else {}
        category = str(body.get("media_category", ""))
        media_type = str(body.get("media_type", ""))
        total = body.get("total_bytes")
        kind = VIDEO_CATEGORIES.get(category) or GIF_CATEGORIES.get(category)
        wanted_types = {"video": ("video/mp4",), "gif": ("image/gif", "video/mp4")}
        if kind is None or media_type not in wanted_types[kind] or not isinstance(total, int):
            return web.json_response(
                {"title": "Invalid Request", "detail": "bad initialize parameters"}, status=400
            )
        if not 0 < total <= CLIP_BYTES_LIMIT[kind]:
            return web.json_response(
                {"title": "Invalid Request", "detail": f"total_bytes {total} over the limit"},
                status=400,
            )
        media_id = self.next_id()
        media_key = f"{16 if kind == 'gif' else 7}_{media_id}"
        self.uploads[media_id] = {
            "category": category,
            "media_type": media_type,
            "total_bytes": total,
            "segments": {},
            "state": "initialized",
            "script": list(self.processing),
            "status_checks": 0,
            "not_before": 0.0,
        }
        return web.json_response(
            {"data": {"id": media_id, "media_key": media_key, "expires_after_secs": 86400}}
        )

    async def _append(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["id"])
        fields: dict[str, bytes] = {}
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                fields[str(part.name)] = await part.read()  # type: ignore[union-attr]
        media = fields.get("media", b"")
        index_text = fields.get("segment_index", b"").decode()
        request[UPLOAD] = {"segment_index": index_text, "bytes": len(media)}
        if upload is None or upload["state"] != "initialized":
            return web.json_response({"title": "Not Found", "detail": "no such upload"}, status=404)
        if not index_text.isdigit() or not 0 <= int(index_text) <= 999:
            return web.json_response(
                {"title": "Invalid Request", "detail": "segment_index"}, status=400
            )
        if not 0 < len(media) <= CHUNK_LIMIT:
            return web.json_response(
                {"title": "Invalid Request", "detail": f"a chunk of {len(media)} bytes"}, status=400
            )
        upload["segments"][int(index_text)] = media
        return web.json_response({"data": {"expires_at": int(time.time()) + 86400}})

    async def _finalize(self, request: web.Request) -> web.Response:
        media_id = request.match_info["id"]
        upload = self.uploads.get(media_id)
        if upload is None or upload["state"] != "initialized":
            return web.json_response({"title": "Not Found", "detail": "no such upload"}, status=404)
        segments: dict[int, bytes] = upload["segments"]
        if sorted(segments) != list(range(len(segments))):
            return web.json_response(
                {"title": "Invalid Request", "detail": "segments missing"}, status=400
            )
        data = b"".join(segments[i] for i in range(len(segments)))
        if len(data) != upload["total_bytes"]:
            detail = f"got {len(data)} of {upload['total_bytes']} bytes"
            return web.json_response({"title": "Invalid Request", "detail": detail}, status=400)
        clip = decode_clip("media", data)
        upload.update(bytes=len(data), clip=clip, state="processing")
        refusal = _refusal(upload["category"], clip)
        if refusal is not None:  # X finds out while processing: a `failed` state
            upload["script"] = [
                Processing("failed", error={"code": 1, "name": "InvalidMedia", "message": refusal})
            ]
        return web.json_response({"data": self._processing_answer(media_id, upload)})

    async def _status(self, request: web.Request) -> web.Response:
        media_id = request.query.get("media_id", "")
        upload = self.uploads.get(media_id)
        if request.query.get("command") != "STATUS":
            return web.json_response({"title": "Invalid Request", "detail": "command"}, status=400)
        if upload is None or "script" not in upload:
            return web.json_response({"title": "Not Found", "detail": "no such upload"}, status=404)
        if time.monotonic() < upload["not_before"]:
            self.early_status_checks += 1
        upload["status_checks"] += 1
        return web.json_response({"data": self._processing_answer(media_id, upload)})

    def _processing_answer(self, media_id: str, upload: dict[str, Any]) -> dict[str, Any]:
        script: list[Processing] = upload["script"]
        step = script.pop(0) if len(script) > 1 else script[0]
        upload["state"] = step.state if step.state in ("succeeded", "failed") else "processing"
        upload["not_before"] = time.monotonic() + (step.check_after_secs or 0)
        answer: dict[str, Any] = {
            "id": media_id,
            "media_key": f"{16 if upload['category'].endswith('gif') else 7}_{media_id}",
            "size": upload.get("bytes", 0),
            "expires_after_secs": 86400,
        }
        answer["processing_info"] = step.as_json()
        return answer


def _refusal(category: str, clip: UploadedClip) -> str | None:
    """Why X's processing would fail this upload, or None."""
    if clip.codec is None or clip.frames == 0:
        return "Unsupported video format"
    if category in VIDEO_CATEGORIES and clip.codec != "h264":
        return f"Unsupported video codec {clip.codec}"
    if category in VIDEO_CATEGORIES and clip.duration > VIDEO_SECONDS_LIMIT:
        return f"Duration too long: {clip.duration:.1f} s"
    return None

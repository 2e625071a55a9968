"""The OpenAPI 3.1 document of the web channel's HTTP API, served at `GET /api/v1/openapi.json`.

It describes what the web channel really answers, status by status; `tests/test_web_api.py`
validates every live response of the API against it, so the two cannot drift apart silently.
Schemas are JSON Schema 2020-12 (the OpenAPI 3.1 dialect).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inference.filter_names import FILTER_NAMES

OPENAPI_PATH = "/api/v1/openapi.json"
JOB_STATUSES = ["queued", "running", "done", "failed"]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


_MEDIA_URL = {
    "type": "string",
    "pattern": "^/media/([0-9]+\\.[A-Za-z0-9_-]+/)?[0-9a-f]{64}\\.[a-z0-9]+$",
    "description": "`/media/<key>` for a picture in the public gallery; otherwise a signed link "
    "that expires after a day, given only to the job's submitter.",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "A refusal, in words meant for the person who sent the request.",
        "required": ["error"],
        "properties": {"error": {"type": "string", "minLength": 1}},
        "additionalProperties": False,
    },
    "JobAccepted": {
        "type": "object",
        "required": ["id", "status", "status_url", "position", "token"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "status": {"enum": JOB_STATUSES},
            "status_url": {"type": "string", "pattern": "^/api/v1/jobs/[^/]+$"},
            "position": _nullable({"type": "integer", "minimum": 1}),
            "token": {
                "type": "string",
                "minLength": 1,
                "description": "The job's secret: send it as `Authorization: Bearer <token>` "
                "with the status request to get the job's pictures. Keep it private.",
            },
        },
        "additionalProperties": False,
    },
    "Job": {
        "type": "object",
        "required": [
            "id",
            "status",
            "position",
            "result_url",
            "error",
            "operation",
            "filter",
            "input_url",
            "gallery_url",
        ],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "status": {"enum": JOB_STATUSES},
            "position": {
                **_nullable({"type": "integer", "minimum": 1}),
                "description": "Place in the queue (1 = next); null unless queued.",
            },
            "result_url": {
                **_nullable(_MEDIA_URL),
                "description": "Set when done, for the submitter (with the job's token) or "
                "when the result is in the public gallery: a JPEG for a photo, an MP4 (H.264, "
                "sound kept) for a video, a GIF for a GIF (`result_type` says which).",
            },
            "error": {
                **_nullable({"type": "string", "minLength": 1}),
                "description": "Why the job failed, in friendly words; null unless failed.",
            },
            "operation": {"enum": ["colorize", "filter"]},
            "filter": {**_nullable({"enum": list(FILTER_NAMES)}), "description": "Canonical."},
            "input_url": {
                **_nullable(_MEDIA_URL),
                "description": "The uploaded photo or clip, for the submitter (with the job's "
                "token) only.",
            },
            "gallery_url": {
                **_nullable({"type": "string", "pattern": "^/gallery/[^/]+$"}),
                "description": "Set when the result is in the public gallery.",
            },
            "input_kind": {
                "enum": ["photo", "video", "gif"],
                "description": "What the upload is, decided by its content (a GIF of one "
                "frame is a photo).",
            },
            "progress": {
                **_nullable({"$ref": "#/components/schemas/Progress"}),
                "description": "A video's or GIF's progress while it runs (and 1 when done); "
                "null for a photo and for a clip not started yet.",
            },
            "result_type": {
                **_nullable({"enum": ["image/jpeg", "video/mp4", "image/gif"]}),
                "description": "The MIME type of `result_url`; null while it is null.",
            },
            "poster_url": {
                **_nullable(_MEDIA_URL),
                "description": "A clip's result: a JPEG of one of its frames (a poster); null "
                "for a photo and while `result_url` is null.",
            },
            "duration": {
                **_nullable({"type": "number", "minimum": 0}),
                "description": "A clip's result: its length in seconds; null for a photo.",
            },
        },
        "additionalProperties": False,
    },
    "Progress": {
        "type": "object",
        "required": ["fraction", "eta_seconds"],
        "properties": {
            "fraction": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "The share of the clip's frames done.",
            },
            "eta_seconds": {
                **_nullable({"type": "number", "minimum": 0}),
                "description": "About how many seconds are left; null until there is a rate "
                "to tell from.",
            },
        },
        "additionalProperties": False,
    },
    "JobUpload": {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "The photo (JPEG, PNG, WebP, BMP, TIFF, or a GIF of one frame) "
                "or the clip (MP4, MOV, WebM, or an animated GIF), told apart by content. A GIF "
                "comes back as a GIF, any other clip as an MP4.",
            },
            "operation": {
                "enum": ["colorize", "filter"],
                "description": "Defaults to `filter` when `filter` is given, else `colorize`.",
            },
            "filter": {
                "type": "string",
                "description": "A filter name, matched leniently ('lofi', 'Lo-fi', 'x pro 2').",
                "examples": list(FILTER_NAMES),
            },
            "share": {
                "enum": ["true", "false"],
                "default": "false",
                "description": "`true` shares the result to the public gallery.",
            },
        },
    },
}


def build_openapi(max_photo_bytes: int, max_clip_bytes: int) -> dict[str, Any]:
    """The document as a dict (JSON-serialisable)."""
    job_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    job_token = {
        "name": "Authorization",
        "in": "header",
        "required": False,
        "description": "`Bearer <token>`, the token of the upload's answer: without it the "
        "job's pictures are not shown (unless the result is in the public gallery).",
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "colorbot",
            "version": "1",
            "description": (
                "Colourise a black-and-white photo, video or GIF, or apply one of 40 filters. "
                "Upload it (202 with a status URL), poll the status URL until the job is done "
                "or failed (a clip reports its `progress`), then fetch `result_url`. Photos up "
                f"to {max_photo_bytes / 1e6:.0f} MB, videos and GIFs up to "
                f"{max_clip_bytes / 1e6:.0f} MB."
            ),
        },
        "paths": {
            "/api/v1/jobs": {
                "post": {
                    "operationId": "createJob",
                    "summary": "Upload a photo, video or GIF to colourise or filter",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Repeat a request with the same key to get the same "
                            "job instead of a new one (up to 100 characters are used). A key "
                            "is yours alone (another client's same key is another job), and a "
                            "repeat must be the same upload.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {"$ref": "#/components/schemas/JobUpload"},
                                "encoding": {"image": {"contentType": "image/*, video/*"}},
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Queued (or the job an earlier identical request made).",
                            "headers": {
                                "Location": {
                                    "description": "The status URL.",
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/JobAccepted"}
                                }
                            },
                        },
                        "400": _error(
                            "No file, an empty file, not an image or a video (a damaged or "
                            "cut-off clip, sound alone), an unknown filter (with suggestions), "
                            "a bad operation, or not multipart/form-data."
                        ),
                        "413": _error(
                            "Over a limit: the file's bytes, the picture it declares, a clip's "
                            "length or frames; the message names the limit and by how much."
                        ),
                        "408": _error("The upload took longer than the server waits."),
                        "422": _error("The Idempotency-Key was used for a different upload."),
                        "429": _error("Too many uploads from you for now.", retry_after=True),
                        "503": _error("The queue is full.", retry_after=True),
                        "500": _error("A fault on the server."),
                    },
                }
            },
            "/api/v1/jobs/{id}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "A job's status, and its result once done",
                    "parameters": [job_id, job_token],
                    "responses": {
                        "200": {
                            "description": "The job.",
                            "headers": {
                                "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}
                            },
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Job"}}
                            },
                        },
                        "404": _error("There is no such job."),
                        "500": _error("A fault on the server."),
                    },
                }
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
        },
    }


def routes(max_photo_bytes: int, max_clip_bytes: int) -> list[web.RouteDef]:
    """`GET /api/v1/openapi.json`: the document for this service's upload limits."""
    document = build_openapi(max_photo_bytes, max_clip_bytes)

    async def openapi_document(request: web.Request) -> web.Response:
        return web.json_response(document, headers={"Cache-Control": "no-cache"})

    return [web.get(OPENAPI_PATH, openapi_document)]

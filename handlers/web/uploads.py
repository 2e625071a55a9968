"""Reading `POST /api/v1/jobs`: the multipart form, its file streamed to a scratch folder
(a clip may be 50 MB: it is never held in memory whole), and what the file is, by content.

The file's first bytes decide its limit as it arrives: a photo may be MAX_IMAGE_BYTES, a video
or an animated GIF MAX_VIDEO_BYTES (a GIF is read up to the larger, since only its frames say
which it is); the upload is cut off as soon as it passes that, and the refusal names the
limit and, from the request's Content-Length, by how much. The caller removes the scratch
folder (`Upload.discard`) whatever happens; nothing here touches the media store itself.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web

from bot.media import MediaStore
from core.errors import UserError
from inference.video import sniff_file, sniff_media
from inference.video.errors import over_by

_TEXT_FIELD_LIMIT = 1024
_MAX_FORM_PARTS = 16
_CHUNK = 256 * 1024
FILE_FIELD = "image"


class UploadTooLargeError(UserError):
    kind = "too_large"

    def __init__(self, what: str, limit: int, declared: int | None) -> None:
        limit_mb = limit / 1e6
        if declared is not None and declared > limit:
            text = f"That {what} is too large ({over_by(declared / 1e6, limit_mb, 'MB')})."
        else:
            text = f"That {what} is too large; the limit is {limit_mb:.0f} MB."
        super().__init__(text, detail=f"upload over {limit} bytes ({what})")


@dataclass
class Upload:
    """The form's text fields and its file (in `folder`), with what the file is."""

    fields: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None
    path: Path | None = None  # None: the form had no file
    size: int = 0
    kind: str | None = None  # "photo" | "gif" | "video" | "audio" | None, by content

    @property
    def is_clip(self) -> bool:
        return self.kind in ("gif", "video", "audio")

    async def discard(self, media: MediaStore) -> None:
        if self.folder is not None:
            await asyncio.to_thread(media.remove_scratch, self.folder)
            self.folder = None


async def read_upload(
    request: web.Request, media: MediaStore, *, photo_bytes: int, clip_bytes: int
) -> Upload:
    """Read the form; raises UserError (UploadTooLargeError for a file over its limit). On
    an error the scratch folder is already removed."""
    if not request.content_type.startswith("multipart/"):
        raise UserError("Send the photo as multipart/form-data with an `image` field.")
    upload = Upload()
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > _MAX_FORM_PARTS:
                raise UserError(f"That form has too many fields (at most {_MAX_FORM_PARTS}).")
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.name == FILE_FIELD:
                await _save_file(
                    part, upload, media, request.content_length, photo_bytes, clip_bytes
                )
            elif part.filename is not None:  # a file under another name (`photo`, `file`)
                raise UserError(
                    f"Send the file in a form field named `{FILE_FIELD}` "
                    f"(this one is named `{part.name}`)."
                )
            else:
                text = await _read_text(part)
                upload.fields[part.name] = text
    except BaseException:
        await upload.discard(media)
        raise
    if upload.path is not None and upload.size:
        upload.kind = await asyncio.to_thread(sniff_file, upload.path)
    return upload


async def _save_file(
    part: BodyPartReader,
    upload: Upload,
    media: MediaStore,
    declared: int | None,
    photo_bytes: int,
    clip_bytes: int,
) -> None:
    if upload.folder is None:
        upload.folder = await asyncio.to_thread(media.scratch, f"upload-{secrets.token_hex(8)}")
    upload.path = upload.folder / "file"
    upload.size = 0
    stream: BinaryIO = await asyncio.to_thread(upload.path.open, "wb")
    limit, what = max(photo_bytes, clip_bytes), "file"
    try:
        while chunk := await part.read_chunk(_CHUNK):
            if upload.size == 0:
                limit, what = _limit_for(chunk, photo_bytes, clip_bytes)
            upload.size += len(chunk)
            if upload.size > limit:
                raise UploadTooLargeError(what, limit, declared)
            await asyncio.to_thread(stream.write, chunk)
    finally:
        await asyncio.to_thread(stream.close)


def _limit_for(head: bytes, photo_bytes: int, clip_bytes: int) -> tuple[int, str]:
    """The byte limit (and the word for the file) its first bytes call for."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return max(photo_bytes, clip_bytes), "GIF"
    kind = sniff_media(head)
    if kind in ("video", "audio"):
        return clip_bytes, "video"
    return photo_bytes, "photo" if kind == "photo" else "file"


async def _read_text(part: BodyPartReader) -> str:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_TEXT_FIELD_LIMIT):
        size += len(chunk)
        if size > _TEXT_FIELD_LIMIT:
            raise UserError(f"The form field `{part.name}` is too long.")
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")

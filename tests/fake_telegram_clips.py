"""What the fake Telegram Bot API (`tests.fake_telegram.FakeTelegram`) does with clips:
sendVideo, sendAnimation (no sound allowed) and sendVideoNote (square, at most 640 px and a
minute), each checking the uploaded clip as PyAV decoded it, and the objects they answer with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.uploaded_clips import UploadedClip

VIDEO_NOTE_MAX_SECONDS = 60
VIDEO_NOTE_MAX_LENGTH = 640


class TelegramError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class ClipMethods:
    """The clip methods, on the fake's own transcript and message store."""

    transcript: list[Any]  # the fake's calls, the current one last
    next_id: Callable[[], int]
    _message: Callable[..., Any]

    async def _m_sendVideo(self, params: dict[str, Any], pictures: list[Any]) -> Any:
        clip = self._clip("video")
        video = self._clip_object(clip, params, "video/mp4")
        return self._message(params, video=video, caption=params.get("caption"))

    async def _m_sendAnimation(self, params: dict[str, Any], pictures: list[Any]) -> Any:
        clip = self._clip("animation")
        if clip.audio_codec is not None:
            raise TelegramError(400, "Bad Request: an animation must be without sound")
        mime = "image/gif" if clip.is_gif else "video/mp4"
        animation = self._clip_object(clip, params, mime)
        return self._message(
            params, animation=animation, document=animation, caption=params.get("caption")
        )

    async def _m_sendVideoNote(self, params: dict[str, Any], pictures: list[Any]) -> Any:
        clip = self._clip("video_note")
        if clip.width != clip.height or clip.width > VIDEO_NOTE_MAX_LENGTH:
            raise TelegramError(400, "Bad Request: VIDEO_NOTE_DIMENSIONS_INVALID")
        if clip.duration > VIDEO_NOTE_MAX_SECONDS + 0.5:
            raise TelegramError(400, "Bad Request: VIDEO_NOTE_TOO_LONG")
        note = {
            "file_id": f"note-{self.next_id()}",
            "file_unique_id": "n",
            "length": int(params.get("length") or clip.width),
            "duration": int(params.get("duration") or round(clip.duration)),
            "file_size": clip.size,
        }
        return self._message(params, video_note=note)

    def _clip(self, name: str) -> UploadedClip:
        clips: list[UploadedClip] = self.transcript[-1].clips
        clip = next((c for c in clips if c.field == name), None)
        if clip is None:
            raise TelegramError(400, f"Bad Request: there is no {name} in the request")
        if clip.codec is None or clip.frames == 0:
            raise TelegramError(400, "Bad Request: wrong file type or the file is damaged")
        return clip

    def _clip_object(self, clip: UploadedClip, params: dict[str, Any], mime: str) -> Any:
        return {
            "file_id": f"clip-{self.next_id()}",
            "file_unique_id": "c",
            "width": int(params.get("width") or clip.width),
            "height": int(params.get("height") or clip.height),
            "duration": int(params.get("duration") or round(clip.duration)),
            "mime_type": mime,
            "file_size": clip.size,
        }

"""Telegram updates as the Bot API delivers them (JSON dicts), for the fake's users."""

from __future__ import annotations

import io
import itertools
import time
from typing import TYPE_CHECKING, Any

from PIL import Image

from tests.uploaded_clips import decode_clip

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram


def thumbnail(data: bytes, side: int = 90) -> tuple[bytes, int, int]:
    buffer = io.BytesIO()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((side, side))
            image.convert("RGB").save(buffer, "JPEG", quality=70)
            return buffer.getvalue(), image.width, image.height
    except OSError:  # a broken photo: some grey thumbnail
        Image.new("RGB", (side, side), (128, 128, 128)).save(buffer, "JPEG")
        return buffer.getvalue(), side, side


def image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width, image.height
    except OSError:
        return 640, 480  # a corrupt photo: Telegram still reports some size


class UpdateBuilder:
    """Builds updates from users of the fake; every message is remembered by the fake so that
    the bot's replies and button presses can refer to it."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._update_ids = itertools.count(10_001)
        self._callback_ids = itertools.count(900_001)

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": "en",
        }

    def update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **payload}

    def message(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": self.fake.next_id(),
            "date": int(time.time()),
            "chat": (
                {"id": chat, "type": "private", "first_name": f"User{user_id}"}
                if chat > 0
                else {"id": chat, "type": "supergroup", "title": "Photo club"}
            ),
            "from": self.user(user_id),
            **{k: v for k, v in content.items() if v is not None},
        }
        if reply_to is not None:
            replied = dict(reply_to)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        self.fake.messages[message["message_id"]] = message
        return message

    def photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A compressed photo: Telegram sends a thumbnail and the full size."""
        small, small_width, small_height = thumbnail(data)
        width, height = image_size(data)
        sizes = [
            {
                "file_id": self.fake.add_file(small),
                "file_unique_id": f"t{self.fake.next_id()}",
                "width": small_width,
                "height": small_height,
                "file_size": len(small),
            },
            {
                "file_id": self.fake.add_file(data),
                "file_unique_id": f"p{self.fake.next_id()}",
                "width": width,
                "height": height,
                "file_size": len(data),
            },
        ]
        message = self.message(
            user_id, photo=sizes, caption=caption, media_group_id=media_group_id, **options
        )
        return self.update(message=message)

    def document(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str = "photo.jpg",
        mime_type: str = "image/jpeg",
        caption: str | None = None,
        reported_size: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        size = reported_size if reported_size is not None else len(data)
        document = {
            "file_id": self.fake.add_file(data, reported_size=reported_size),
            "file_unique_id": f"d{self.fake.next_id()}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        return self.update(
            message=self.message(user_id, document=document, caption=caption, **options)
        )

    def text(self, user_id: int, text: str, **options: Any) -> dict[str, Any]:
        entities = None
        if text.startswith("/"):
            length = len(text.split()[0])
            entities = [{"type": "bot_command", "offset": 0, "length": length}]
        message = self.message(user_id, text=text, entities=entities, **options)
        return self.update(message=message)

    def sticker(self, user_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": f"sticker-{self.fake.next_id()}",
            "file_unique_id": "s",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "😀",
        }
        return self.update(message=self.message(user_id, sticker=sticker))

    def video(
        self,
        user_id: int,
        data: bytes | None = None,
        *,
        caption: str | None = None,
        reported_size: int | None = None,
        reported_duration: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A video message (`data` hosted for getFile; without it, one that is not)."""
        video = self._clip_object(data, "video", "video/mp4", reported_size, reported_duration)
        message = self.message(user_id, video=video, caption=caption, **options)
        return self.update(message=message)

    def animation(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        file_name: str = "clip.gif.mp4",
        **options: Any,
    ) -> dict[str, Any]:
        """A GIF as Telegram delivers it: an `animation`, and the same file as `document`
        (Telegram turns GIFs into soundless MP4s; a test may host a GIF itself too)."""
        mime = "image/gif" if data[:4] == b"GIF8" else "video/mp4"
        animation = self._clip_object(data, "animation", mime, None, None)
        animation["file_name"] = file_name
        message = self.message(
            user_id, animation=animation, document=dict(animation), caption=caption, **options
        )
        return self.update(message=message)

    def video_note(
        self, user_id: int, data: bytes, *, reported_duration: int | None = None, **options: Any
    ) -> dict[str, Any]:
        """A round video message: square, at most a minute (Telegram reports `length`)."""
        clip = decode_clip("video_note", data)
        note = {
            "file_id": self.fake.add_file(data),
            "file_unique_id": f"n{self.fake.next_id()}",
            "length": clip.width,
            "duration": reported_duration
            if reported_duration is not None
            else round(clip.duration),
            "file_size": len(data),
        }
        return self.update(message=self.message(user_id, video_note=note, **options))

    def _clip_object(
        self,
        data: bytes | None,
        kind: str,
        mime: str,
        reported_size: int | None,
        reported_duration: int | None,
    ) -> dict[str, Any]:
        if data is None:
            return {
                "file_id": f"{kind}-{self.fake.next_id()}",
                "file_unique_id": "v",
                "width": 640,
                "height": 360,
                "duration": reported_duration or 3,
                "mime_type": mime,
            }
        clip = decode_clip(kind, data)
        return {
            "file_id": self.fake.add_file(data, reported_size=reported_size),
            "file_unique_id": f"{kind[0]}{self.fake.next_id()}",
            "width": clip.width,
            "height": clip.height,
            "duration": reported_duration
            if reported_duration is not None
            else round(clip.duration),
            "mime_type": mime,
            "file_size": reported_size if reported_size is not None else len(data),
        }

    def voice(self, user_id: int) -> dict[str, Any]:
        voice = {"file_id": f"voice-{self.fake.next_id()}", "file_unique_id": "o", "duration": 2}
        return self.update(message=self.message(user_id, voice=voice))

    def press(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """A tap on the button with `data` under `message` (a message the bot sent)."""
        query_id = str(next(self._callback_ids))
        self.fake.callbacks[query_id] = 0
        query = {
            "id": query_id,
            "from": self.user(user_id),
            "message": message,
            "chat_instance": "-123456789",
            "data": data,
        }
        return self.update(callback_query=query)

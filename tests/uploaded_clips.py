"""What the fake Telegram and X servers see in an uploaded clip: the file decoded with PyAV
(independently of `inference.video`), every frame counted, the sound stream noted."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import av.error


@dataclass(frozen=True)
class UploadedClip:
    """An uploaded video or GIF as the fake decoded it (`codec` None: not a playable clip)."""

    field: str
    size: int
    container: str | None = None  # "mov,mp4,m4a,3gp,3g2,mj2", "gif", ...
    codec: str | None = None  # "h264", "gif", ...
    pix_fmt: str | None = None
    width: int = 0
    height: int = 0
    frames: int = 0
    duration: float = 0.0  # seconds, from the first frame's start to the last frame's end
    audio_codec: str | None = None
    data: bytes = b""

    @property
    def is_gif(self) -> bool:
        return self.codec == "gif"

    def describe(self) -> str:
        if self.codec is None:
            return f"<not a clip, {self.size} bytes>"
        sound = f", {self.audio_codec} sound" if self.audio_codec else ", no sound"
        return (
            f"<{self.codec} {self.width}x{self.height}, {self.frames} frames, "
            f"{self.duration:.2f} s{sound}, {self.size} bytes>"
        )


def decode_clip(field: str, data: bytes) -> UploadedClip:
    """Decode every frame of `data`; a file that is no clip gives `codec=None`."""
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                return UploadedClip(field, len(data))
            stream = container.streams.video[0]
            audio = (
                container.streams.audio[0].codec_context.name if container.streams.audio else None
            )
            frames = 0
            first: float | None = None
            end = 0.0
            width = height = 0
            for frame in container.decode(stream):
                frames += 1
                if frame.pts is None or frame.time_base is None:
                    continue
                start = float(frame.pts * frame.time_base)
                length = float((frame.duration or 0) * frame.time_base)
                first = start if first is None else min(first, start)
                end = max(end, start + length)
                width, height = frame.width, frame.height
            return UploadedClip(
                field,
                len(data),
                container=container.format.name,
                codec=stream.codec_context.name,
                pix_fmt=stream.codec_context.pix_fmt,
                width=width,
                height=height,
                frames=frames,
                duration=end - (first or 0.0),
                audio_codec=audio,
                data=data,
            )
    except (av.error.FFmpegError, ValueError):
        return UploadedClip(field, len(data))

"""`probe_media`: the cheap look at a clip a channel makes at intake, before queuing it.

It reads the file's kind from its content, then the container's headers (and, for a GIF, its
blocks), and decodes one frame: enough to refuse a clip over a limit, a file that is not a
video, sound alone, a clip with no frames, or an MP4 cut off before its end, with one friendly
message, in milliseconds. What passes here can still turn out damaged later in the stream;
the reader deals with that.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.error
import av.video.stream

from inference.video.errors import ACCEPTED_TEXT, VideoError, cut_off, damaged
from inference.video.limits import VideoLimits, fit_size
from inference.video.sniff import HEAD_BYTES, MediaKind, gif_layout, sniff_media

log = logging.getLogger(__name__)

ClipKind = Literal["gif", "video"]
DEFAULT_LIMITS = VideoLimits()


@dataclass(frozen=True)
class MediaInfo:
    """What a clip is, as shown (after rotation), and the size it will be processed at."""

    kind: ClipKind
    width: int
    height: int
    duration: float  # seconds
    frames: int
    fps: float  # average frames per second
    has_audio: bool
    rotation: int  # degrees counter-clockwise that turn the stored frames upright
    size_bytes: int
    loop: int | None = None  # GIF only: 0 loops for ever, None plays once
    last_frame_seconds: float | None = None  # GIF only: the last frame's delay
    work_width: int = 0  # the processed frame size (scaled down to fit max_pixels)
    work_height: int = 0

    @property
    def scaled_down(self) -> bool:
        return (self.work_width, self.work_height) != (self.width, self.height)


def sniff_file(path: Path) -> MediaKind | None:
    """The file's media kind by content (a GIF is read whole to tell one frame from many)."""
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            head += file.read()
    return sniff_media(head)


def probe_media(path: Path, limits: VideoLimits = DEFAULT_LIMITS) -> MediaInfo:
    """Check a clip against `limits` from its headers and first frame; raises VideoError."""
    size = path.stat().st_size
    if size == 0:
        raise VideoError(
            f"That file is empty. Please send a video ({ACCEPTED_TEXT}).",
            reason="empty",
            detail="zero bytes",
        )
    limits.check_bytes(size)
    kind = sniff_file(path)
    if kind == "audio":
        raise _audio_only("sniffed as audio")
    if kind not in ("gif", "video"):
        what = "is a photo, not" if kind == "photo" else "isn't"
        raise VideoError(
            f"That file {what} a video or an animated GIF. Please send {ACCEPTED_TEXT}.",
            reason="not_a_video",
            detail=f"sniffed {kind or 'unknown'}, {size} bytes",
        )
    loop: int | None = None
    if kind == "gif":
        layout = gif_layout(path.read_bytes())
        limits.check_decodable(layout.width, layout.height, "GIF canvas")
        limits.check_decodable(*layout.largest_frame, "GIF frames")
        limits.check_duration(layout.duration)
        limits.check_frames(layout.frames)
        loop = layout.loop
    with open_input(path) as container:
        info = _probe_container(container, kind, size, limits)
    return MediaInfo(**{**info.__dict__, "loop": loop})


def open_input(path: Path) -> av.container.InputContainer:
    """Open a clip with PyAV, turning its refusal into a VideoError."""
    try:
        return av.open(str(path), "r")
    except av.error.FFmpegError as error:
        text = str(error)
        if isinstance(error, av.error.EOFError) or iso_file_cut_off(path):
            raise cut_off(f"open: {text}") from error
        raise damaged(f"open: {type(error).__name__}: {text}") from error


def iso_file_cut_off(path: Path) -> bool:
    """Whether an MP4/MOV (ISO base media) file ends inside a top-level box, or ends without
    its index (`moov`, which many phones write last): the signs of an upload cut short."""
    size = path.stat().st_size
    boxes = set()
    with path.open("rb") as file:
        header = file.read(12)
        if header[4:8] != b"ftyp":
            return False
        pos = 0
        while pos + 8 <= size:
            file.seek(pos)
            header = file.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # the last box runs to the end of the file
                box_size = size - pos
            if box_size < 8:
                return False  # broken, not cut
            boxes.add(kind)
            if pos + box_size > size:
                return True
            pos += box_size
    return b"moov" not in boxes


def _probe_container(
    container: av.container.InputContainer, kind: ClipKind, size: int, limits: VideoLimits
) -> MediaInfo:
    if not container.streams.video:
        if container.streams.audio:
            raise _audio_only(f"streams: {[s.type for s in container.streams]}")
        if not len(container.streams):  # what a recorder leaves when it stops at once
            raise _no_frames("a container without streams")
        raise VideoError(
            f"That file has no picture in it. Please send {ACCEPTED_TEXT}.",
            reason="not_a_video",
            detail=f"no video stream; streams: {[s.type for s in container.streams]}",
        )
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    limits.check_decodable(width, height)
    _check_complete(container, size)
    duration, frames, fps, last = stream_timing(container, stream, count=kind == "gif")
    if frames == 0:
        raise _no_frames("no frames declared or found")
    limits.check_duration(duration)
    limits.check_frames(frames)
    rotation = _first_frame_rotation(container, stream)
    if rotation % 180:
        width, height = height, width
    work_width, work_height = fit_size(width, height, limits.max_pixels)
    return MediaInfo(
        kind=kind,
        width=width,
        height=height,
        duration=duration,
        frames=frames,
        fps=fps,
        has_audio=bool(container.streams.audio),
        rotation=rotation,
        size_bytes=size,
        work_width=work_width,
        work_height=work_height,
        last_frame_seconds=last if kind == "gif" else None,
    )


def stream_timing(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    *,
    count: bool = False,
) -> tuple[float, int, float, float | None]:
    """(duration s, frame count, average fps, last frame's duration s or None) from the
    headers, or, where they don't say (WebM) or with `count`, from the packets (demuxed, not
    decoded; the container is rewound after)."""
    time_base = stream.time_base or Fraction(1, 1)
    frames = stream.frames
    duration = float(stream.duration * time_base) if stream.duration else 0.0
    last: float | None = None
    if count or frames <= 0 or duration <= 0:
        frames, end, start = 0, 0.0, None
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            frames += 1
            at = float(packet.pts * time_base)
            last = float((packet.duration or 0) * time_base) or None
            start = at if start is None else min(start, at)
            end = max(end, at + (last or 0.0))
        duration = end - (start or 0.0)
        container.seek(0)
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else (frames / duration if duration > 0 else 0.0)
    if duration <= 0 and frames and fps:
        duration = frames / fps
    return duration, frames, fps, last


def _check_complete(container: av.container.InputContainer, size: int) -> None:
    """An MP4 whose sample table points past the end of the file was cut off in transfer."""
    end = 0
    for stream in container.streams:
        entries = stream.index_entries
        if entries is not None and len(entries):
            last = entries[len(entries) - 1]
            end = max(end, last.pos + last.size)
    if end > size:
        raise cut_off(f"samples end at byte {end}, the file has {size}")


def _first_frame_rotation(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int:
    try:
        for frame in container.decode(stream):
            return round(frame.rotation / 90) * 90 % 360
    except av.error.FFmpegError as error:
        raise damaged(f"first frame: {type(error).__name__}: {error}") from error
    raise _no_frames("no frame decoded")


def _audio_only(detail: str) -> VideoError:
    return VideoError(
        "That file has sound but no picture. Please send a video or an animated GIF.",
        reason="audio_only",
        detail=detail,
    )


def _no_frames(detail: str) -> VideoError:
    return VideoError(
        "That clip has no frames in it (it is zero seconds long), so there is nothing to "
        "colour. Please send a longer one.",
        reason="no_frames",
        detail=detail,
    )

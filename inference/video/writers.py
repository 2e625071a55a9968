"""Writing the result: `Mp4Writer` (H.264, yuv420p, the source's timestamps and sound); the GIF
writer is `inference.video.gif_writer.GifWriter`.

Both write to a hidden temporary file beside the destination and rename it into place only in
`commit()`, so a crash, a refusal half-way or a full disk never leaves a partial result where a
reader could find it; `abort()` (or leaving the `with` block by an exception) removes it.

yuv420p stores colour at half resolution, so H.264 needs even sides: an odd width or height is
padded by one repeated edge column or row (nothing of the picture is lost). Frame timestamps are
written as read, so a variable frame rate, the frame count and the duration are kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.error
import av.filter
import av.video.stream
import cv2
import numpy as np

from inference.video.audio import AudioTrack

log = logging.getLogger(__name__)

CRF = 20  # visually lossless for most footage; the byte budget switches to a bitrate instead
PRESET = "veryfast"  # measured: 720p encode about 3x faster than "medium", ~10 % larger files
GIF_TIME_BASE = Fraction(1, 100)  # GIF frame delays are in hundredths of a second

OutputKind = Literal["mp4", "gif"]


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + width % 2, height + height % 2


def pad_to_even(bgr: np.ndarray) -> np.ndarray:
    height, width = bgr.shape[:2]
    bottom, right = height % 2, width % 2
    if not bottom and not right:
        return bgr
    padded: np.ndarray = cv2.copyMakeBorder(bgr, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
    return padded


def add_video_stream(
    container: av.container.OutputContainer,
    codec: str,
    size: tuple[int, int],
    pix_fmt: str,
    *,
    rate: Fraction | int,
    time_base: Fraction,
    options: dict[str, str] | None = None,
) -> av.video.stream.VideoStream:
    """A video stream of `codec` at `size` (width, height) whose frames carry `time_base`."""
    stream = container.add_stream(codec, rate=rate, options=options or {})
    assert isinstance(stream, av.video.stream.VideoStream)
    stream.width, stream.height = size
    stream.pix_fmt = pix_fmt
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    return stream


class AtomicOutput:
    """A temporary file beside `path` that becomes `path` on commit."""

    def __init__(self, path: Path, format_name: str, options: dict[str, str]) -> None:
        self.path = path
        # a hidden name in the same folder (so the rename is atomic), made with the usual
        # permissions (mkstemp's would be owner-only)
        self.temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        try:
            self.container: av.container.OutputContainer = av.open(
                str(self.temp), "w", format=format_name, options=options
            )
        except BaseException:
            self.temp.unlink(missing_ok=True)
            raise
        self._open = True

    def commit(self) -> Path:
        self.container.close()
        self._open = False
        os.replace(self.temp, self.path)
        return self.path

    def abort(self) -> None:
        if self._open:
            self._open = False
            with contextlib.suppress(av.error.FFmpegError, OSError, ValueError):
                self.container.close()  # writing the trailer may fail: the file goes anyway
        self.temp.unlink(missing_ok=True)


class Mp4Writer:
    kind: OutputKind = "mp4"

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        time_base: Fraction,
        rate: Fraction,
        audio_from: Path | None = None,
        bitrate: int | None = None,
    ) -> None:
        self.width, self.height = even_size(width, height)
        self._time_base = time_base
        self._output = AtomicOutput(path, "mp4", {"movflags": "+faststart"})
        try:
            options = {"preset": PRESET}
            if bitrate is None:
                options["crf"] = str(CRF)
            else:  # for a byte budget: an average with a capped peak
                options.update(
                    b=str(bitrate), maxrate=str(int(bitrate * 1.2)), bufsize=str(bitrate * 2)
                )
            self._stream = add_video_stream(
                self._output.container,
                "libx264",
                (self.width, self.height),
                "yuv420p",
                rate=rate,
                time_base=time_base,
                options=options,
            )
            self.audio = AudioTrack(audio_from, self._output.container) if audio_from else None
        except BaseException:
            self._output.abort()
            raise
        self.frames = 0

    def write(self, bgr: np.ndarray, pts: int, duration: int) -> None:
        frame = av.VideoFrame.from_ndarray(pad_to_even(bgr), format="bgr24")
        frame.pts = pts
        frame.time_base = self._time_base
        frame.duration = duration
        for packet in self._stream.encode(frame):
            self._output.container.mux(packet)
        self.frames += 1
        if self.audio is not None:
            self.audio.write_until(float((pts + duration) * self._time_base))

    def commit(self) -> Path:
        for packet in self._stream.encode(None):
            self._output.container.mux(packet)
        if self.audio is not None:
            self.audio.finish()
        return self._output.commit()

    def abort(self) -> None:
        if self.audio is not None:
            self.audio.close()
        self._output.abort()

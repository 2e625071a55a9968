"""`ClipReader`: a clip's frames, decoded one at a time (memory stays bounded), upright and at
the processing size, with their timestamps.

Frames come out as BGR uint8 (alpha composited over white), turned by the stream's rotation and
scaled down by swscale while converting, so no full-size copy is made. A packet that fails to
decode, or a frame the decoder marks corrupt, is replaced by the last good frame at its own
time (the clip keeps its frame count and timing); a clip with more damaged frames than
`MAX_DAMAGED_SHARE`, or a stream that goes on past the limits its headers claimed, is refused.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from inference.video.errors import damaged
from inference.video.limits import VideoLimits
from inference.video.probe import MediaInfo, open_input

log = logging.getLogger(__name__)

MAX_DAMAGED_SHARE = 0.25
_ALPHA_FORMATS = frozenset({"bgra", "rgba", "argb", "abgr", "pal8", "yuva420p", "ya8"})


@dataclass(frozen=True)
class DecodedFrame:
    bgr: np.ndarray  # (work_height, work_width, 3) uint8, upright
    pts: int  # in the reader's time_base
    duration: int  # in the reader's time_base
    repeated: bool = False  # a stand-in for a damaged frame


class ClipReader:
    """Iterate `frames()` once; close the reader (or use it as a context manager) after."""

    def __init__(self, path: Path, info: MediaInfo, limits: VideoLimits) -> None:
        self.info = info
        self.limits = limits
        self._container = open_input(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.time_base: Fraction = self._stream.time_base or Fraction(1, 1000)
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self.rate: Fraction = Fraction(rate)
        self._default_duration = max(1, round(1 / (self.rate * self.time_base)))
        turned = info.rotation % 180 != 0
        # swscale works on the stored orientation: scale to the turned work size
        self._stored_size = (
            (info.work_height, info.work_width) if turned else (info.work_width, info.work_height)
        )
        self.damaged_frames = 0
        self.frames_read = 0

    def __enter__(self) -> ClipReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def frames(self) -> Iterator[DecodedFrame]:
        """Every frame the container holds, in presentation order. Each demuxed packet's
        timestamp is a frame the clip should show: when the decoder gives a frame at time t,
        any expected time before t that it never gave was a damaged frame, shown as the last
        good one (this holds with frame threading and reordered B-frames alike)."""
        expected: list[int] = []  # a heap of packet timestamps not yet shown
        last: DecodedFrame | None = None
        next_pts = 0
        for packet in self._container.demux(self._stream):
            if packet.pts is not None and packet.size:
                heapq.heappush(expected, packet.pts)
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as error:
                log.info("damaged packet near pts %s: %s", packet.pts, error)
                decoded = []
            for frame in decoded:
                pts = frame.pts if frame.pts is not None else next_pts
                duration = int(frame.duration or 0) or self._default_duration
                good = not (frame.is_corrupt and last is not None)
                current = DecodedFrame(self._convert(frame), pts, duration) if good else None
                stand_in = current if last is None else last
                while expected and expected[0] < pts:  # frames the decoder never gave
                    missing = heapq.heappop(expected)
                    if missing >= next_pts and stand_in is not None:
                        last = self._repeat(stand_in, missing, duration)
                        next_pts = missing + 1
                        yield last
                while expected and expected[0] == pts:
                    heapq.heappop(expected)
                if current is None:
                    log.info("decoder marked the frame at pts %s corrupt", pts)
                    assert last is not None
                    current = self._repeat(last, pts, duration)
                pts = max(pts, next_pts)  # strictly increasing, as encoders need
                if pts != current.pts:
                    current = DecodedFrame(current.bgr, pts, duration, current.repeated)
                if not current.repeated:
                    self._count(current)
                next_pts = pts + 1
                last = current
                yield current
        if last is None:
            raise damaged(f"no frame could be decoded ({self.damaged_frames} damaged)")
        for missing in sorted(expected):  # damaged frames at the very end
            if missing >= next_pts:
                last = self._repeat(last, missing, last.duration)
                next_pts = missing + 1
                yield last

    def _repeat(self, last: DecodedFrame, pts: int, duration: int) -> DecodedFrame:
        repeat = DecodedFrame(last.bgr, pts, duration, repeated=True)
        self._count(repeat)
        return repeat

    def _count(self, frame: DecodedFrame) -> None:
        self.frames_read += 1
        if frame.repeated:
            self._count_damage()
        if self.frames_read > self.limits.max_frames:
            self.limits.check_frames(self.frames_read)
        end = float((frame.pts + frame.duration) * self.time_base)
        start = float((self._stream.start_time or 0) * self.time_base)
        if end - start > self.limits.max_seconds + 1.0:
            self.limits.check_duration(end - start)

    def _count_damage(self) -> None:
        self.damaged_frames += 1
        expected = max(self.info.frames, self.frames_read)
        if self.damaged_frames > max(3, MAX_DAMAGED_SHARE * expected):
            raise damaged(f"{self.damaged_frames} damaged frames of about {expected}")

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        width, height = self._stored_size
        alpha = frame.format.name in _ALPHA_FORMATS
        image: np.ndarray = frame.reformat(
            width=width,
            height=height,
            format="bgra" if alpha else "bgr24",
            interpolation="AREA",
        ).to_ndarray()
        if alpha:
            image = over_white(image)
        turns = self.info.rotation // 90
        if turns:
            image = np.ascontiguousarray(np.rot90(image, k=turns))
        return image


def over_white(bgra: np.ndarray) -> np.ndarray:
    """BGRA uint8 composited over white -> BGR uint8."""
    alpha = bgra[..., 3:4].astype(np.uint16)
    mixed = (bgra[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
    return mixed.astype(np.uint8)

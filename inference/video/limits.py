"""`VideoLimits`: what a clip may be (bytes, seconds, frames, pixels) and the frame size used.

Frames larger than `max_pixels` are not refused but scaled down to fit (aspect kept, even sides
for yuv420); only frames so large that decoding them would be a burden (more than
`max_decode_pixels`, by default 16 times `max_pixels`: 4K phone video still fits) are refused,
from the header, before any decoder sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inference.video.errors import VideoError, over_by

DEFAULT_MAX_SECONDS = 60.0
DEFAULT_MAX_PIXELS = 1280 * 720
DEFAULT_MAX_BYTES = 50_000_000
MAX_FPS = 60  # the frame limit is max_seconds at this rate (slow-motion clips may be denser)
DECODE_PIXELS_FACTOR = 16


@dataclass(frozen=True)
class VideoLimits:
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_seconds <= 0 or self.max_pixels < 64 or self.max_bytes < 1:
            raise ValueError(f"video limits must be positive: {self}")

    @property
    def max_frames(self) -> int:
        return math.ceil(self.max_seconds * MAX_FPS)

    @property
    def max_decode_pixels(self) -> int:
        return self.max_pixels * DECODE_PIXELS_FACTOR

    def check_bytes(self, size: int) -> None:
        if size > self.max_bytes:
            raise VideoError(
                f"That file is too big ({over_by(size / 1e6, self.max_bytes / 1e6, 'MB')}).",
                reason="too_many_bytes",
                detail=f"{size} bytes > max_bytes={self.max_bytes}",
            )

    def check_duration(self, seconds: float) -> None:
        if seconds > self.max_seconds + 0.05:  # a frame's rounding over is not "too long"
            raise VideoError(
                f"That clip is too long ({over_by(seconds, self.max_seconds, 's')}). "
                "Please trim it and send it again.",
                reason="too_long",
                detail=f"{seconds:.3f} s > max_seconds={self.max_seconds}",
            )

    def check_frames(self, frames: int) -> None:
        if frames > self.max_frames:
            raise VideoError(
                f"That clip has too many frames ({over_by(frames, self.max_frames, 'frames')}).",
                reason="too_many_frames",
                detail=f"{frames} frames > max_frames={self.max_frames}",
            )

    def check_decodable(self, width: int, height: int, what: str = "frames") -> None:
        if width < 1 or height < 1:
            raise VideoError(
                "That video's picture size is broken, so it can't be played.",
                reason="corrupt",
                detail=f"{what} {width}x{height}",
            )
        pixels = width * height
        if pixels > self.max_decode_pixels:
            raise VideoError(
                f"That clip's {what} are far too large ({width}x{height}, "
                f"{over_by(pixels / 1e6, self.max_decode_pixels / 1e6, 'megapixels')}).",
                reason="too_many_pixels",
                detail=f"{what} {width}x{height} > max_decode_pixels={self.max_decode_pixels}",
            )


def fit_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The frame size a clip is processed at: (width, height) itself when it fits in
    `max_pixels`, else scaled down with the aspect ratio kept and both sides even."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    fitted_w = max(2, int(width * scale) // 2 * 2)
    fitted_h = max(2, int(height * scale) // 2 * 2)
    return fitted_w, fitted_h

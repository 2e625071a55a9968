"""`poster_frame`: one telling frame of a clip, upright and at its processing size, for
thumbnails and a channel's video preview (the first of its opening frames that shows
something, rather than a black fade-in)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.video.limits import VideoLimits
from inference.video.probe import MediaInfo, probe_media
from inference.video.reader import ClipReader

LOOK_AT_FRAMES = 30  # the opening frames searched
_MIN_DETAIL = 8.0  # grey-level spread of a frame that shows something


def poster_frame(
    path: Path, limits: VideoLimits | None = None, info: MediaInfo | None = None
) -> np.ndarray:
    """A BGR frame of the clip at `path` (raises VideoError when it has none)."""
    limits = limits or VideoLimits()
    info = info or probe_media(path, limits)
    first: np.ndarray | None = None
    with ClipReader(path, info, limits) as reader:
        for index, frame in enumerate(reader.frames()):
            if float(frame.bgr.std()) >= _MIN_DETAIL:
                return frame.bgr
            if first is None:
                first = frame.bgr
            if index + 1 >= LOOK_AT_FRAMES:
                break
    if first is None:
        raise ValueError(f"{path}: no frame decoded")
    return first

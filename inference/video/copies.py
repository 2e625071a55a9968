"""`plain_copy`: a clip re-encoded as it is (no model, no filter), for showing the original
where the uploaded file itself must not be served: none of its metadata comes along (a
phone's MOV carries where and with what it was shot), rotation is applied to the pixels,
frames are at the processing size, and it plays in any browser (an MP4 as H.264, a GIF as a
GIF). The sound is left out: it is shown muted beside the result, which has it."""

from __future__ import annotations

from pathlib import Path

from inference.video.gif_writer import GifWriter
from inference.video.limits import VideoLimits
from inference.video.probe import MediaInfo, probe_media
from inference.video.reader import ClipReader
from inference.video.writers import Mp4Writer


def plain_copy(
    source: Path, output: Path, limits: VideoLimits, info: MediaInfo | None = None
) -> Path:
    """Write the copy to `output` (complete, or not at all); blocking: run it on the compute
    pool. Raises VideoError for a clip that cannot be read."""
    info = info or probe_media(source, limits)
    with ClipReader(source, info, limits) as reader:
        writer: Mp4Writer | GifWriter
        if info.kind == "gif":
            writer = GifWriter(
                output,
                info.work_width,
                info.work_height,
                time_base=reader.time_base,
                loop=info.loop,
                last_delay=info.last_frame_seconds,
            )
        else:
            writer = Mp4Writer(
                output,
                info.work_width,
                info.work_height,
                time_base=reader.time_base,
                rate=reader.rate,
            )
        return copy_frames(reader, writer)


def copy_frames(reader: ClipReader, writer: Mp4Writer | GifWriter) -> Path:
    """Every frame of `reader` through `writer`, committed (or aborted: nothing is left)."""
    try:
        for frame in reader.frames():
            writer.write(frame.bgr, frame.pts, frame.duration)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise

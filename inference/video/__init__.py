"""Video and GIF work: decode, colourise without flicker (or filter), encode, within limits.

The API the job runner and the channels call (everything async runs its blocking parts on the
shared `ComputePool`; create one `VideoEngine` at start-up and pass it down)::

    engine = VideoEngine(colorizer, filters, compute, VideoLimits(max_seconds, max_pixels,
                         max_bytes), progress_every_s=3.0)

    kind = sniff_file(path)            # "photo" | "gif" | "video" | "audio" | None, by content
    ext = container_extension(head)    # "gif" | "webm" | "mov" | "mp4" | "bin": to store it as
    bgr = poster_frame(path, limits)   # a telling opening frame (blocking: run on the pool)
    plain_copy(path, output, limits)   # the original re-encoded as is, without its metadata
    info = await engine.probe(path)    # MediaInfo, or VideoError: the intake-time check
    result = await engine.process(
        source, output, "colorize" | "filter", filter_name,
        options=VideoOptions(max_output_bytes=channel_upload_limit),
        on_progress=async_callback,     # called with VideoProgress(fraction, eta_seconds, ...)
        info=info,                      # optional: skip probing again
    )                                   # -> VideoResult, or VideoError / ColorizeUnavailableError

- `MediaInfo`: kind ("gif" / "video"), width and height as shown (after rotation), duration
  (s), frames, fps, has_audio, rotation, size_bytes, GIF loop, and `work_width` /
  `work_height` / `scaled_down`: the size frames are processed at (scaled down to fit
  `max_pixels`).
- `VideoResult`: path (complete: written to a temporary file and renamed only when done),
  kind ("mp4" / "gif"), mime_type, width, height, duration, fps, frames, has_audio,
  audio_copied, scaled_down (tell the person), colourised, had_colour, seconds, size_bytes,
  reencoded_for_size, damaged_frames, model_runs, duplicates, cuts, stage_seconds.
- Every refusal is a `VideoError` (a `core.errors.UserError`) with one friendly message naming
  the limit and by how much, and a `reason` ("empty", "not_a_video", "audio_only",
  "no_frames", "truncated", "corrupt", "too_many_bytes", "too_long", "too_many_frames",
  "too_many_pixels", "output_too_big").

What comes out: a GIF as a GIF (same frame count, frame durations and loop count; one palette
for the clip, `inference.video.gif_writer`), anything else as an MP4 (H.264, yuv420p, the same
size (odd sides padded by one pixel), frame count, timestamps (so fps, variable frame rate and
duration) and sound: copied when MP4 can hold it, else AAC). Rotation metadata is applied to
the pixels. A damaged frame in the middle is replaced by the last good one.

Colourising runs the model on one frame in three of a moving shot (and on every frame the
optical flow loses track of) and stabilises its chroma along the flow
(`temporal.ChromaStabilizer`): no flicker, colour follows motion, a scene cut resets, a
duplicate frame skips the model. Filtering filters every frame, colourising a black-and-white
clip first (the photo rule). `ClipRun` is the same work without asyncio (the CLI, benchmarks).

Modules: sniff (what a file is), limits, errors, probe, reader, audio, writers, flow, temporal,
frames, clip, budget (fitting a byte budget), results, engine, poster (a frame for previews),
copies (the original re-encoded without its metadata).
"""

from inference.video.clip import ClipRun
from inference.video.copies import plain_copy
from inference.video.engine import CHUNK_FRAMES, ProgressCallback, VideoEngine, VideoOptions
from inference.video.errors import VideoError, VideoErrorReason
from inference.video.limits import VideoLimits
from inference.video.poster import poster_frame
from inference.video.probe import MediaInfo, probe_media, sniff_file
from inference.video.results import VideoProgress, VideoResult
from inference.video.sniff import HEAD_BYTES, MediaKind, container_extension, sniff_media

__all__ = [
    "CHUNK_FRAMES",
    "HEAD_BYTES",
    "ClipRun",
    "MediaInfo",
    "MediaKind",
    "ProgressCallback",
    "VideoEngine",
    "VideoError",
    "VideoErrorReason",
    "VideoLimits",
    "VideoOptions",
    "VideoProgress",
    "VideoResult",
    "container_extension",
    "plain_copy",
    "poster_frame",
    "probe_media",
    "sniff_file",
    "sniff_media",
]

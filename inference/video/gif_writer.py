"""`GifWriter`: a GIF with the source's frame durations and loop count, one palette for the
whole clip, still parts held still, in bounded memory.

A GIF holds at most 256 colours a frame. One 256-colour palette for the whole clip (FFmpeg's
palettegen over a sample of the frames, then paletteuse with ordered Bayer dithering, whose
pattern stays put from frame to frame) keeps colours from jumping between frames. Ordered
dithering still shimmers where a colour drifts by a level or two (the colourised chroma, or the
source's own dither noise in L*, crossing the dither's thresholds), so a pixel that changed by
at most HOLD_LEVELS since the previous frame is written as it was: a still background stays
still, and the file shrinks (unchanged pixels compress to nothing).

A palette for the whole clip needs frames before the first can be written. FFmpeg's own
filter graph would hold them all in memory until the end (a 3,600-frame 720p GIF: 10 GB), so
frames are spooled instead, losslessly (libx264rgb at qp 0, ultrafast: a few kB a frame for
the flat colour of a colourised GIF) to a hidden file beside the destination, and read back
twice at `commit()`: once for the palette, once to write. Memory stays at a few frames
whatever the clip's length (`tests/test_gif_writer.py` checks the peak).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.error
import av.filter
import av.video.stream
import cv2
import numpy as np
from av.filter.context import FilterContext

from inference.video.writers import GIF_TIME_BASE, AtomicOutput, OutputKind, add_video_stream

PALETTE_STATS = "stats_mode=full:reserve_transparent=0"
# The palette is counted on a sample: at most PALETTE_FRAMES frames spread over the clip, each
# subsampled (nearest pixels, true colours only) to at most PALETTE_PIXELS. palettegen keeps a
# histogram entry for every distinct colour it sees (measured on 300 frames of 640 x 480
# gradients: 510 MB and 55 s for all of them); the sample bounds both (about 4 M pixels).
PALETTE_FRAMES = 100
PALETTE_PIXELS = 40_000
# A pixel that changed by at most this many levels (in every channel) since the previous frame
# is held as it was. Measured on newtonscradle.gif (bench_video): flicker ratio 2.43 -> 0.89
# with 5 (4: 1.51, 6: 0.81), warp error 0.38 -> 0.17, AuC -0.07, the file 405 -> 127 kB.
HOLD_LEVELS = 5
DITHER = "new=0:dither=bayer:bayer_scale=3"


class GifWriter:
    kind: OutputKind = "gif"

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        time_base: Fraction,
        loop: int | None,
        last_delay: float | None = None,
    ) -> None:
        self.width, self.height = width, height
        self._time_base = time_base
        # The muxer writes each frame's delay when it sees the next frame; the last frame's
        # delay is its `final_delay` option, read with the header: so it is given up front
        # (the source's own last delay, from `probe_media`).
        options = {"loop": "-1" if loop is None else str(loop)}
        if last_delay is not None:
            options["final_delay"] = str(max(1, round(last_delay * 100)))
        self._output = AtomicOutput(path, "gif", options)
        self._spool_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}.spool.mkv")
        self._spool: av.container.OutputContainer | None = None
        try:
            self._spool = av.open(str(self._spool_path), "w", format="matroska")
            self._spooled = add_video_stream(
                self._spool,
                "libx264rgb",
                (width, height),
                "bgr24",
                rate=100,
                time_base=GIF_TIME_BASE,
                options={"qp": "0", "preset": "ultrafast"},
            )
        except BaseException:
            self.abort()
            raise
        self._next_pts = 0
        self._starts: list[int] = []  # each frame's start in GIF_TIME_BASE, as written
        self._previous: np.ndarray | None = None  # the last frame as spooled
        self.frames = 0

    def write(self, bgr: np.ndarray, pts: int, duration: int) -> None:
        start = max(self._next_pts, round(float(pts * self._time_base) * 100))
        delay = max(1, round(float((pts + duration) * self._time_base) * 100) - start)
        bgr = self._held(np.ascontiguousarray(bgr, dtype=np.uint8))
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts = start
        frame.time_base = GIF_TIME_BASE
        frame.duration = delay
        self._next_pts = start + delay
        self._starts.append(start)
        assert self._spool is not None, "GifWriter used after commit or abort"
        for packet in self._spooled.encode(frame):
            self._spool.mux(packet)
        self.frames += 1

    def _held(self, bgr: np.ndarray) -> np.ndarray:
        """The frame with every pixel that barely changed since the previous one put back as
        it was. One palette and ordered dithering map a colour to the same dots every time,
        but a colour that drifts by a level crosses the dither's thresholds and the dots
        shimmer; held pixels are spooled identical, so a still background stays still."""
        previous, self._previous = self._previous, bgr
        if previous is None:
            return bgr
        change = cv2.absdiff(bgr, previous).max(axis=2)
        held = np.where((change <= HOLD_LEVELS)[..., np.newaxis], previous, bgr)
        self._previous = held
        return held

    def commit(self) -> Path:
        try:
            if not self.frames:
                raise ValueError("a GIF needs at least one frame")
            self._close_spool()
            palette = self._palette()
            stream = add_video_stream(
                self._output.container,
                "gif",
                (self.width, self.height),
                "pal8",
                rate=100,
                time_base=GIF_TIME_BASE,
            )
            graph, frames_in, palette_in = self._dither_graph(palette)
            palette_in.push(palette)
            palette_in.push(None)
            for frame in self._spooled_frames():
                frames_in.push(frame)
                self._mux(graph, stream)
            frames_in.push(None)
            self._mux(graph, stream)
            for packet in stream.encode(None):
                self._output.container.mux(packet)
            return self._output.commit()
        except BaseException:
            self.abort()
            raise
        finally:
            self._spool_path.unlink(missing_ok=True)

    def abort(self) -> None:
        with contextlib.suppress(av.error.FFmpegError, OSError, ValueError):
            self._close_spool()
        self._spool_path.unlink(missing_ok=True)
        self._output.abort()

    def _close_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is None:
            return
        try:
            for packet in self._spooled.encode(None):
                spool.mux(packet)
        finally:
            spool.close()

    def _spooled_frames(self) -> Iterator[av.VideoFrame]:
        with av.open(str(self._spool_path)) as spool:
            decoded = spool.decode(video=0)
            for start, frame in zip(self._starts, decoded, strict=True):
                rgb = frame.reformat(format="rgb24")
                rgb.pts, rgb.time_base = start, GIF_TIME_BASE
                yield rgb

    def _buffer(self, graph: av.filter.Graph, width: int, height: int, fmt: str) -> FilterContext:
        return graph.add_buffer(
            width=width, height=height, format=av.VideoFormat(fmt), time_base=GIF_TIME_BASE
        )

    def _palette(self) -> av.VideoFrame:
        """The clip's one palette (a 16 x 16 frame), from a sample of the spooled frames."""
        shrink = min(1.0, (PALETTE_PIXELS / (self.width * self.height)) ** 0.5)
        width, height = (max(1, round(side * shrink)) for side in (self.width, self.height))
        step = -(-self.frames // PALETTE_FRAMES)  # ceiling division
        graph = av.filter.Graph()
        source = self._buffer(graph, self.width, self.height, "rgb24")
        scale = graph.add("scale", f"{width}:{height}:flags=neighbor")
        palettegen = graph.add("palettegen", PALETTE_STATS)
        sink = graph.add("buffersink")
        source.link_to(scale)
        scale.link_to(palettegen)
        palettegen.link_to(sink)
        graph.configure()
        for index, frame in enumerate(self._spooled_frames()):
            if index % step == 0:
                source.push(frame)
                # A filter graph works when its sink is asked: asking after each frame keeps
                # the queue at one frame (the palette itself only comes at the end).
                with contextlib.suppress(av.error.BlockingIOError):
                    graph.pull()
        source.push(None)
        palette = graph.pull()
        assert isinstance(palette, av.VideoFrame)
        palette.pts, palette.time_base = 0, GIF_TIME_BASE
        return palette

    def _dither_graph(
        self, palette: av.VideoFrame
    ) -> tuple[av.filter.Graph, FilterContext, FilterContext]:
        graph = av.filter.Graph()
        frames_in = self._buffer(graph, self.width, self.height, "rgb24")
        palette_in = self._buffer(graph, palette.width, palette.height, palette.format.name)
        use = graph.add("paletteuse", DITHER)
        sink = graph.add("buffersink")
        frames_in.link_to(use, 0, 0)
        palette_in.link_to(use, 0, 1)
        use.link_to(sink)
        graph.configure()
        return graph, frames_in, palette_in

    def _mux(self, graph: av.filter.Graph, stream: av.video.stream.VideoStream) -> None:
        while True:
            try:
                paletted = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            assert isinstance(paletted, av.VideoFrame)
            for packet in stream.encode(paletted):
                self._output.container.mux(packet)

"""`ClipRun`: one clip processed start to finish, a chunk of frames per `step()` call, so the
async engine can give the compute threads back between chunks and report progress.

Reading, colouring/filtering and writing all stream: a handful of frames is in memory at any
time (the first `LOOKAHEAD` frames, to tell a colour clip from a black-and-white one, are the
most). Every blocking call here runs on one thread at a time; `abort()` may be called from
any thread, and cleans up at once or as soon as the step in flight ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from inference.colorize import Colorizer, has_colour
from inference.filters import FilterBank
from inference.pipeline import COLORIZE, FILTER, ColorizeUnavailableError
from inference.video.frames import FrameColourer, FrameFilter, StageClock
from inference.video.gif_writer import GifWriter
from inference.video.limits import VideoLimits
from inference.video.probe import MediaInfo
from inference.video.reader import ClipReader, DecodedFrame
from inference.video.results import VideoResult
from inference.video.temporal import StabilizerTuning
from inference.video.writers import Mp4Writer, OutputKind

log = logging.getLogger(__name__)

LOOKAHEAD = 12  # frames looked at to decide whether the clip is in colour
_MIN_DETAIL = 4.0  # grey-level spread below which a frame (black, white, flat) says nothing


class ClipRun:
    def __init__(
        self,
        source: Path,
        output: Path,
        info: MediaInfo,
        limits: VideoLimits,
        *,
        operation: str,
        filter_name: str | None = None,
        colorizer: Colorizer | None = None,
        filters: FilterBank | None = None,
        output_kind: OutputKind | None = None,
        stabilise: bool = True,
        tuning: StabilizerTuning | None = None,
        bitrate: int | None = None,
    ) -> None:
        if operation == COLORIZE and colorizer is None:
            raise ColorizeUnavailableError()
        if operation == FILTER and (filters is None or filter_name is None):
            raise ValueError("a filter run needs the filter bank and a filter name")
        if operation not in (COLORIZE, FILTER):
            raise ValueError(f"unknown operation {operation!r}")
        self.started = time.perf_counter()
        self.info = info
        self.operation = operation
        self.filter_name = filter_name
        self.output = output
        self.kind: OutputKind = output_kind or ("gif" if info.kind == "gif" else "mp4")
        self.clock = StageClock()
        self._lock = threading.Lock()
        self._busy = False
        self._closed = False
        self._cleaned = False
        self.frames_done = 0
        self.reader = ClipReader(source, info, limits)
        try:
            self._frames: Iterator[DecodedFrame] = self.reader.frames()
            self._ahead = self._look_ahead()
            self.had_colour = self._decide_colour()
            self.colourised = colorizer is not None and (
                operation == COLORIZE or not self.had_colour
            )
            width, height = info.work_width, info.work_height
            self.colourer = (
                FrameColourer(
                    colorizer, width, height, self.clock, stabilise=stabilise, tuning=tuning
                )
                if self.colourised and colorizer is not None
                else None
            )
            self.filter = (
                FrameFilter(filters, filter_name, self.clock)
                if operation == FILTER and filters is not None and filter_name is not None
                else None
            )
            self.writer = self._open_writer(source, width, height, bitrate)
        except BaseException:
            self.reader.close()
            raise

    def _look_ahead(self) -> deque[DecodedFrame]:
        started = time.perf_counter()
        ahead: deque[DecodedFrame] = deque()
        for frame in self._frames:
            ahead.append(frame)
            if len(ahead) >= LOOKAHEAD:
                break
        self.clock.add("decode", started)
        return ahead

    def _decide_colour(self) -> bool:
        """In colour when most of the first frames that show anything are."""
        telling = [f.bgr for f in self._ahead if float(f.bgr.std()) >= _MIN_DETAIL]
        if not telling:
            return False
        return sum(has_colour(bgr) for bgr in telling) * 2 > len(telling)

    def _open_writer(
        self, source: Path, width: int, height: int, bitrate: int | None
    ) -> Mp4Writer | GifWriter:
        if self.kind == "gif":
            return GifWriter(
                self.output,
                width,
                height,
                time_base=self.reader.time_base,
                loop=self.info.loop if self.info.kind == "gif" else 0,
                last_delay=self.info.last_frame_seconds,
            )
        return Mp4Writer(
            self.output,
            width,
            height,
            time_base=self.reader.time_base,
            rate=self.reader.rate,
            audio_from=source if self.info.has_audio else None,
            bitrate=bitrate,
        )

    def _next_frame(self) -> DecodedFrame | None:
        if self._ahead:
            return self._ahead.popleft()
        started = time.perf_counter()
        frame = next(self._frames, None)
        self.clock.add("decode", started)
        return frame

    def step(self, max_frames: int = 8) -> bool:
        """Process up to `max_frames` frames; True when the clip is all written (call
        `finish` next). Raises VideoError for a clip found broken or over a limit (the
        partial output is removed)."""
        self._enter()
        try:
            for _ in range(max_frames):
                frame = self._next_frame()
                if frame is None:
                    return True
                self._write(frame)
            return False
        except BaseException:
            self._close_soon()
            raise
        finally:
            self._leave()

    def _write(self, frame: DecodedFrame) -> None:
        bgr = frame.bgr
        if self.colourer is not None:
            bgr = self.colourer.colour(bgr)
        if self.filter is not None:
            bgr = self.filter.apply(bgr)
        started = time.perf_counter()
        self.writer.write(bgr, frame.pts, frame.duration)
        self.clock.add("encode", started)
        self.frames_done += 1

    def finish(self) -> VideoResult:
        """Flush and rename the output into place; the result describes it."""
        self._enter()
        try:
            started = time.perf_counter()
            path = self.writer.commit()
            self.clock.add("encode", started)
            self._cleaned = True  # committed: nothing of the output is left to remove
            self.reader.close()
            self._close_soon()
        except BaseException:
            self._close_soon()
            raise
        finally:
            self._leave()
        return self._result(path)

    def _enter(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the clip run was aborted or has finished")
            self._busy = True

    def _leave(self) -> None:
        with self._lock:
            self._busy = False
            closing = self._closed
        if closing:
            self._clean_up()

    def _close_soon(self) -> None:
        with self._lock:
            self._closed = True

    def _result(self, path: Path) -> VideoResult:
        info = self.info
        stabilizer = self.colourer.stabilizer if self.colourer is not None else None
        audio = self.writer.audio if isinstance(self.writer, Mp4Writer) else None
        duration = info.duration
        return VideoResult(
            path=path,
            kind=self.kind,
            width=self.writer.width,
            height=self.writer.height,
            duration=duration,
            fps=info.fps,
            frames=self.frames_done,
            has_audio=audio is not None,
            audio_copied=audio is not None and audio.copied,
            scaled_down=info.scaled_down,
            colourised=self.colourised,
            had_colour=self.had_colour,
            operation=self.operation,
            filter_name=self.filter_name,
            seconds=time.perf_counter() - self.started,
            size_bytes=path.stat().st_size,
            damaged_frames=self.reader.damaged_frames,
            model_runs=self.colourer.model_runs if self.colourer is not None else 0,
            propagated_frames=self.colourer.propagated if self.colourer is not None else 0,
            duplicates=stabilizer.duplicates if stabilizer is not None else 0,
            cuts=stabilizer.cuts if stabilizer is not None else 0,
            stage_seconds=dict(self.clock.seconds),
        )

    def abort(self) -> None:
        """Stop and remove the partial output (now, or when the step in flight ends)."""
        with self._lock:
            self._closed = True
            busy = self._busy
        if not busy:
            self._clean_up()

    def _clean_up(self) -> None:
        with self._lock:
            if self._cleaned:
                return
            self._cleaned = True
        self.writer.abort()
        self.reader.close()

"""`VideoEngine`: the async face of video work, for the job runner and the channels.

Blocking work runs on the shared `ComputePool`, a chunk of frames per call, so the pool's
threads are handed back between chunks and photo jobs interleave with a long clip; progress
is reported between chunks, at most every `progress_every_s` seconds (and once at the end).
A cancelled or failed run removes its partial output; nothing half-written is ever left at
the output path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from inference.colorize import Colorizer
from inference.compute import ComputePool
from inference.filters import FilterBank
from inference.video.budget import fit_under
from inference.video.clip import ClipRun
from inference.video.limits import VideoLimits
from inference.video.probe import MediaInfo, probe_media
from inference.video.results import VideoProgress, VideoResult
from inference.video.temporal import StabilizerTuning
from inference.video.writers import OutputKind

log = logging.getLogger(__name__)

ProgressCallback = Callable[[VideoProgress], Awaitable[None]]
CHUNK_FRAMES = 8


@dataclass(frozen=True)
class VideoOptions:
    """How one clip is processed (the defaults are what the bot serves)."""

    output_kind: OutputKind | None = None  # None: a GIF stays a GIF, a video becomes an MP4
    max_output_bytes: int | None = None  # re-encode smaller to fit this many bytes
    stabilise: bool = True  # the temporal filter (False: every frame coloured on its own)
    tuning: StabilizerTuning | None = None


class ProgressMeter:
    """Fraction done and an ETA from the rate so far; `due()` rate-limits the reports."""

    def __init__(self, total: int, every_s: float) -> None:
        self.total = max(1, total)
        self.every_s = every_s
        self.started = time.monotonic()
        self._last = self.started

    def progress(self, done: int) -> VideoProgress:
        elapsed = time.monotonic() - self.started
        fraction = min(1.0, done / self.total)
        eta = elapsed / done * max(0, self.total - done) if done else None
        return VideoProgress(fraction, eta, done, self.total)

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return False
        self._last = now
        return True


class VideoEngine:
    """Created once at start-up (it holds nothing per clip) and passed down."""

    def __init__(
        self,
        colorizer: Colorizer | None,
        filters: FilterBank,
        compute: ComputePool,
        limits: VideoLimits | None = None,
        *,
        progress_every_s: float = 1.0,
    ) -> None:
        self.colorizer = colorizer
        self.filters = filters
        self.compute = compute
        self.limits = limits or VideoLimits()
        self.progress_every_s = progress_every_s

    async def probe(self, path: Path) -> MediaInfo:
        """The cheap intake check: raises VideoError for a clip that will not be taken."""
        return await self.compute.run(probe_media, path, self.limits)

    async def process(
        self,
        source: Path,
        output: Path,
        operation: str,
        filter_name: str | None = None,
        *,
        options: VideoOptions | None = None,
        on_progress: ProgressCallback | None = None,
        info: MediaInfo | None = None,
    ) -> VideoResult:
        """Colourise (operation "colorize") or filter ("filter", colourising a black-and-white
        clip first) `source` into `output`. Raises VideoError (a UserError) for a bad clip."""
        options = options or VideoOptions()
        started = time.perf_counter()
        info = info or await self.probe(source)
        run = await self.compute.run(
            ClipRun,
            source,
            output,
            info,
            self.limits,
            operation=operation,
            filter_name=filter_name,
            colorizer=self.colorizer,
            filters=self.filters,
            output_kind=options.output_kind,
            stabilise=options.stabilise,
            tuning=options.tuning,
        )
        meter = ProgressMeter(info.frames, self.progress_every_s)
        try:
            while not await self.compute.run(run.step, CHUNK_FRAMES):
                if on_progress is not None and meter.due():
                    await on_progress(meter.progress(run.frames_done))
            result = await self.compute.run(run.finish)
        except BaseException:
            run.abort()  # at once, or when the chunk in flight returns
            raise
        if options.max_output_bytes is not None:
            result = await self.compute.run(fit_under, result, options.max_output_bytes)
        result = replace(result, seconds=time.perf_counter() - started)
        if on_progress is not None:
            await on_progress(VideoProgress(1.0, 0.0, result.frames, result.frames))
        log.info(
            "video %s: %d frames %dx%d in %.1f s (%d model runs, %d duplicates, %d cuts)",
            operation,
            result.frames,
            result.width,
            result.height,
            result.seconds,
            result.model_runs,
            result.duplicates,
            result.cuts,
        )
        return result

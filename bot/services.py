"""The shared objects of a running service, created once at start-up and passed down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.clients import ClientAddresses
from bot.intake import Intake
from bot.media import MediaLinks, MediaStore
from bot.metrics import Metrics
from bot.settings import Settings
from bot.signing import Signer
from db.engine import Database
from db.jobs import QueueLimits
from inference.colorize import Colorizer
from inference.compute import ComputePool, idle_thread_priority, lower_thread_priority
from inference.filters import FilterBank
from inference.images import ImageLimits
from inference.pipeline import PhotoPipeline
from inference.registry import ModelNotInstalledError, find_colorize_model
from inference.sessions import BatchPolicy, ModelSession
from inference.video import VideoEngine, VideoLimits

if TYPE_CHECKING:
    from handlers.platform import Platform

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    media: MediaStore
    pipeline: PhotoPipeline
    metrics: Metrics
    http: aiohttp.ClientSession
    # Signs visitor cookies, CSRF and job tokens, private media links (one key per service).
    signer: Signer
    channels: dict[str, Platform] = field(default_factory=dict)
    # Called after a job is queued in this process, to wake an idle in-process worker.
    wake_workers: Callable[[], None] = field(default=lambda: None)
    # The one way channels queue work (batches concurrent submissions into one transaction).
    intake: Intake = field(init=False)
    # Who a request comes from (TRUSTED_PROXIES), for every per-client limit.
    clients: ClientAddresses = field(init=False)
    media_links: MediaLinks = field(init=False)
    # Video and GIF work, on the pipeline's models and compute pool (`inference.video`).
    video: VideoEngine = field(init=False)

    def __post_init__(self) -> None:
        self.intake = Intake(self.db, lambda: self.queue_limits, lambda: self.wake_workers())
        self.clients = ClientAddresses(self.settings.trusted_proxies)
        self.media_links = MediaLinks(self.signer)
        self.video = load_video_engine(
            self.pipeline, self.video_limits, self.settings.video_concurrency
        )

    @property
    def queue_limits(self) -> QueueLimits:
        return QueueLimits(
            max_queue=self.settings.max_queue,
            user_jobs_per_hour=self.settings.user_jobs_per_hour,
        )

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.settings.max_image_bytes, max_pixels=self.settings.max_image_pixels
        )

    @property
    def video_limits(self) -> VideoLimits:
        return video_limits(self.settings)


def video_limits(settings: Settings) -> VideoLimits:
    """MAX_VIDEO_SECONDS, MAX_VIDEO_PIXELS and MAX_VIDEO_BYTES as the engine takes them."""
    return VideoLimits(
        max_seconds=settings.max_video_seconds,
        max_pixels=settings.max_video_pixels,
        max_bytes=settings.max_video_bytes,
    )


# The application's key for its `Services` (pages and routes read `request.app[SERVICES]`).
SERVICES = web.AppKey("services", Services)


def load_pipeline(settings: Settings, metrics: Metrics) -> PhotoPipeline:
    """Load and warm the models (blocking: seconds). Without a colourisation model the
    service still runs the filters and says why colourising is off. Sessions are made on a
    compute thread, so onnxruntime's own threads share its lower priority."""
    compute = ComputePool()
    filters = FilterBank(threads=settings.inference_threads)
    colorizer: Colorizer | None = None
    try:
        path = find_colorize_model(settings.colorize_model, settings.model_dir)
    except ModelNotInstalledError as exc:
        log.warning("colourisation is off: %s", exc)
    else:
        session = compute.call(
            ModelSession,
            settings.colorize_model,
            path,
            threads=settings.inference_threads,
            policy=BatchPolicy(settings.batch_max_size, settings.batch_max_wait_ms),
            warmup_shape=Colorizer.warmup_shape,
            observer=metrics.observe_batch,
            thread_initializer=lower_thread_priority,
        )
        colorizer = Colorizer(session, compute)
    return PhotoPipeline(colorizer, filters, compute)


# How often a running clip reports progress (stored on the job; a channel may show it less
# often).
PROGRESS_EVERY_S = 1.0


def load_video_engine(
    pipeline: PhotoPipeline, limits: VideoLimits, concurrency: int = 1, *, idle: bool = True
) -> VideoEngine:
    """The video engine, sharing the photo pipeline's models (it holds nothing per clip, so
    one serves the whole process). Its frame work runs on threads of its own, one per clip
    slot, at SCHED_IDLE (`inference.compute.idle_thread_priority`; `idle=False`: at the photo
    pool's niceness): photos keep their latency beside a clip, which takes the CPU time they
    leave (`benchmarks.bench_clip_latency` measures both)."""
    priority = idle_thread_priority if idle else lower_thread_priority
    clip_pool = ComputePool(concurrency, initializer=priority, name="clip")
    return VideoEngine(
        pipeline.colorizer,
        pipeline.filters,
        clip_pool,
        limits,
        progress_every_s=PROGRESS_EVERY_S,
    )

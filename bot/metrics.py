"""Prometheus metrics, in a registry owned by the app (no module-level state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            "colorbot_jobs_total",
            "Jobs finished, by channel, operation and outcome",
            ["channel", "operation", "outcome"],
            registry=self.registry,
        )
        self.enqueued = Counter(
            "colorbot_jobs_enqueued_total",
            "Jobs accepted into the queue",
            ["channel"],
            registry=self.registry,
        )
        self.refused = Counter(
            "colorbot_jobs_refused_total",
            "Requests refused before queueing (busy, rate limit)",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "colorbot_queue_depth",
            "Queued jobs (updated by the scheduler)",
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "colorbot_queue_wait_seconds",
            "Time from enqueue to a worker's claim",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "colorbot_inference_seconds",
            "Photo work (colourise/filter) per job",
            ["operation"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.clip_work = Histogram(
            "colorbot_clip_seconds",
            "Video and GIF work (colourise/filter every frame) per job",
            ["operation", "kind"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.footage = Counter(
            "colorbot_clip_footage_seconds_total",
            "Seconds of video and GIF footage finished",
            ["kind"],
            registry=self.registry,
        )
        self.end_to_end = Histogram(
            "colorbot_end_to_end_seconds",
            "Time from the event to the reply",
            ["channel", "operation"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "colorbot_batch_size",
            "Items per model run (micro-batching)",
            ["model"],
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32),
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "colorbot_model_run_seconds",
            "One model run (a whole batch)",
            ["model"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.channel_errors = Counter(
            "colorbot_channel_api_errors_total",
            "Errors from platform APIs",
            ["channel", "kind"],
            registry=self.registry,
        )

    def observe_batch(self, model: str, size: int, seconds: float) -> None:
        """A `BatchObserver` for `ModelSession`."""
        self.batch_size.labels(model).observe(size)
        self.model_seconds.labels(model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

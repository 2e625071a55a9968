"""Videos and animated GIFs in what X delivers, and which of their MP4s to download (pure).

X serves a video as several `variants`: MP4s at a few bit rates and an HLS playlist; an
animated GIF as one soundless MP4 of bit rate 0. They appear in three shapes:
  - v1.1 posts and DM events (`extended_entities.media[]`, `message_data.attachment.media`):
    `{"type": "video" | "animated_gif", "video_info": {"duration_millis", "variants":
    [{"bitrate", "content_type", "url"}]}}`;
  - v2 media objects (`includes.media[]`, with `media.fields=variants,duration_ms`):
    `{"type", "duration_ms", "variants": [{"bit_rate", "content_type", "url"}]}`.

`best_variant` picks the MP4 with the highest bit rate whose size (bit rate x duration, which
is what X encodes to) fits the download limit; the download itself is still capped, and the
next smaller variant is tried when one turns out too big.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VIDEO = "video"
GIF = "gif"
MP4 = "video/mp4"
# How much larger than bit rate x duration a variant may be (container, sound, VBR peaks).
SIZE_MARGIN = 1.15

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Variant:
    bit_rate: int  # bits per second (0 for an animated GIF's one MP4)
    url: str

    def estimated_bytes(self, duration_s: float | None) -> int | None:
        if not self.bit_rate or not duration_s:
            return None
        return int(self.bit_rate * duration_s / 8 * SIZE_MARGIN)


@dataclass(frozen=True)
class VideoRef:
    """A video or animated GIF on X: its MP4 variants, best first."""

    kind: str  # VIDEO or GIF
    variants: tuple[Variant, ...]
    duration_ms: int | None = None

    @property
    def duration_s(self) -> float | None:
        return self.duration_ms / 1000 if self.duration_ms else None

    def as_source(self) -> dict[str, Any]:
        """What a job stores to fetch it later (`Job.source["video"]`)."""
        return {
            "kind": self.kind,
            "duration_ms": self.duration_ms,
            "variants": [[v.bit_rate, v.url] for v in self.variants],
        }

    @classmethod
    def from_source(cls, stored: Json) -> VideoRef:
        variants = tuple(Variant(int(rate), str(url)) for rate, url in stored.get("variants") or [])
        duration = stored.get("duration_ms")
        return cls(
            str(stored.get("kind") or VIDEO),
            variants,
            int(duration) if isinstance(duration, int | float) else None,
        )


def video_of_media(item: Json) -> VideoRef | None:
    """A video or animated GIF media object (v1.1 or v2 shape) with at least one MP4."""
    kind = {"video": VIDEO, "animated_gif": GIF}.get(str(item.get("type")))
    if kind is None:
        return None
    info = item.get("video_info")
    info = info if isinstance(info, Mapping) else {}
    raw = info.get("variants", item.get("variants"))
    variants: list[Variant] = []
    for variant in raw if isinstance(raw, list) else []:
        if not isinstance(variant, Mapping) or variant.get("content_type") != MP4:
            continue  # the HLS playlist (application/x-mpegURL), or something new
        url = variant.get("url")
        rate = variant.get("bit_rate", variant.get("bitrate", 0))
        if isinstance(url, str) and url:
            variants.append(Variant(int(rate) if isinstance(rate, int | float) else 0, url))
    if not variants:
        return None
    duration = info.get("duration_millis", item.get("duration_ms"))
    variants.sort(key=lambda v: v.bit_rate, reverse=True)
    return VideoRef(
        kind, tuple(variants), int(duration) if isinstance(duration, int | float) else None
    )


def best_variant(video: VideoRef, max_bytes: int) -> list[Variant]:
    """The variants to try, in order: the highest bit rate whose estimated size fits
    `max_bytes` first, then the smaller ones. Those estimated too big are left out (without
    a duration nothing is estimated, so all are tried); when every one is, the smallest is
    still tried (its capped download then says how big it is)."""
    duration = video.duration_s
    fitting = [v for v in video.variants if (v.estimated_bytes(duration) or 0) <= max_bytes]
    return fitting or [min(video.variants, key=lambda v: v.bit_rate)]

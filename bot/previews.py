"""Preview tiles for the filter picker: one small sample photo through each of the 40 filters.

Made once per process, on first use, by the real `FilterBank` (a 160 px photo through 40 tiny
networks: a fraction of a second, on a thread), and kept in memory. The set carries a version
(a digest of every tile), which the page puts in the tile URLs so they can be cached for a year.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.filter_looks import describe_look
from inference.filters import FilterBank
from inference.images import decode_image, encode_jpeg

SAMPLE = Path(__file__).parent / "static" / "sample.jpg"
TILE_QUALITY = 82


@dataclass(frozen=True)
class FilterPreview:
    name: str
    jpeg: bytes
    looks: tuple[str, ...]  # what the filter does, measured (see bot.filter_looks)

    @property
    def caption(self) -> str:
        return ", ".join(self.looks)


@dataclass(frozen=True)
class PreviewSet:
    tiles: dict[str, FilterPreview]  # keyed by canonical filter name
    version: str

    def url(self, name: str) -> str:
        return f"/filters/{name}.jpg?v={self.version}"


def build_previews(filters: FilterBank, names: tuple[str, ...], sample: Path) -> PreviewSet:
    """Blocking: run `sample` through every filter in `names`."""
    photo: np.ndarray = decode_image(sample.read_bytes())
    digest = hashlib.sha256()
    tiles: dict[str, FilterPreview] = {}
    for name in names:
        filtered = filters.apply(name, photo)
        jpeg = encode_jpeg(filtered, quality=TILE_QUALITY)
        digest.update(name.encode() + b"\0" + jpeg)
        tiles[name] = FilterPreview(name, jpeg, tuple(describe_look(photo, filtered)))
    return PreviewSet(tiles, digest.hexdigest()[:12])


class FilterPreviews:
    """The app's one preview set, built on first use; concurrent first requests share it."""

    def __init__(self, filters: FilterBank, names: tuple[str, ...], sample: Path = SAMPLE) -> None:
        self._filters = filters
        self._names = names
        self._sample = sample
        self._lock = asyncio.Lock()
        self._built: PreviewSet | None = None

    async def get(self) -> PreviewSet:
        if self._built is None:
            async with self._lock:
                if self._built is None:
                    self._built = await asyncio.to_thread(
                        build_previews, self._filters, self._names, self._sample
                    )
        return self._built

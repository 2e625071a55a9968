"""Preview tiles for the filter picker: one small sample photo through each of the 40 filters.

The tiles are made by the real `FilterBank` and shipped with the package
(`bot/pages/static/previews/`, regenerated with `python -m bot.pages.previews` whenever the
filters change; a test fails when they are stale), because making them means baking all 40
filters' lookup tables: tens of CPU-seconds that a starting service should not spend. A filter
without a shipped tile is made on the spot. The set carries a version (a digest of every tile),
which the page puts in the tile URLs so they can be cached for a year.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.pages.filter_looks import describe_look
from inference.filters import FilterBank
from inference.images import decode_image, encode_jpeg

SAMPLE = Path(__file__).parent / "static" / "sample.jpg"
SHIPPED = Path(__file__).parent / "static" / "previews"
LOOKS_FILE = "looks.json"
TILE_QUALITY = 82


@dataclass(frozen=True)
class FilterPreview:
    name: str
    jpeg: bytes
    looks: tuple[str, ...]  # what the filter does, measured (see bot.pages.filter_looks)

    @property
    def caption(self) -> str:
        return ", ".join(self.looks)


@dataclass(frozen=True)
class PreviewSet:
    tiles: dict[str, FilterPreview]  # keyed by canonical filter name
    version: str

    def url(self, name: str) -> str:
        return f"/filters/{name}.jpg?v={self.version}"


def _versioned(tiles: dict[str, FilterPreview]) -> PreviewSet:
    digest = hashlib.sha256()
    for name, tile in tiles.items():
        digest.update(name.encode() + b"\0" + tile.jpeg)
    return PreviewSet(tiles, digest.hexdigest()[:12])


def make_preview(filters: FilterBank, name: str, photo: np.ndarray) -> FilterPreview:
    """Blocking: the sample photo through one filter (bakes the filter if needed)."""
    filtered = filters.apply(name, photo)
    jpeg = encode_jpeg(filtered, quality=TILE_QUALITY)
    return FilterPreview(name, jpeg, tuple(describe_look(photo, filtered)))


def build_previews(filters: FilterBank, names: tuple[str, ...], sample: Path) -> PreviewSet:
    """Blocking: run `sample` through every filter in `names`."""
    photo: np.ndarray = decode_image(sample.read_bytes())
    return _versioned({name: make_preview(filters, name, photo) for name in names})


def load_previews(
    filters: FilterBank, names: tuple[str, ...], sample: Path, shipped: Path
) -> PreviewSet:
    """Blocking: the shipped tiles, making only those that are missing."""
    looks_file = shipped / LOOKS_FILE
    looks: dict[str, list[str]] = json.loads(looks_file.read_text()) if looks_file.is_file() else {}
    photo: np.ndarray | None = None
    tiles: dict[str, FilterPreview] = {}
    for name in names:
        path = shipped / f"{name}.jpg"
        if path.is_file() and name in looks:
            tiles[name] = FilterPreview(name, path.read_bytes(), tuple(looks[name]))
            continue
        if photo is None:
            photo = decode_image(sample.read_bytes())
        tiles[name] = make_preview(filters, name, photo)
    return _versioned(tiles)


def write_previews(previews: PreviewSet, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, tile in previews.tiles.items():
        (directory / f"{name}.jpg").write_bytes(tile.jpeg)
    looks = {name: list(tile.looks) for name, tile in previews.tiles.items()}
    (directory / LOOKS_FILE).write_text(json.dumps(looks, indent=1, sort_keys=True) + "\n")


class FilterPreviews:
    """The app's one preview set, built on first use; concurrent first requests share it."""

    def __init__(
        self,
        filters: FilterBank,
        names: tuple[str, ...],
        sample: Path = SAMPLE,
        shipped: Path = SHIPPED,
    ) -> None:
        self._filters = filters
        self._names = names
        self._sample = sample
        self._shipped = shipped
        self._lock = asyncio.Lock()
        self._built: PreviewSet | None = None

    async def get(self) -> PreviewSet:
        if self._built is None:
            async with self._lock:
                if self._built is None:
                    self._built = await asyncio.to_thread(
                        load_previews, self._filters, self._names, self._sample, self._shipped
                    )
        return self._built


def main() -> None:
    """Regenerate the shipped tiles: `python -m bot.pages.previews [DIRECTORY]`."""
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    bank = FilterBank()
    write_previews(build_previews(bank, bank.names, SAMPLE), directory)
    print(f"wrote {len(bank.names)} preview tiles to {directory}")


if __name__ == "__main__":
    main()

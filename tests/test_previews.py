"""The shipped filter-picker tiles are what the shipped filters make (regenerate them with
`python -m bot.pages.previews` when the filters change)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.pages.previews import LOOKS_FILE, SAMPLE, SHIPPED, build_previews, load_previews
from inference.filters import FILTER_NAMES
from inference.images import decode_image
from inference.pipeline import PhotoPipeline


def test_every_filter_has_a_current_shipped_tile(pipeline: PhotoPipeline) -> None:
    bank = pipeline.filters
    fresh = build_previews(bank, bank.names, SAMPLE)
    looks = json.loads((SHIPPED / LOOKS_FILE).read_text())
    assert sorted(looks) == sorted(FILTER_NAMES)
    for name, tile in fresh.tiles.items():
        shipped = decode_image((SHIPPED / f"{name}.jpg").read_bytes()).astype(int)
        made = decode_image(tile.jpeg).astype(int)
        assert shipped.shape == made.shape, name
        assert np.abs(shipped - made).max() <= 2, (
            f"{name}: stale tile, run python -m bot.pages.previews"
        )
        assert tuple(looks[name]) == tile.looks, name


def test_a_missing_tile_is_made_on_the_spot(pipeline: PhotoPipeline, tmp_path: Path) -> None:
    bank = pipeline.filters
    for name in ("Lo-Fi", "Inkwell"):
        (tmp_path / f"{name}.jpg").write_bytes((SHIPPED / f"{name}.jpg").read_bytes())
    (tmp_path / LOOKS_FILE).write_text(json.dumps({"Lo-Fi": ["x"], "Inkwell": ["y"]}))
    loaded = load_previews(bank, ("Lo-Fi", "Inkwell", "Kelvin"), SAMPLE, tmp_path)
    assert loaded.tiles["Lo-Fi"].looks == ("x",)  # read, not remade
    kelvin = decode_image(loaded.tiles["Kelvin"].jpeg)
    assert kelvin.shape == decode_image(SAMPLE.read_bytes()).shape

"""The words the filter picker uses for what a filter does, measured on synthetic photos."""

from __future__ import annotations

import numpy as np
import pytest

from bot.pages.filter_looks import describe_look


def photo() -> np.ndarray:
    """A 96x96 colourful gradient with mid-tones everywhere (BGR uint8)."""
    ys, xs = np.mgrid[0:96, 0:96].astype(np.float32) / 95
    rgb = np.stack([60 + 120 * xs, 70 + 100 * ys, 160 - 80 * xs], axis=-1)
    return np.ascontiguousarray(rgb[..., ::-1]).astype(np.uint8)


def test_unchanged_photo_is_subtle() -> None:
    assert describe_look(photo(), photo()) == ["subtle"]


def test_greyscale_is_black_and_white_and_says_nothing_about_colour() -> None:
    before = photo()
    grey = before.mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    words = describe_look(before, grey)
    assert words[0] == "black and white"
    assert not {"muted colours", "cooler", "warmer"} & set(words)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda bgr: bgr.astype(np.float32) + 30, "brighter"),
        (lambda bgr: bgr.astype(np.float32) * 0.7, "darker"),
        (lambda bgr: (bgr.astype(np.float32) - 120) * 1.6 + 120, "more contrast"),
        (lambda bgr: (bgr.astype(np.float32) - 120) * 0.6 + 120, "softer contrast"),
        (lambda bgr: bgr.astype(np.float32) + np.array([-25, 0, 25], np.float32), "warmer"),
        (lambda bgr: bgr.astype(np.float32) + np.array([25, 0, -25], np.float32), "cooler"),
        (lambda bgr: bgr.astype(np.float32) + np.array([0, -20, 0], np.float32), "rosy tint"),
    ],
    ids=["brighter", "darker", "contrast", "soft", "warm", "cool", "rosy"],
)
def test_measured_changes(change: object, word: str) -> None:
    before = photo()
    after = np.clip(change(before), 0, 255).astype(np.uint8)  # type: ignore[operator]
    assert word in describe_look(before, after)


def test_dark_corners_are_a_vignette() -> None:
    before = np.full((96, 96, 3), 150, np.uint8)
    ys, xs = np.mgrid[0:96, 0:96].astype(np.float32) / 47.5 - 1
    falloff = np.clip(1 - 0.5 * (xs**2 + ys**2) / 2, 0, 1)[..., None]
    after = (before * falloff).astype(np.uint8)
    assert "dark corners" in describe_look(before, after)
    assert "dark corners" not in describe_look(before, before)


def test_sizes_must_match() -> None:
    with pytest.raises(ValueError, match="sizes differ"):
        describe_look(photo(), photo()[:50])

"""Words for what a filter does to a photo, measured from the photo before and after (pure).

The filter picker shows each filter's preview tile; these words go with it (as its caption for
screen readers and as a tooltip), so "what each filter does" is said from the filter's real
output, never from a hand-written blurb that could drift from the trained model.

Measured in CIE Lab (OpenCV float: L* 0..100, a*/b* about -128..127): brightness (mean L*),
contrast (spread of L*), faded blacks (the darkest 2% of L*), colourfulness (mean chroma),
warm/cool and rosy/green tints (mean b* / a* shift), and dark corners (corner vs centre L*).
"""

from __future__ import annotations

import cv2
import numpy as np

_BRIGHTER = 4.0  # mean L* shift
_CONTRAST = 0.12  # relative change of the L* spread
_FADED = 6.0  # shift of the darkest 2 % of L*
_GREY_CHROMA = 4.0  # mean chroma below which a picture reads as black and white
_COLOURFUL = 0.15  # relative change of mean chroma
_TINT = 3.0  # mean b* (warm/cool) or a* (rosy/green) shift
_VIGNETTE = 4.0  # extra L* drop of the corners against the centre


def describe_look(before_bgr: np.ndarray, after_bgr: np.ndarray) -> list[str]:
    """Short phrases, most telling first ("black and white", "warmer", "dark corners", ...);
    ["subtle"] when nothing measured changes much. Both images are BGR uint8 of one size."""
    if before_bgr.shape != after_bgr.shape:
        raise ValueError(f"sizes differ: {before_bgr.shape} vs {after_bgr.shape}")
    before = _lab(before_bgr)
    after = _lab(after_bgr)
    words: list[str] = []
    chroma_before = float(np.hypot(before[..., 1], before[..., 2]).mean())
    chroma_after = float(np.hypot(after[..., 1], after[..., 2]).mean())
    grey = chroma_after < _GREY_CHROMA <= chroma_before
    if grey:
        words.append("black and white")
    words.extend(_light_words(before[..., 0], after[..., 0]))
    if not grey:
        words.extend(_colour_words(before, after, chroma_before, chroma_after))
    if _corner_drop(after[..., 0]) - _corner_drop(before[..., 0]) > _VIGNETTE:
        words.append("dark corners")
    return words or ["subtle"]


def _lab(bgr: np.ndarray) -> np.ndarray:
    scaled = np.asarray(bgr, dtype=np.float32) / np.float32(255.0)
    lab: np.ndarray = cv2.cvtColor(scaled, cv2.COLOR_BGR2LAB)
    return lab


def _light_words(before: np.ndarray, after: np.ndarray) -> list[str]:
    words: list[str] = []
    shift = float(after.mean() - before.mean())
    if shift > _BRIGHTER:
        words.append("brighter")
    elif shift < -_BRIGHTER:
        words.append("darker")
    spread = float(after.std()) / max(float(before.std()), 1e-6) - 1.0
    blacks = float(np.percentile(after, 2) - np.percentile(before, 2))
    if blacks > _FADED:
        words.append("faded blacks")
    elif spread > _CONTRAST:
        words.append("more contrast")
    if spread < -_CONTRAST:
        words.append("softer contrast")
    return words


def _colour_words(
    before: np.ndarray, after: np.ndarray, chroma_before: float, chroma_after: float
) -> list[str]:
    words: list[str] = []
    change = chroma_after / max(chroma_before, 1e-6) - 1.0
    if change > _COLOURFUL:
        words.append("more colourful")
    elif change < -_COLOURFUL:
        words.append("muted colours")
    warm = float(after[..., 2].mean() - before[..., 2].mean())
    if warm > _TINT:
        words.append("warmer")
    elif warm < -_TINT:
        words.append("cooler")
    rosy = float(after[..., 1].mean() - before[..., 1].mean())
    if rosy > _TINT:
        words.append("rosy tint")
    elif rosy < -_TINT:
        words.append("green tint")
    return words


def _corner_drop(lightness: np.ndarray) -> float:
    """Mean L* of the centre minus that of the corners (outside the inscribed ellipse)."""
    height, width = lightness.shape
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height * 2 - 1
    xs = (np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1
    radius = np.hypot(xs[None, :], ys[:, None])
    centre = lightness[radius < 0.5]
    corners = lightness[radius > 1.0]
    if centre.size == 0 or corners.size == 0:
        return 0.0
    return float(centre.mean() - corners.mean())

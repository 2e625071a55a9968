"""A before / after picture: the original and the result side by side (pure image maths)."""

from __future__ import annotations

import cv2
import numpy as np

from inference.encoding import fit_within

GAP = 8  # white pixels between the two halves


def side_by_side(before: np.ndarray, after: np.ndarray, *, max_side: int = 2560) -> np.ndarray:
    """BGR uint8: `before` (scaled to `after`'s height) left, `after` right, a white gap
    between, the whole downscaled to fit `max_side`."""
    for image in (before, after):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
            raise ValueError(f"expected BGR uint8 (H, W, 3) images, got {image.shape}")
    height = after.shape[0]
    if before.shape[0] != height:
        width = max(1, round(before.shape[1] * height / before.shape[0]))
        before = cv2.resize(before, (width, height), interpolation=cv2.INTER_AREA)
    gap = np.full((height, GAP, 3), 255, dtype=np.uint8)
    return fit_within(np.hstack([before, gap, after]), max_side)

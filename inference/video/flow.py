"""Optical flow at a small working size, and warping along it (OpenCV's DIS flow).

Flows here are backward maps: `flow[y, x]` is where the pixel (x, y) of the later frame was in
the earlier one, so `warp(earlier, flow)` lines the earlier frame up with the later one.
"""

from __future__ import annotations

import cv2
import numpy as np

WORKING_SIDE = 160  # the flow and the chroma history live on a grid this long at most
MIN_FLOW_SIDE = 16  # below this DIS has no pyramid to work with: no motion is assumed


def working_size(width: int, height: int, side: int = WORKING_SIDE) -> tuple[int, int]:
    """(width, height) scaled so the longer side is at most `side` (aspect kept)."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def lightness_u8(lightness: np.ndarray) -> np.ndarray:
    """CIE L* (0..100, float) -> uint8 (0..255), what DIS takes."""
    out: np.ndarray = cv2.convertScaleAbs(lightness, alpha=2.55)
    return out


class FlowEstimator:
    """DIS optical flow between two uint8 grey images of one size. Not thread-safe: one per
    clip being processed."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> None:
        self._dis = cv2.DISOpticalFlow.create(preset)

    def backward(self, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
        """(H, W, 2) float32: for each pixel of `later`, its offset to where it was in
        `earlier`."""
        if min(later.shape[:2]) < MIN_FLOW_SIDE:
            return np.zeros((*later.shape[:2], 2), dtype=np.float32)
        flow = np.zeros((*later.shape[:2], 2), dtype=np.float32)
        result: np.ndarray = self._dis.calc(later, earlier, flow)
        return result

    def both(self, earlier: np.ndarray, later: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(backward, forward): later -> earlier and earlier -> later."""
        return self.backward(earlier, later), self.backward(later, earlier)


def sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`image` sampled at the maps (bilinear, edges repeated)."""
    warped: np.ndarray = cv2.remap(
        image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return warped


def inside(maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Where the maps point inside the image: bool (H, W)."""
    height, width = maps[0].shape
    map_x, map_y = maps
    result: np.ndarray = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return result


def forward_backward_error(
    backward: np.ndarray, forward: np.ndarray, maps: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """|backward + forward(x + backward)| in pixels, (H, W): near 0 where the two flows agree,
    large at occlusions and where the flow is wrong."""
    round_trip = backward + warp(forward, maps)
    error: np.ndarray = np.sqrt((round_trip**2).sum(axis=2))
    return error


def occlusion_free(
    backward: np.ndarray, forward: np.ndarray, maps: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The usual consistency test (Sundaram et al. 2010): bool (H, W), True where a pixel is
    seen in both frames and the flows agree."""
    error = forward_backward_error(backward, forward, maps)
    magnitude = (backward**2).sum(axis=2) + (warp(forward, maps) ** 2).sum(axis=2)
    result: np.ndarray = (error**2 <= 0.01 * magnitude + 0.5) & inside(maps)
    return result

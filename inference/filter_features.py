"""The per-pixel features the filter networks read: one definition for training, baking and the
reference path, so the three can never drift apart.

A filter network takes `FEATURE_NAMES`, float32 in [0, 1] for the colour and [-1, 1] for the
position, and returns RGB in [0, 1]:

- red, green, blue: the pixel, 0..255 scaled to 0..1;
- lightness: HSL lightness, (max + min) / 2, and
- saturation: chroma, max - min (not HSL's S = C / (1 - |2L - 1|), whose division blows up
  near black and white), both with max and min taken smoothly (log-sum-exp, sharpness
  `SMOOTHNESS`): a hard max has a crease wherever two channels are equal, and a crease is
  what a lookup table interpolates worst (the smooth ones fit the training pairs as well);
- x, y: where the pixel is, normalised so the image spans [-1, 1] x [-1, 1] whatever its size
  and aspect ratio (pixel centres: x = (col + 0.5) / width * 2 - 1). A vignette is therefore
  elliptical on a non-square photo, like Instagram's own.
"""

from __future__ import annotations

import numpy as np

FEATURE_NAMES: tuple[str, ...] = ("red", "green", "blue", "lightness", "saturation", "x", "y")
COLOUR_FEATURES = 5
SMOOTHNESS = 12.0  # log-sum-exp sharpness, in units of 1 / full scale


def colour_features(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) RGB in [0, 1] -> (N, 5) float32: R, G, B, smooth lightness and chroma."""
    rgb = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    high, low = smooth_max_min(rgb)
    out = np.empty((rgb.shape[0], COLOUR_FEATURES), dtype=np.float32)
    out[:, :3] = rgb
    out[:, 3] = (high + low) * np.float32(0.5)
    out[:, 4] = high - low
    return out


def smooth_max_min(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-sum-exp max and min over the channels of (N, 3) values in [0, 1] (float32)."""
    k = np.float32(SMOOTHNESS)
    top = rgb.max(axis=1, keepdims=True)
    bottom = rgb.min(axis=1, keepdims=True)
    high = top[:, 0] + np.log(np.exp((rgb - top) * k).sum(axis=1)) / k
    low = bottom[:, 0] - np.log(np.exp((bottom - rgb) * k).sum(axis=1)) / k
    return high.astype(np.float32), low.astype(np.float32)


def pixel_positions(height: int, width: int) -> np.ndarray:
    """(height * width, 2) float32 (x, y) of every pixel centre in [-1, 1], row-major order."""
    xs = ((np.arange(width, dtype=np.float32) + 0.5) / width) * 2 - 1
    ys = ((np.arange(height, dtype=np.float32) + 0.5) / height) * 2 - 1
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[:, :, 0] = xs[None, :]
    grid[:, :, 1] = ys[:, None]
    return grid.reshape(-1, 2)


def pixel_features(rgb: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(N, 3) RGB in [0, 1] and (N, 2) positions -> (N, 7) float32 network input."""
    colour = colour_features(rgb)
    positions = np.asarray(positions, dtype=np.float32).reshape(-1, 2)
    if positions.shape[0] != colour.shape[0]:
        raise ValueError(f"{colour.shape[0]} colours but {positions.shape[0]} positions")
    return np.concatenate([colour, positions], axis=1)


def image_features(rgb_image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB image -> (H * W, 7) float32 features, the naive way."""
    height, width = rgb_image.shape[:2]
    rgb = rgb_image.reshape(-1, 3).astype(np.float32) * np.float32(1 / 255)
    return pixel_features(rgb, pixel_positions(height, width))

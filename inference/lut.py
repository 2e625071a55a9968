"""Lookup-table maths for the filters (pure numpy/OpenCV, no onnxruntime).

A colour table holds a function of the colour sampled on a lattice and is read with
`cv2.remap`, which does the interpolation in optimised, multi-threaded code:

- blue is sampled at all 256 levels, so it needs no interpolation: each blue level owns one
  tile of the table image;
- red and green are sampled at `size` evenly spaced levels (0, 255/(size-1), ..., 255) and
  interpolated bilinearly inside the tile.

The table image is (size rows: green) x (256 * size columns: blue tile, then red), so a pixel
(b, g, r) reads at x = b * size + r * (size - 1) / 255, y = g * (size - 1) / 255. Bilinear
interpolation never crosses into the next tile: at r = 255 the weight of the next column is 0.

A position table holds a function of the normalised position (see `filter_features`) sampled
on a `cells` x `cells` lattice over [-1, 1]^2, corners included, and is read at every pixel
centre bilinearly, by one `cv2.warpAffine` (pixel centres always fall inside the lattice: no
clamping at the borders, where a vignette changes fastest).
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_SIZE = 33
DEFAULT_CELLS = 65


def lattice_colours(size: int = DEFAULT_SIZE) -> np.ndarray:
    """(size * 256 * size, 3) float32 RGB in [0, 1] of the table's samples, in the row-major
    order of the table image (green row, blue tile, red column)."""
    steps = np.linspace(0.0, 1.0, size, dtype=np.float32)
    blues = np.arange(256, dtype=np.float32) / np.float32(255)
    green, blue, red = np.meshgrid(steps, blues, steps, indexing="ij")
    return np.stack([red.ravel(), green.ravel(), blue.ravel()], axis=1)


def cell_centre_colours(size: int = DEFAULT_SIZE, blue_step: int = 1) -> np.ndarray:
    """RGB colours at the middle of every red-green cell of the table, for every `blue_step`-th
    blue level: where bilinear interpolation is least accurate; row-major like
    `lattice_colours`."""
    steps = (np.arange(size - 1, dtype=np.float32) + 0.5) / np.float32(size - 1)
    blues = np.arange(0, 256, blue_step, dtype=np.float32) / np.float32(255)
    green, blue, red = np.meshgrid(steps, blues, steps, indexing="ij")
    return np.stack([red.ravel(), green.ravel(), blue.ravel()], axis=1)


def cell_centre_values(
    values: np.ndarray, size: int = DEFAULT_SIZE, blue_step: int = 1
) -> np.ndarray:
    """What the table of lattice `values` reads at `cell_centre_colours`: the mean of each
    cell's four corners."""
    grid = values.reshape(size, 256, size, -1)[:, ::blue_step]
    centre: np.ndarray = (
        grid[:-1, :, :-1] + grid[1:, :, :-1] + grid[:-1, :, 1:] + grid[1:, :, 1:]
    ) / 4
    return centre.reshape(-1, values.shape[1])


def colour_table(values: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Sampled values (one row per `lattice_colours` entry) -> the table image
    (size, 256 * size, channels), C-contiguous, for `read_colour_table`."""
    channels = values.shape[1]
    return np.ascontiguousarray(values.reshape(size, 256 * size, channels))


def colour_maps(bgr: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """(H, W, 2) float32 remap coordinates of every pixel of a BGR uint8 image."""
    scale = np.float32((size - 1) / 255)
    maps = np.empty((*bgr.shape[:2], 2), dtype=np.float32)
    np.multiply(bgr[:, :, 0], np.float32(size), out=maps[:, :, 0])
    maps[:, :, 0] += bgr[:, :, 2] * scale
    np.multiply(bgr[:, :, 1], scale, out=maps[:, :, 1])
    return maps


def fixed_point_maps(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same coordinates in OpenCV's fixed-point form (1/32 pixel), cheaper to read twice."""
    # OpenCV's stubs do not know that convertMaps's second map is optional.
    first, second = cv2.convertMaps(maps, None, cv2.CV_16SC2)  # type: ignore[call-overload]
    return np.asarray(first), np.asarray(second)


def read_colour_table(
    table: np.ndarray, maps: np.ndarray | tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Interpolate the table at every pixel: (H, W, channels) of the table's dtype."""
    if isinstance(maps, tuple):
        first, second = maps
    else:
        first, second = maps, None
    out = np.asarray(
        cv2.remap(
            table,
            first,
            second,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    )
    if out.ndim == 2:
        out = out[:, :, np.newaxis]
    return out


def lattice_positions(cells: int = DEFAULT_CELLS) -> np.ndarray:
    """(cells * cells, 2) float32 (x, y) of the position table's samples, row-major."""
    steps = np.linspace(-1.0, 1.0, cells, dtype=np.float32)
    y, x = np.meshgrid(steps, steps, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


def position_table(values: np.ndarray, cells: int = DEFAULT_CELLS) -> np.ndarray:
    """Sampled values (one row per `lattice_positions` entry) -> (cells, cells, channels)."""
    return np.ascontiguousarray(values.reshape(cells, cells, values.shape[1]), dtype=np.float32)


def read_position_table(
    table: np.ndarray, height: int, width: int, rows: tuple[int, int] | None = None
) -> np.ndarray:
    """The position function at every pixel centre of a (height, width) photo, or of its rows
    first..last-1 when `rows` is (first, last): a bilinear read where the lattice index of a
    pixel centre is (col + 0.5) / width * (cells - 1), done as one affine warp."""
    first, last = rows or (0, height)
    cells = np.float32(table.shape[0] - 1)  # lattice index of x = 1; x = -1 is index 0
    sx, sy = cells / np.float32(width), cells / np.float32(height)
    to_table = np.array([[sx, 0, 0.5 * sx], [0, sy, (first + 0.5) * sy]], dtype=np.float32)
    out = cv2.warpAffine(
        table,
        to_table,
        (width, last - first),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out).reshape(last - first, width, -1)


def fixed_point(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Levels as int16 with as many fractional bits as the range allows (at most 1/64 level),
    and the step that turns them back into levels."""
    peak = max(float(np.abs(values).max()), 1.0)
    scale = min(64.0, 32000.0 / peak)
    return np.rint(values * scale).astype(np.int16), 1.0 / scale

"""Contact sheets: rows of (grey input | colourised | original) tiles, for looking at results."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BACKGROUND = 255
LABEL_HEIGHT = 16


@dataclass(frozen=True)
class SheetRow:
    label: str
    tiles: tuple[np.ndarray, ...]  # BGR uint8, any sizes


def fit_tile(bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale to fit inside height x width (keeping the aspect) and centre on white."""
    scale = min(height / bgr.shape[0], width / bgr.shape[1])
    size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scaled = cv2.resize(bgr, size, interpolation=interpolation)
    tile = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    tile[top : top + size[1], left : left + size[0]] = scaled
    return tile


def _label(text: str, width: int) -> np.ndarray:
    strip = np.full((LABEL_HEIGHT, width, 3), BACKGROUND, dtype=np.uint8)
    cv2.putText(strip, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def contact_sheet(
    rows: list[SheetRow], tile: int = 192, columns: int = 1, headers: tuple[str, ...] = ()
) -> np.ndarray:
    """Rows laid out in `columns` side-by-side columns; each row gets a label strip."""
    gap = 4
    blocks = []
    for row in rows:
        tiles = [fit_tile(t, tile, tile) for t in row.tiles]
        spaced = []
        for index, item in enumerate(tiles):
            if index:
                spaced.append(np.full((tile, gap, 3), BACKGROUND, dtype=np.uint8))
            spaced.append(item)
        body = np.hstack(spaced)
        blocks.append(np.vstack([_label(row.label, body.shape[1]), body]))
    if not blocks:
        raise ValueError("no rows")
    height, width = blocks[0].shape[:2]
    per_column = -(-len(blocks) // columns)
    blank = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    column_images = []
    for c in range(columns):
        part = blocks[c * per_column : (c + 1) * per_column]
        part += [blank] * (per_column - len(part))
        if headers:
            part = [_label("   |   ".join(headers), width), *part]
        column_images.append(np.vstack(part))
    separator = np.full((column_images[0].shape[0], 3 * gap, 3), BACKGROUND, dtype=np.uint8)
    joined = []
    for index, image in enumerate(column_images):
        if index:
            joined.append(separator)
        joined.append(image)
    return np.hstack(joined)

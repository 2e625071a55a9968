"""The filters' last step: colour detail at the resolution the real filtered photos have.

Instagram's filtered photos, like every JPEG of that kind, carry colour (the Cb and Cr of
YCbCr) at half the resolution of brightness (4:2:0 subsampling), so their colour never changes
from one pixel to the next the way a per-pixel colour map makes it do where brightness has
fine texture. `smooth_chroma` gives our output the same colour resolution: Cb and Cr are
smoothed with a small Gaussian (`SIGMA` pixels) and brightness (BT.601 luma, JPEG's Y) is kept
exactly, so no detail is blurred and a grey photo passes unchanged. It is one fixed step for all
40 filters, not fitted per filter; the filter networks were trained through it
(`training/filters/through_chroma.py`).

Computed in float, without rounding in between, a band of rows at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

SIGMA = 1.2  # pixels; 0.8 to 1.6 all fit the training pairs within 0.04 levels
KERNEL_SIZE = 9  # taps: +-4 pixels, where the Gaussian has fallen below 1 %
LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R BT.601 luma weights, BGR order (JPEG's Y)


def gaussian_taps() -> np.ndarray:
    """The normalised 1-D Gaussian (KERNEL_SIZE,) float32, shared with training."""
    taps = cv2.getGaussianKernel(KERNEL_SIZE, SIGMA, cv2.CV_32F)
    return np.asarray(taps, dtype=np.float32).ravel()


_TAPS = gaussian_taps()
_B, _G, _R = LUMA_BGR
# BGR -> (Y, B - Y, R - Y) and back: the chroma is smoothed as B - Y and R - Y, which are Cb and
# Cr up to a scale (the blur is linear, so the scale does not matter).
_TO_LUMA_CHROMA = np.array([[_B, _G, _R], [1 - _B, -_G, -_R], [-_B, -_G, 1 - _R]], np.float32)
_FROM_LUMA_CHROMA = np.array([[1, 1, 0], [1, -_B / _G, -_R / _G], [1, 0, 1]], np.float32)
RADIUS = KERNEL_SIZE // 2
BAND = 64  # rows per band, so a band's float temporaries stay in the cache (2x faster)

Rows = Callable[[int, int], np.ndarray]


def smooth_chroma(bgr: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR, uint8 or float in levels (clipped to 0..255 first) -> uint8 BGR with the
    chroma smoothed and the luma kept (to rounding). Any size; borders reflected. Blocking."""
    if bgr.ndim != 3 or bgr.shape[2] != 3 or 0 in bgr.shape:
        raise ValueError(f"expected an (H, W, 3) image, got {bgr.shape}")
    return smooth_chroma_rows(bgr.shape[0], bgr.shape[1], lambda first, last: bgr[first:last])


def smooth_chroma_rows(height: int, width: int, rows: Rows, band: int = BAND) -> np.ndarray:
    """`smooth_chroma` of an image made `band` rows at a time: `rows(first, last)` returns its
    rows first..last-1 (the kernel's reach above and below each band included), so whoever
    makes the image keeps only small temporaries too."""
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, band):
        bottom = min(height, top + band)
        first, last = max(0, top - RADIUS), min(height, bottom + RADIUS)
        smoothed = _smooth_band(rows(first, last))
        out[top:bottom] = smoothed[top - first : bottom - first]
    return out


def _smooth_band(bgr: np.ndarray) -> np.ndarray:
    if bgr.dtype == np.uint8:
        levels = bgr.astype(np.float32)
    else:  # unrounded levels: clipped first, as a filter network clips its output
        levels = np.clip(bgr, 0, 255, dtype=np.float32)
    luma_chroma = cv2.transform(levels, _TO_LUMA_CHROMA)
    smoothed = cv2.sepFilter2D(
        luma_chroma, cv2.CV_32F, _TAPS, _TAPS, borderType=cv2.BORDER_REFLECT_101
    )
    smoothed[:, :, 0] = luma_chroma[:, :, 0]  # the luma as it was
    out = cv2.transform(smoothed, _FROM_LUMA_CHROMA)
    # Rounded and saturated to 0..255 (a channel may cross 0 or 255 when its neighbours differ).
    return np.asarray(cv2.addWeighted(out, 1.0, out, 0.0, 0.0, dtype=cv2.CV_8U)).reshape(bgr.shape)

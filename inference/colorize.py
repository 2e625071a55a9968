"""The colourisation pipeline around a model contract.

Model contract (any ONNX file served as a colouriser):
  input  "L"  float32 [N, 1, S, S]: CIE L* in 0..100 at the model's working size S
              (metadata key `colorbot.input_size`, default 256); a model whose H and W are
              dynamic gets the photo at its own aspect ratio instead, about S*S pixels with
              both sides multiples of `colorbot.input_stride` (default 32)
  output "ab" float32 [N, 2, h, w]: CIE a*b*, at any resolution (upsampled here)

The model sees only L at its working size; the predicted ab is brought to full resolution by
`merge_ab` (joint bilateral upsampling guided by the full-resolution L, so colour stops at
edges: `inference.chroma_upsampling`) and merged with the full-resolution L, so detail is
kept. A photo that already has colour (not sepia or tinted: those count as grey) is turned to
grey first, and the result says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import cv2
import numpy as np

from inference.chroma_upsampling import ChromaUpsampling, upsample_ab
from inference.compute import ComputePool
from inference.sessions import ModelSession

WORKING_SIZE_KEY = "colorbot.input_size"
DEFAULT_WORKING_SIZE = 256
INPUT_STRIDE_KEY = "colorbot.input_stride"
DEFAULT_INPUT_STRIDE = 32
MAX_ASPECT = 4.0  # wider photos are squeezed to this aspect ratio at the model's input
# The served chroma upsampling (chosen on the full-size evaluation, training.colorize.fullsize).
EDGE_AWARE = ChromaUpsampling()
# A photo counts as colour when its chroma is not explained by brightness alone: the RMS of
# (a*, b*) left after removing the mean of each of 24 L* bins (0 for grey, sepia, duotone).
TINT_RESIDUAL_COLOUR = 3.0
_CHECK_SIDE = 256


@dataclass(frozen=True)
class ColorizeResult:
    bgr: np.ndarray
    had_colour: bool


def lab_from_bgr(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 -> float32 CIE Lab (L* 0..100), OpenCV's D65 sRGB conversion."""
    lab: np.ndarray = cv2.cvtColor(bgr.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_BGR2Lab)
    return lab


def bgr_from_lab(lab: np.ndarray) -> np.ndarray:
    """float32 CIE Lab -> BGR uint8 (out-of-gamut colours clipped, levels rounded)."""
    bgr = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2BGR)
    # Scaled, rounded and saturated to 0..255 in one pass (numpy's clip/astype made three
    # 1 MP temporaries: 10 ms of a 1 MP photo's 70).
    levels: np.ndarray = cv2.convertScaleAbs(np.maximum(bgr, 0.0, out=bgr), alpha=255.0)
    return levels


def tint_residual(lab: np.ndarray, bins: int = 24) -> float:
    """RMS of (a*, b*) after subtracting their mean within each L* bin. Computed from
    per-bin sums (what is left = all of |ab|^2 less what the bin means explain), 6x faster
    than forming the residuals."""
    pixels = lab.reshape(-1, 3)
    index = np.clip((pixels[:, 0] / 100.0 * bins).astype(np.intp), 0, bins - 1)
    counts = np.maximum(np.bincount(index, minlength=bins), 1)
    explained = sum(
        float(np.sum(np.bincount(index, weights=pixels[:, c], minlength=bins) ** 2 / counts))
        for c in (1, 2)
    )
    total = float(np.square(pixels[:, 1:], dtype=np.float64).sum())
    return float(np.sqrt(max(total - explained, 0.0) / len(pixels)))


def has_colour(bgr: np.ndarray) -> bool:
    """True for a real colour photo; False for grey, sepia and tinted monochrome."""
    height, width = bgr.shape[:2]
    scale = _CHECK_SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return tint_residual(lab_from_bgr(bgr)) >= TINT_RESIDUAL_COLOUR


def working_shape(height: int, width: int, size: int, stride: int) -> tuple[int, int]:
    """(h, w) of the model input for a photo: its aspect ratio (at most MAX_ASPECT), about
    size * size pixels, both sides multiples of `stride` (at least 2 * stride)."""
    aspect = min(max(width / height, 1 / MAX_ASPECT), MAX_ASPECT)
    sides = (size / np.sqrt(aspect), size * np.sqrt(aspect))
    h, w = (max(2 * stride, stride * round(side / stride)) for side in sides)
    return h, w


def model_input(lightness: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Full-resolution L* (H, W) -> the model's input item: [1, size, size] (squashed) when
    `stride` is None, else [1, h, w] at the photo's aspect ratio (`working_shape`)."""
    if stride is None:
        h, w = size, size
    else:
        height, width = lightness.shape
        h, w = working_shape(height, width, size, stride)
    shrinking = lightness.shape[0] >= h and lightness.shape[1] >= w
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    small = cv2.resize(lightness, (w, h), interpolation=interpolation)
    return small[np.newaxis].astype(np.float32)


def merge_ab(
    lightness: np.ndarray, ab: np.ndarray, upsampling: ChromaUpsampling = EDGE_AWARE
) -> np.ndarray:
    """Full-resolution L* (H, W) + predicted ab [2, h, w] -> BGR uint8 (H, W, 3). The one
    place where low-resolution ab becomes full-resolution ab (`inference.chroma_upsampling`)."""
    ab_hw: np.ndarray = np.ascontiguousarray(np.transpose(ab, (1, 2, 0)), dtype=np.float32)
    lightness = np.ascontiguousarray(lightness, dtype=np.float32)
    chroma = upsample_ab(lightness, ab_hw, upsampling)
    return bgr_from_lab(cv2.merge([lightness, *cv2.split(chroma)]))


def prepare(
    bgr: np.ndarray, size: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """-> (full-resolution L*, model input item, whether the photo had colour); `stride` as
    in `model_input` (`Colorizer.stride` is the right one for its model)."""
    lab = lab_from_bgr(bgr)
    lightness = np.ascontiguousarray(lab[..., 0])
    return lightness, model_input(lightness, size, stride), has_colour(bgr)


class Colorizer:
    """Colourises BGR photos with one shared `ModelSession` (batched across callers)."""

    def __init__(
        self,
        session: ModelSession,
        compute: ComputePool | None = None,
        upsampling: ChromaUpsampling = EDGE_AWARE,
    ) -> None:
        self.session = session
        self.size = self.working_size(session.metadata)
        self.stride = self.input_stride(session)
        self.upsampling = upsampling
        self._compute = compute

    @staticmethod
    def working_size(metadata: dict[str, str]) -> int:
        return int(metadata.get(WORKING_SIZE_KEY, DEFAULT_WORKING_SIZE))

    @staticmethod
    def input_stride(session: ModelSession) -> int | None:
        """None for a model with a fixed S x S input (the photo is squashed to it); the
        multiple both sides must have when its H and W are dynamic (the aspect ratio is kept)."""
        if all(isinstance(d, int) for d in session.input_shape[2:]):
            return None
        return int(session.metadata.get(INPUT_STRIDE_KEY, DEFAULT_INPUT_STRIDE))

    @classmethod
    def warmup_shape(cls, metadata: dict[str, str]) -> tuple[int, ...]:
        """The model input item for `ModelSession(..., warmup_shape=Colorizer.warmup_shape)`."""
        size = cls.working_size(metadata)
        return (1, size, size)

    async def colorize(self, bgr: np.ndarray) -> ColorizeResult:
        """Colourise off the event loop: pre/post-processing on a thread, the model batched."""
        run = self._compute.run if self._compute is not None else asyncio.to_thread
        lightness, item, had_colour = await run(prepare, bgr, self.size, self.stride)
        ab = await self.session.run(item)
        result = await run(merge_ab, lightness, ab, self.upsampling)
        return ColorizeResult(result, had_colour)

    def low_res_ab(self, lightness: np.ndarray) -> np.ndarray:
        """The model's ab [2, h, w] for a full-resolution L* (H, W), before any upsampling
        (video work stabilises it over time at low resolution, then calls `merge_ab`).
        Blocking."""
        item = model_input(lightness, self.size, self.stride)
        ab: np.ndarray = self.session.run_batch(item[np.newaxis])[0]
        return ab

    def colorize_sync(self, bgr: np.ndarray) -> ColorizeResult:
        """The same, blocking the calling thread (CLI, evaluation, benchmarks)."""
        lightness, item, had_colour = prepare(bgr, self.size, self.stride)
        ab = self.session.run_batch(item[np.newaxis])[0]
        return ColorizeResult(merge_ab(lightness, ab, self.upsampling), had_colour)

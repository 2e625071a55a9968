"""The video benchmark's measures, on decoded BGR frames (lists of uint8 arrays).

- flicker: mean |ab(t) - ab(t-1)| with ab at 64 x 64 (the output's, divided by the same of the
  original colour clip: 1.0 changes colour as much as the real footage does).
- warp error (Lai et al. 2018, "Learning blind video temporal consistency"): the mean ab
  distance between frame t and frame t-1 warped onto it by the optical flow *of the original*
  (DIS, medium preset, at 256 px wide), over the pixels that the forward-backward check
  finds visible in both.
- AuC of the ab error against the original on sampled frames (Zhang et al.'s AuC, t = 0..150,
  `training.colorize.metrics.AucCurve`), and the per-frame mean ab error (for the post-cut ratio).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from inference.colorize import lab_from_bgr
from inference.video.flow import (
    FlowEstimator,
    lightness_u8,
    occlusion_free,
    sample_maps,
    warp,
)
from training.colorize.metrics import AucCurve

FLICKER_SIDE = 64
FLOW_WIDTH = 256
AUC_SIDE = 256


def _ab(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return lab_from_bgr(small)[..., 1:]


def flicker(frames: Sequence[np.ndarray]) -> float:
    abs_ = [_ab(f, (FLICKER_SIDE, FLICKER_SIDE)) for f in frames]
    steps = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(abs_)]
    return float(np.mean(steps)) if steps else 0.0


def flow_size(frame: np.ndarray) -> tuple[int, int]:
    height, width = frame.shape[:2]
    scale = min(1.0, FLOW_WIDTH / width)
    return max(16, round(width * scale)), max(16, round(height * scale))


class OriginalFlow:
    """The original clip's backward flows and visibility masks, computed once per clip."""

    def __init__(self, original: Sequence[np.ndarray]) -> None:
        self.size = flow_size(original[0])
        estimator = FlowEstimator(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        greys = [
            lightness_u8(
                lab_from_bgr(cv2.resize(f, self.size, interpolation=cv2.INTER_AREA))[..., 0]
            )
            for f in original
        ]
        self.maps: list[tuple[np.ndarray, np.ndarray]] = []
        self.visible: list[np.ndarray] = []
        for earlier, later in itertools.pairwise(greys):
            backward, forward = estimator.both(earlier, later)
            maps = sample_maps(backward)
            self.maps.append(maps)
            self.visible.append(occlusion_free(backward, forward, maps))

    def warp_error(self, frames: Sequence[np.ndarray]) -> float:
        abs_ = [_ab(f, self.size) for f in frames]
        errors = []
        for index, (earlier, later) in enumerate(itertools.pairwise(abs_)):
            warped = warp(earlier, self.maps[index])
            distance = np.sqrt(((later - warped) ** 2).sum(axis=2))
            mask = self.visible[index]
            if mask.any():
                errors.append(float(distance[mask].mean()))
        return float(np.mean(errors)) if errors else 0.0


def _auc_size(frame: np.ndarray) -> tuple[int, int]:
    height, width = frame.shape[:2]
    scale = min(1.0, AUC_SIDE / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def ab_errors(frames: Sequence[np.ndarray], original: Sequence[np.ndarray]) -> list[float]:
    """Per frame: the mean ab distance to the original."""
    size = _auc_size(original[0])
    return [
        float(np.sqrt(((_ab(f, size) - _ab(o, size)) ** 2).sum(axis=2)).mean())
        for f, o in zip(frames, original, strict=True)
    ]


def auc(frames: Sequence[np.ndarray], original: Sequence[np.ndarray], every: int = 4) -> float:
    curve = AucCurve(classes=1)
    size = _auc_size(original[0])
    for f, o in list(zip(frames, original, strict=True))[::every]:
        predicted, true = _ab(f, size), _ab(o, size)
        curve.add(predicted, true, np.zeros(true.shape[:2], dtype=np.int64))
    return curve.plain()


def post_cut_ratio(errors: Sequence[float], cuts: Sequence[int], after: int = 3) -> float:
    """Mean error of the `after` frames from each cut on, over the clip's mean error."""
    picked = [errors[i] for cut in cuts for i in range(cut, min(len(errors), cut + after))]
    return float(np.mean(picked) / np.mean(errors))

"""The 313 quantised CIE a*b* bins of Zhang et al. 2016 and the training set's colour prior.

Needs no torch: the evaluation and the tests use it too.

- `AbBins.nearest(ab)`: the bin of each ab value (hard quantisation).
- `AbBins.soft_encode(ab)`: the 5 nearest bins and Gaussian weights (sigma 5), the paper's
  soft-encoded training target, read from a lookup table on the integer a*b* grid.
- The prior: the share of training pixels per bin, smoothed with a Gaussian (sigma 5) over the
  bin centres. `rebalance_weights(prior, mix)` = 1 / ((1 - mix) * prior + mix / Q), scaled so the
  prior-weighted mean is 1 (the paper's loss uses mix = 0.5); with a floor, no weight is below it
  (the paper's weights give a truly grey pixel 0.12, a 45th of a saturated one).

`python -m training.colorize.bins` computes the prior and the mean ab of the training split and
writes them to `training/colorize/ab_stats.json` (committed: evaluation and tests read it).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.colorize.shards import DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, load_split

STATS_PATH = Path(__file__).with_name("ab_stats.json")
NEIGHBOURS = 5
SIGMA = 5.0
_GRID_LOW, _GRID_SIZE = -128, 256  # the integer a*b* grid of the lookup tables


def lab_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> float32 CIE Lab (L* 0..100), OpenCV's D65 conversion as in serving."""
    scaled = rgb.astype(np.float32) * np.float32(1 / 255)
    lab: np.ndarray = cv2.cvtColor(scaled, cv2.COLOR_RGB2Lab)
    return lab


@dataclass(frozen=True)
class AbBins:
    centres: np.ndarray  # (Q, 2) float32
    grid_nearest: np.ndarray  # (256, 256) int16: nearest bin of each integer (a, b)
    grid_index: np.ndarray  # (256, 256, 5) int16: the 5 nearest bins
    grid_weight: np.ndarray  # (256, 256, 5) float32: their Gaussian weights, summing to 1

    @classmethod
    def load(cls, models_dir: Path = DEFAULT_MODELS_DIR) -> AbBins:
        return cls.from_centres(np.load(models_dir / "pts_in_hull.npy"))

    @classmethod
    def from_centres(cls, centres: np.ndarray) -> AbBins:
        centres = centres.astype(np.float32)
        axis = np.arange(_GRID_LOW, _GRID_LOW + _GRID_SIZE, dtype=np.float32)
        grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        squared = ((grid[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        index = np.argpartition(squared, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
        near = np.take_along_axis(squared, index, axis=1)
        order = np.argsort(near, axis=1)  # nearest first
        index = np.take_along_axis(index, order, axis=1)
        near = np.take_along_axis(near, order, axis=1)
        weight = np.exp(-(near - near[:, :1]) / (2 * SIGMA**2))  # stable far outside the hull
        weight /= weight.sum(axis=1, keepdims=True)
        shape = (_GRID_SIZE, _GRID_SIZE)
        return cls(
            centres=centres,
            grid_nearest=index[:, 0].astype(np.int16).reshape(shape),
            grid_index=index.astype(np.int16).reshape(*shape, NEIGHBOURS),
            grid_weight=weight.astype(np.float32).reshape(*shape, NEIGHBOURS),
        )

    @property
    def count(self) -> int:
        return int(self.centres.shape[0])

    def _grid_coordinates(self, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ab (..., 2) -> the rounded grid coordinates (row = a, column = b)."""
        cells = np.clip(np.rint(ab) - _GRID_LOW, 0, _GRID_SIZE - 1).astype(np.intp)
        return cells[..., 0], cells[..., 1]

    def nearest(self, ab: np.ndarray) -> np.ndarray:
        """ab (..., 2) -> the index of the nearest bin (...)."""
        nearest: np.ndarray = self.grid_nearest[self._grid_coordinates(ab)].astype(np.int64)
        return nearest

    def soft_encode(self, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ab (..., 2) -> (indices (..., 5) int64, weights (..., 5) float32)."""
        rows, columns = self._grid_coordinates(ab)
        return self.grid_index[rows, columns].astype(np.int64), self.grid_weight[rows, columns]


def smooth_prior(counts: np.ndarray, centres: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Bin counts -> the prior: shares smoothed by a Gaussian over the bin centres."""
    squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-squared / (2 * sigma**2))
    kernel /= kernel.sum(axis=0, keepdims=True)  # every bin spreads its mass, keeping it
    smoothed = kernel @ (counts / counts.sum())
    result: np.ndarray = smoothed / smoothed.sum()
    return result


def rebalance_weights(prior: np.ndarray, mix: float, floor: float = 0.0) -> np.ndarray:
    """1 / ((1 - mix) * prior + mix / Q), normalised so that sum(prior * w) == 1; then weights
    under `floor` are raised to it and all are normalised again (the common colours, the
    neutral ones above all, keep at least that share of the loss)."""
    weights = 1.0 / ((1.0 - mix) * prior + mix / prior.size)
    weights /= float((prior * weights).sum())
    if floor > 0:
        weights = np.maximum(weights, floor)
        weights /= float((prior * weights).sum())
    result: np.ndarray = weights
    return result


@dataclass(frozen=True)
class AbStats:
    prior: np.ndarray  # (Q,) float64, sums to 1
    mean_ab: tuple[float, float]
    photos: int

    @classmethod
    def load(cls, path: Path = STATS_PATH) -> AbStats:
        data = json.loads(path.read_text(encoding="utf-8"))
        mean_a, mean_b = data["mean_ab"]
        return cls(np.asarray(data["prior"], dtype=np.float64), (mean_a, mean_b), data["photos"])

    def save(self, path: Path = STATS_PATH) -> None:
        data = {
            "about": "training split of ../shared/colorize-training: share of pixels per "
            "pts_in_hull bin, Gaussian-smoothed (sigma 5); mean CIE a*b* of all pixels",
            "photos": self.photos,
            "mean_ab": [round(v, 4) for v in self.mean_ab],
            "prior": [float(f"{p:.6e}") for p in self.prior],
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def measure_stats(pixels: np.ndarray, bins: AbBins) -> AbStats:
    """The prior and mean ab of RGB uint8 photos (N, H, W, 3)."""
    counts = np.zeros(bins.count, dtype=np.float64)
    ab_sum = np.zeros(2, dtype=np.float64)
    for rgb in pixels:
        ab = lab_from_rgb(rgb)[..., 1:]
        counts += np.bincount(bins.nearest(ab).ravel(), minlength=bins.count)
        ab_sum += ab.reshape(-1, 2).sum(axis=0, dtype=np.float64)
    total = pixels.shape[0] * pixels.shape[1] * pixels.shape[2]
    mean_a, mean_b = (ab_sum / total).tolist()
    return AbStats(smooth_prior(counts, bins.centres), (mean_a, mean_b), int(pixels.shape[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--out", type=Path, default=STATS_PATH)
    args = parser.parse_args()
    _, pixels = load_split(args.data, "train")
    stats = measure_stats(pixels, AbBins.load(args.models))
    stats.save(args.out)
    print(f"{stats.photos} photos, mean ab {stats.mean_ab}, wrote {args.out}")


if __name__ == "__main__":
    main()

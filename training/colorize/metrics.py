"""The evaluation metrics of Zhang et al. 2016 and friends, in NumPy (no torch).

- AuC: the share of pixels whose predicted ab lies within L2 distance t of the true ab,
  integrated over t = 0..150 (trapezoid) and divided by 150, in percent. The class-rebalanced
  variant weights every pixel by the inverse frequency, among the evaluated pixels, of the
  313-bin class of its true ab: the mean, over the classes present, of each class's curve.
- Colourfulness: Hasler and Suesstrunk (2003) on 8-bit sRGB, sigma_rgyb + 0.3 * mu_rgyb.
- PSNR of 8-bit RGB, per photo.
"""

from __future__ import annotations

import numpy as np

MAX_THRESHOLD = 150


class AucCurve:
    """Accumulates ab errors per true-colour class; gives plain and rebalanced AuC."""

    def __init__(self, classes: int = 313) -> None:
        # counts[q, k]: pixels of class q whose error, rounded up, is k (k > 150 lands in 151)
        self.counts = np.zeros((classes, MAX_THRESHOLD + 2), dtype=np.int64)

    def add(self, predicted_ab: np.ndarray, true_ab: np.ndarray, true_class: np.ndarray) -> None:
        """predicted_ab, true_ab (..., 2) float; true_class (...) int (the 313-bin index)."""
        distance = np.sqrt(((predicted_ab - true_ab) ** 2).sum(-1, dtype=np.float64))
        steps = np.minimum(np.ceil(distance), MAX_THRESHOLD + 1).astype(np.int64)
        flat = true_class.ravel() * self.counts.shape[1] + steps.ravel()
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)

    @staticmethod
    def _area(cumulative: np.ndarray) -> float:
        """Curve at t = 0..150 -> normalised trapezoid area, in percent."""
        curve = cumulative[: MAX_THRESHOLD + 1]
        area = (curve[:-1] + curve[1:]).sum() / 2 / MAX_THRESHOLD
        return float(100 * area)

    def plain(self) -> float:
        totals = self.counts.sum(axis=0)
        return self._area(np.cumsum(totals) / totals.sum())

    def rebalanced(self) -> float:
        per_class = self.counts.sum(axis=1)
        present = per_class > 0
        curves = np.cumsum(self.counts[present], axis=1) / per_class[present, None]
        return self._area(curves.mean(axis=0))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness M of an RGB uint8 image."""
    red, green, blue = (rgb[..., c].astype(np.float64) for c in range(3))
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = np.sqrt(rg.var() + yb.var())
    centre = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * centre)


def psnr(result: np.ndarray, original: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (capped at 100 dB for identical ones)."""
    error = np.mean((result.astype(np.float64) - original.astype(np.float64)) ** 2)
    return 100.0 if error == 0 else float(10 * np.log10(255.0**2 / error))

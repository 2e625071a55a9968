"""Probe: how much of the filters' remaining error a spatial step could take, and what it learns.

For each filter, a 5x5 linear kernel per YCrCb channel (plus a bias) is fitted by iteratively
reweighted least squares (an L1 fit) from the served output on `Normal.jpg` to the real filtered
photo, then applied the way a serving step would (uint8, OpenCV). It prints the error before and
after, the luma kernel's centre weight and the chroma kernel's spread, and how far the step
pushes the fast path and the network apart on a noise image (their gap is at most 1 level
before it). This is a measurement, not a shipped stage: see RESULTS.md for why.

    python -m training.filters.spatial_probe [--only Lo-Fi,Kelvin]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from inference.filters import FilterBank
from training.filters.data import DEFAULT_DATA, filter_names

RADIUS = 2


def _shifted(channel: np.ndarray) -> np.ndarray:
    height, width = channel.shape
    padded = np.pad(channel.astype(np.float32), RADIUS, mode="reflect")
    side = range(-RADIUS, RADIUS + 1)
    columns = [
        padded[RADIUS + dy : RADIUS + dy + height, RADIUS + dx : RADIUS + dx + width].ravel()
        for dy in side
        for dx in side
    ]
    return np.stack([*columns, np.ones(height * width, np.float32)], axis=1)


def _l1_fit(a: np.ndarray, b: np.ndarray, rounds: int = 4) -> np.ndarray:
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    for _ in range(rounds):
        scale = 1 / np.sqrt(np.maximum(np.abs(a @ w - b), 0.5))
        w = np.linalg.lstsq(a * scale[:, None], b * scale, rcond=None)[0]
    return w


def fit_kernels(served: np.ndarray, target: np.ndarray) -> list[tuple[np.ndarray, float]]:
    ours = cv2.cvtColor(served, cv2.COLOR_BGR2YCrCb)
    theirs = cv2.cvtColor(target, cv2.COLOR_BGR2YCrCb)
    size = 2 * RADIUS + 1
    kernels = []
    for c in range(3):
        a = _shifted(ours[:, :, c])[::5]
        w = _l1_fit(a, theirs[:, :, c].ravel()[::5].astype(np.float32))
        kernels.append((w[:-1].reshape(size, size).astype(np.float32), float(w[-1])))
    return kernels


def apply_kernels(bgr: np.ndarray, kernels: list[tuple[np.ndarray, float]]) -> np.ndarray:
    channels = cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb))
    out = [
        cv2.filter2D(ch, -1, k, delta=b, borderType=cv2.BORDER_REFLECT)
        for ch, (k, b) in zip(channels, kernels, strict=True)
    ]
    return np.asarray(cv2.cvtColor(cv2.merge(out), cv2.COLOR_YCrCb2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    names = [n for n in filter_names(DEFAULT_DATA) if not args.only or n in args.only.split(",")]
    bank = FilterBank()
    source = cv2.imread(str(DEFAULT_DATA / "Normal.jpg"))
    noise = np.random.default_rng(11).integers(0, 256, (384, 384, 3), dtype=np.uint8)
    before, after = [], []
    print("| filter | served | with 5x5 step | luma centre | chroma centre | noise gap |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        target = cv2.imread(str(DEFAULT_DATA / f"{name}.jpg")).astype(np.int16)
        served = bank.apply(name, source)
        kernels = fit_kernels(served, target.astype(np.uint8))
        stepped = apply_kernels(served, kernels)
        gap = np.abs(
            apply_kernels(bank.apply(name, noise), kernels).astype(np.int16)
            - apply_kernels(bank.apply_naive(name, noise), kernels)
        ).max()
        before.append(float(np.abs(served - target).mean()))
        after.append(float(np.abs(stepped - target).mean()))
        print(
            f"| {name} | {before[-1]:.2f} | {after[-1]:.2f} | {kernels[0][0][2, 2]:.2f} "
            f"| {kernels[1][0][2, 2]:.2f} | {gap} |",
            flush=True,
        )
    print(f"\nmean: served {np.mean(before):.3f}, with the 5x5 step {np.mean(after):.3f}")


if __name__ == "__main__":
    main()

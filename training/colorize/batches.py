"""Training batches: augmented photos -> (frozen encoder taps, soft-encoded ab targets).

The frozen encoder runs in onnxruntime (about 10x faster than PyTorch's CPU kernels for its
depthwise convolutions), on a background thread, so the decoder trains while the next batch is
prepared. Every batch is a pure function of (seed, step): a resumed run sees the same data.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

from training.colorize.bins import AbBins, lab_from_rgb
from training.colorize.network import EncoderTaps


def export_encoder_taps(taps: EncoderTaps, path: Path) -> None:
    """The frozen encoder (with its L* input normalisation) as ONNX, any batch and size."""
    taps.eval()
    names = taps.names
    dynamic = {"L": {0: "n", 2: "h", 3: "w"}} | {name: {0: "n"} for name in names}
    with torch.no_grad():
        torch.onnx.export(
            taps,
            (torch.full((1, 1, 224, 224), 50.0),),
            str(path),
            input_names=["L"],
            output_names=list(names),
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    taps.eval()


class TapRunner:
    """onnxruntime session of the exported encoder taps."""

    def __init__(self, path: Path, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, ["CPUExecutionProvider"])

    def __call__(self, lightness: np.ndarray) -> list[np.ndarray]:
        outputs: list[np.ndarray] = self._session.run(None, {"L": lightness})
        return outputs


def resize(image: np.ndarray, side: int, height: int | None = None) -> np.ndarray:
    """Resize to side x side (or side wide, height high), area-averaging when shrinking (as
    `inference.colorize.model_input`)."""
    height = side if height is None else height
    shrinking = image.shape[0] >= height and image.shape[1] >= side
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    result: np.ndarray = cv2.resize(image, (side, height), interpolation=interpolation)
    return result


def mosaic(tiles: list[np.ndarray], side: int) -> np.ndarray:
    """k*k photos (RGB) -> one side x side photo of them in a k x k grid, row by row. Cell
    borders fall on multiples of 4 pixels, so no ab target at S/4 mixes two photos."""
    grid = round(len(tiles) ** 0.5)
    if grid * grid != len(tiles) or side % 4:
        raise ValueError(f"{len(tiles)} tiles do not make a square grid of side {side}")
    cuts = [4 * round(side * k / grid / 4) for k in range(grid + 1)]
    result = np.empty((side, side, 3), np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, grid)
        top, bottom, left, right = cuts[row], cuts[row + 1], cuts[column], cuts[column + 1]
        result[top:bottom, left:right] = resize(tile, right - left, bottom - top)
    return result


def sharpen(lightness: np.ndarray, gain: float) -> np.ndarray:
    """Unsharp masking of L* (sigma 1 px): restores the fine contrast an upscaled photo lost."""
    detail = lightness - cv2.GaussianBlur(lightness, (0, 0), 1.0)
    result: np.ndarray = np.clip(lightness + gain * detail, 0.0, 100.0)
    return result


def lightness_and_ab(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 photo -> (L* at size x size, ab at size/4 x size/4)."""
    lab = lab_from_rgb(rgb)
    lightness = resize(np.ascontiguousarray(lab[..., 0]), size)
    ab = cv2.resize(lab[..., 1:], (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    return lightness, ab


SHARPEN_SLOPE = 1.8


@dataclass
class Batch:
    taps: list[torch.Tensor]
    target_index: torch.Tensor  # [P, 5] the 5 nearest bins of every sampled pixel
    target_weight: torch.Tensor  # [P, 5] their Gaussian weights
    pixel_weight: torch.Tensor  # [P] the rebalancing weight of the nearest bin
    points: torch.Tensor  # [P] flat indices of the sampled pixels in [N, h, w]
    size: int


@dataclass(frozen=True)
class BatchRecipe:
    """How step `step` draws and augments its photos."""

    seed: int
    batch_size: int
    sizes: tuple[int, ...]
    size_weights: tuple[float, ...]
    crop_min: float
    sample_fraction: float
    # Served photos are larger than the 144 px training photos: shrunk to S they keep their
    # fine contrast, while an upscaled training crop loses it (about 2.4x less high-frequency
    # energy at S = 224). So a share of the crops is sharpened back, with a gain drawn around
    # SHARPEN_SLOPE * (upscale factor - 1), which matches the served photos' on average.
    sharpen_probability: float = 0.0
    # Full-size photos shrunk to S show people and things far smaller than the 144 px training
    # photos (mostly one close subject) stretched to S: a share of the photos are replaced by a
    # mosaic of 2x2 (or, a third of the time, 3x3) photos, the first the photo drawn, the rest
    # drawn at random, each cropped and flipped as usual and shrunk into its cell.
    mosaic_probability: float = 0.0

    def mosaic_grid(self, rng: np.random.Generator) -> int:
        """0 (a plain photo) or the mosaic's grid side; draws nothing when mosaics are off."""
        if self.mosaic_probability <= 0 or rng.random() >= self.mosaic_probability:
            return 0
        return 3 if rng.random() < 1 / 3 else 2

    def photo_indices(self, step: int, count: int) -> np.ndarray:
        start = step * self.batch_size
        epoch, offset = divmod(start, count)
        order = np.random.default_rng((self.seed, epoch)).permutation(count)
        chosen = order[offset : offset + self.batch_size]
        if chosen.size < self.batch_size:  # the epoch's tail: take the head of the next one
            after = np.random.default_rng((self.seed, epoch + 1)).permutation(count)
            chosen = np.concatenate([chosen, after[: self.batch_size - chosen.size]])
        return chosen

    def augment(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = rgb.shape[:2]
        side = round(min(height, width) * rng.uniform(self.crop_min, 1.0))
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        crop = rgb[top : top + side, left : left + side]
        return np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)

    def sharpen_gain(self, crop_side: int, size: int, rng: np.random.Generator) -> float:
        """0 (no sharpening) or a gain for `sharpen`, drawn per crop."""
        if rng.random() >= self.sharpen_probability or size <= crop_side:
            return 0.0
        return float(rng.uniform(0.5, 1.2) * SHARPEN_SLOPE * (size / crop_side - 1))


class BatchMaker:
    """Builds the batch of any step from the photos in memory."""

    def __init__(
        self,
        pixels: np.ndarray,
        recipe: BatchRecipe,
        bins: AbBins,
        weights: np.ndarray,
        taps: TapRunner,
    ) -> None:
        self.pixels = pixels
        self.recipe = recipe
        self.bins = bins
        self.weights = weights.astype(np.float32)
        self.taps = taps

    def make(self, step: int) -> Batch:
        recipe = self.recipe
        rng = np.random.default_rng((recipe.seed, step, 1))
        probabilities = np.asarray(recipe.size_weights) / sum(recipe.size_weights)
        size = int(rng.choice(recipe.sizes, p=probabilities))
        items = []
        for i in recipe.photo_indices(step, len(self.pixels)):
            grid = recipe.mosaic_grid(rng)
            if grid:
                others = rng.integers(0, len(self.pixels), grid * grid - 1)
                tiles = [recipe.augment(self.pixels[j], rng) for j in (i, *others)]
                items.append(lightness_and_ab(mosaic(tiles, size), size))
                continue
            crop = recipe.augment(self.pixels[i], rng)
            lightness, ab = lightness_and_ab(crop, size)
            gain = recipe.sharpen_gain(crop.shape[0], size, rng)
            items.append((sharpen(lightness, gain) if gain else lightness, ab))
        lightness = np.stack([item[0] for item in items])[:, None].astype(np.float32)
        ab = np.stack([item[1] for item in items])  # [N, h, w, 2]
        pixels_per_photo = ab.shape[1] * ab.shape[2]
        sampled = max(1, int(pixels_per_photo * recipe.sample_fraction))
        points = np.concatenate(
            [
                n * pixels_per_photo + rng.choice(pixels_per_photo, sampled, replace=False)
                for n in range(len(items))
            ]
        )
        index, weight = self.bins.soft_encode(ab.reshape(-1, 2)[points])
        return Batch(
            taps=[torch.from_numpy(t) for t in self.taps(lightness)],
            target_index=torch.from_numpy(index),
            target_weight=torch.from_numpy(weight),
            pixel_weight=torch.from_numpy(self.weights[index[:, 0]]),
            points=torch.from_numpy(points),
            size=size,
        )


def prefetch(maker: BatchMaker, first_step: int, depth: int = 3) -> Iterator[Batch]:
    """The batches of first_step, first_step + 1, ... made on a background thread."""
    ready: queue.Queue[Batch | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        step = first_step
        while not stop.is_set():
            try:
                item: Batch | BaseException = maker.make(step)
            except BaseException as error:  # handed to the consumer, which raises it
                item = error
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return
            step += 1

    worker = threading.Thread(target=produce, name="batches", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)

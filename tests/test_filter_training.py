"""Filter training (needs PyTorch, a dev dependency): the torch twin of the chroma step, and the
whole three-stage recipe on a tiny synthetic pair, down to the exported ONNX file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import torch

from inference.chroma import RADIUS, smooth_chroma
from inference.filters import FilterBank
from training.filters import train
from training.filters.through_chroma import smooth_chroma_torch


def test_torch_twin_matches_the_served_step() -> None:
    rng = np.random.default_rng(3)
    bgr = cv2.GaussianBlur(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8), (3, 3), 0)
    served = smooth_chroma(bgr).astype(np.float32)[RADIUS:-RADIUS, RADIUS:-RADIUS]
    rgb = torch.from_numpy(bgr[:, :, ::-1].astype(np.float32).copy()).permute(2, 0, 1)[None]
    twin = smooth_chroma_torch(rgb)[0].permute(1, 2, 0).numpy()[:, :, ::-1]
    assert twin.shape == served.shape
    assert np.abs(twin - served).max() <= 0.51  # the served step rounds to whole levels


def _synthetic_pair(folder: Path) -> None:
    """A photo and the same photo through a made-up filter (warmer, darker corners), then
    through the chroma step, saved as quality-100 JPEGs."""
    rng = np.random.default_rng(5)
    photo = cv2.resize(rng.integers(0, 256, (12, 14, 3), dtype=np.uint8), (140, 120))
    yy, xx = np.mgrid[-1:1:120j, -1:1:140j]
    vignette = 1 - 0.35 * (xx**2 + yy**2)[:, :, None] / 2
    warm = photo.astype(np.float32) * np.float32([0.85, 1.0, 1.12]) * vignette
    filtered = smooth_chroma(np.clip(warm, 0, 255))
    params = [cv2.IMWRITE_JPEG_QUALITY, 100]
    cv2.imwrite(str(folder / "Normal.jpg"), photo, params)
    cv2.imwrite(str(folder / "Lo-Fi.jpg"), filtered, params)


def test_three_stage_recipe_exports_a_served_filter(tmp_path: Path) -> None:
    data, out, runs = tmp_path / "data", tmp_path / "out", tmp_path / "runs"
    data.mkdir()
    _synthetic_pair(data)
    results = tmp_path / "RESULTS.md"
    argv = ["--out", str(out), "--data", str(data), "--checkpoints", str(runs)]
    argv += ["--results", str(results), "--steps", "300", "--refine-steps", "100"]
    assert train.main([*argv, "--chroma-steps", "150"]) == 0

    metrics = (runs / "Lo-Fi.json").read_text()
    assert '"chroma_steps": 150' in metrics
    model = onnx.load(str(out / "Lo-Fi.onnx"))
    recorded = float({p.key: p.value for p in model.metadata_props}["train_mae"])
    source = cv2.imread(str(data / "Normal.jpg"))
    target = cv2.imread(str(data / "Lo-Fi.jpg")).astype(np.int16)
    served = FilterBank(out).apply("lofi", source).astype(np.int16)
    mae = float(np.abs(served - target).mean())
    assert abs(mae - recorded) < 0.1, (mae, recorded)  # recorded as served, after the step
    assert mae < 4.0
    assert "| Lo-Fi |" in results.read_text()
    # A second run finds every stage done and changes nothing.
    before = (out / "Lo-Fi.onnx").read_bytes()
    assert train.main([*argv, "--chroma-steps", "150"]) == 0
    assert (out / "Lo-Fi.onnx").read_bytes() == before

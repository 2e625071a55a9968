"""The training pairs: `Normal.jpg` and the same photo through each filter (read in place from
`../shared/filter-training/`, never copied)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.filter_features import image_features

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "filter-training"
SOURCE_NAME = "Normal"


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def filter_names(data_dir: Path) -> list[str]:
    names = [p.stem for p in data_dir.glob("*.jpg") if p.stem != SOURCE_NAME]
    return sorted(names, key=str.casefold)


@dataclass(frozen=True)
class TrainingPair:
    name: str
    features: np.ndarray  # (N, 7) float32
    target: np.ndarray  # (N, 3) uint8 RGB
    shape: tuple[int, int]


def load_source(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, RGB image) of the untouched photo."""
    rgb = read_rgb(data_dir / f"{SOURCE_NAME}.jpg")
    return image_features(rgb), rgb


def load_pair(data_dir: Path, name: str, source: tuple[np.ndarray, np.ndarray]) -> TrainingPair:
    features, rgb = source
    target = read_rgb(data_dir / f"{name}.jpg")
    if target.shape != rgb.shape:
        raise ValueError(f"{name}: {target.shape} but the source is {rgb.shape}")
    return TrainingPair(name, features, target.reshape(-1, 3), (rgb.shape[0], rgb.shape[1]))

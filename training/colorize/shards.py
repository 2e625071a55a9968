"""The colour photos of `../shared/colorize-training/`, read straight from its tar shards.

The data set is never copied: the shards are read in place (the folder is overridable with
`--data`), decoded once into memory as RGB uint8 arrays of 144x144.

Validation split, by rule: a photo is in the validation split when the integer value of its
`sha1_16` field in `manifest.tsv` (the first 16 hex digits of the SHA-1 of the stored JPEG) is
divisible by 10 (2,413 of the 23,924 photos); every other photo is in the training split.
The rule depends on the photo's bytes only, so it does not move when shards are repacked.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "colorize-training"
DEFAULT_MODELS_DIR = REPO_ROOT.parent / "shared" / "models"
VALIDATION_MODULUS = 10
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Photo:
    shard: str
    member: str
    category: str
    label: str
    source_key: str
    sha1_16: str

    @property
    def split(self) -> str:
        return "val" if int(self.sha1_16, 16) % VALIDATION_MODULUS == 0 else "train"


def read_manifest(data_dir: Path) -> list[Photo]:
    """Every photo listed in `manifest.tsv`, in file order."""
    photos = []
    with open(data_dir / "manifest.tsv", encoding="utf-8") as manifest:
        for line in manifest:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            shard, member, category, label, source_key = fields[:5]
            photos.append(Photo(shard, member, category, label, source_key, fields[8]))
    return photos


def select_photos(photos: list[Photo], split: str, limit: int | None = None) -> list[Photo]:
    """The photos of one split, in manifest order (the first `limit` of them if given)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    chosen = [photo for photo in photos if photo.split == split]
    return chosen[:limit] if limit is not None else chosen


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> RGB uint8 (H, W, 3)."""
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("undecodable JPEG")
    rgb: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return rgb


def load_photos(data_dir: Path, photos: list[Photo]) -> np.ndarray:
    """The pixels of `photos`, in their order, as one RGB uint8 array (N, 144, 144, 3)."""
    wanted: dict[tuple[str, str], int] = {(p.shard, p.member): i for i, p in enumerate(photos)}
    by_shard: dict[str, set[str]] = {}
    for shard, member in wanted:
        by_shard.setdefault(shard, set()).add(member)
    pixels: np.ndarray | None = None
    found = 0
    for shard in sorted(by_shard):
        with tarfile.open(data_dir / shard, mode="r:") as archive:
            for info in archive:
                index = wanted.get((shard, info.name))
                if index is None:
                    continue
                handle = archive.extractfile(info)
                if handle is None:
                    raise ValueError(f"{shard}/{info.name} is not a regular file")
                rgb = decode_jpeg(handle.read())
                if pixels is None:
                    pixels = np.empty((len(photos), *rgb.shape), dtype=np.uint8)
                pixels[index] = rgb
                found += 1
    if pixels is None or found != len(photos):
        raise FileNotFoundError(f"found {found} of {len(photos)} photos in {data_dir}")
    return pixels


def load_split(
    data_dir: Path, split: str, limit: int | None = None
) -> tuple[list[Photo], np.ndarray]:
    """(photos, RGB uint8 pixels) of one split."""
    photos = select_photos(read_manifest(data_dir), split, limit)
    return photos, load_photos(data_dir, photos)

"""Side-by-side looks at results: the shared test photos (and a frame of each test video),
validation photos spread over the split, and the validation photos the model does worst on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.colorize import Colorizer, lab_from_bgr
from training.colorize.bins import AbBins
from training.colorize.contact import SheetRow
from training.colorize.metrics import AucCurve
from training.colorize.scoring import Scores, grey_of
from training.colorize.shards import load_photos, read_manifest, select_photos

VIDEO_SUFFIXES = {".mp4", ".gif", ".avi", ".mov", ".webm"}
Item = tuple[str, np.ndarray, np.ndarray | None]
"""(label, grey input, colour original or None)."""


def video_frame(path: Path) -> np.ndarray | None:
    """The middle frame of a video (None when OpenCV cannot read it)."""
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.set(cv2.CAP_PROP_POS_FRAMES, max(0, count // 2))
    ok, frame = capture.read()
    capture.release()
    return frame if ok else None


def read_image(path: Path) -> np.ndarray:
    """A photo file as BGR uint8."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    result: np.ndarray = image
    return result


def testdata_photos(folder: Path) -> list[Item]:
    """(label, grey input, colour original or None) for the shared test photos and videos."""
    items: list[Item] = []
    for colour_path in sorted(folder.glob("*_color.*")):
        stem = colour_path.stem.removesuffix("_color")
        original = read_image(colour_path)
        grey_path = folder / f"{stem}_grey.png"
        grey = read_image(grey_path) if grey_path.exists() else grey_of(original)
        items.append((stem, grey, original))
    for bw_path in sorted(folder.glob("*_bw_only.*")):
        items.append((bw_path.stem, read_image(bw_path), None))
    for video in sorted((folder / "video").glob("*")):
        if video.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        frame = video_frame(video)
        if frame is None:
            print(f"skipped {video.name}: OpenCV cannot read it")
            continue
        items.append((f"{video.stem} (frame)", grey_of(frame), frame))
    return items


def sheet_rows(
    colorizer: Colorizer, items: list[Item], bins: AbBins
) -> tuple[list[SheetRow], list[str]]:
    """Rows for a contact sheet, and one report line per photo that has an original."""
    rows, lines = [], []
    for label, grey, original in items:
        result = colorizer.colorize_sync(grey).bgr
        if original is None:
            blank = np.full_like(grey, 255)
            rows.append(SheetRow(f"{label} (no colour original)", (grey, result, blank)))
            continue
        scores = Scores(AucCurve(bins.count))
        scores.add(result, original, bins)
        lines.append(scores.row(label))
        rows.append(SheetRow(label, (grey, result, original)))
    return rows, lines


def validation_items(data_dir: Path, count: int, split: str = "val") -> list[Item]:
    """`count` validation photos spread evenly over the split."""
    photos = select_photos(read_manifest(data_dir), split)
    chosen = [photos[i] for i in np.linspace(0, len(photos) - 1, count).astype(int)]
    pixels = load_photos(data_dir, chosen)
    items: list[Item] = []
    for photo, rgb in zip(chosen, pixels, strict=True):
        original = np.ascontiguousarray(rgb[..., ::-1])
        items.append((f"val {photo.member} {photo.label}", grey_of(original), original))
    return items


def worst_items(
    colorizer: Colorizer, data_dir: Path, count: int, bins: AbBins, limit: int | None = None
) -> list[Item]:
    """The `count` validation photos with the lowest plain AuC (of the first `limit`)."""
    photos = select_photos(read_manifest(data_dir), "val", limit)
    pixels = load_photos(data_dir, photos)
    ranked = []
    for index, rgb in enumerate(pixels):
        original = np.ascontiguousarray(rgb[..., ::-1])
        true_ab = lab_from_bgr(original)[..., 1:]
        result = colorizer.colorize_sync(grey_of(original)).bgr
        curve = AucCurve(bins.count)
        curve.add(lab_from_bgr(result)[..., 1:], true_ab, bins.nearest(true_ab))
        ranked.append((curve.plain(), index))
    items: list[Item] = []
    for _, index in sorted(ranked)[:count]:
        original = np.ascontiguousarray(pixels[index][..., ::-1])
        photo = photos[index]
        items.append((f"worst: val {photo.member} {photo.label}", grey_of(original), original))
    return items

"""Look at the trained filters on photos they never saw, and make the README's example.

    python -m training.filters.contact_sheet                 # sheets to /tmp/filters-*.png
    python -m training.filters.contact_sheet --example docs/filter-lofi.jpg

One sheet per `../shared/testdata/*_color.*` photo: the original and all 40 filters as labelled
thumbnails (served fast path). `--example` also writes a before/after of Lo-Fi, ~1000 px wide.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from inference.filters import FILTER_NAMES, FilterBank

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
THUMB = 180
COLUMNS = 8


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    return out


def thumbnail(bgr: np.ndarray) -> np.ndarray:
    height, width = bgr.shape[:2]
    scale = THUMB / max(height, width)
    small = cv2.resize(bgr, (round(width * scale), round(height * scale)), cv2.INTER_AREA)
    canvas = np.full((THUMB, THUMB, 3), 40, dtype=np.uint8)
    top = (THUMB - small.shape[0]) // 2
    left = (THUMB - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def contact_sheet(bank: FilterBank, photo: np.ndarray) -> np.ndarray:
    tiles = [label(thumbnail(photo), "original")]
    tiles += [label(thumbnail(bank.apply(name, photo)), name) for name in FILTER_NAMES]
    while len(tiles) % COLUMNS:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + COLUMNS]) for i in range(0, len(tiles), COLUMNS)]
    return np.vstack(rows)


def before_after(bank: FilterBank, photo: np.ndarray, name: str, width: int = 1000) -> np.ndarray:
    half = width // 2
    scale = half / photo.shape[1]
    small = cv2.resize(photo, (half, round(photo.shape[0] * scale)), cv2.INTER_AREA)
    return np.hstack([label(small, "before"), label(bank.apply(name, small), name)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp"))
    parser.add_argument("--example", type=Path, help="write the Lo-Fi before/after JPEG here")
    parser.add_argument("--example-photo", default="coffee_color.png")
    args = parser.parse_args()
    bank = FilterBank()
    for path in sorted(TESTDATA.glob("*_color.*")):
        photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if photo is None:
            continue
        out = args.out / f"filters-{path.stem}.png"
        cv2.imwrite(str(out), contact_sheet(bank, photo))
        print(f"wrote {out}")
    if args.example:
        photo = cv2.imread(str(TESTDATA / args.example_photo), cv2.IMREAD_COLOR)
        if photo is None:
            raise SystemExit(f"cannot read {TESTDATA / args.example_photo}")
        args.example.parent.mkdir(parents=True, exist_ok=True)
        pair = before_after(bank, photo, "Lo-Fi")
        cv2.imwrite(str(args.example), pair, [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f"wrote {args.example} ({args.example.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()

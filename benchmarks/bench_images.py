"""Image encode/decode speed, as ratios against baselines run in the same process.

- `encode_jpeg` (OpenCV, quality 92) against Pillow's JPEG encoder at the same settings, on a
  1000 x 1000 photo (a real test photo, upscaled): the measurement behind choosing OpenCV.
- `decode_image` (Pillow + limits + conversion to BGR) against `cv2.imdecode` of the same
  12 MP JPEG: what the safety checks and Pillow cost over OpenCV's bare decoder.

    python -m benchmarks.bench_images [--photo PATH] [--repeats 20]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from inference.images import ImageLimits, decode_image, encode_jpeg

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "rocket_color.jpg"


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def pillow_jpeg(bgr: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    photo = cv2.imread(str(args.photo), cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit(f"cannot read {args.photo}")

    one_mp = cv2.resize(photo, (1000, 1000), interpolation=cv2.INTER_CUBIC)
    ours = best_seconds(lambda: encode_jpeg(one_mp), args.repeats)
    theirs = best_seconds(lambda: pillow_jpeg(one_mp), args.repeats)
    print(
        f"JPEG encode 1 MP q92: OpenCV {ours * 1e3:.2f} ms, Pillow {theirs * 1e3:.2f} ms, "
        f"ratio {ours / theirs:.2f} ({len(encode_jpeg(one_mp))} vs {len(pillow_jpeg(one_mp))} B)"
    )

    twelve_mp = cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    data = encode_jpeg(twelve_mp, max_bytes=20_000_000, max_side_sum=20_000)
    buffer = np.frombuffer(data, np.uint8)
    limits = ImageLimits()
    ours = best_seconds(lambda: decode_image(data, limits), max(3, args.repeats // 4))
    theirs = best_seconds(lambda: cv2.imdecode(buffer, cv2.IMREAD_COLOR), max(3, args.repeats // 4))
    print(
        f"decode 12 MP JPEG: decode_image {ours * 1e3:.1f} ms, cv2.imdecode {theirs * 1e3:.1f} ms, "
        f"ratio {ours / theirs:.2f}"
    )


if __name__ == "__main__":
    main()

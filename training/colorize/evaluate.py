"""Evaluate a colouriser THROUGH the served pipeline, against the grey and mean-ab baselines.

    python -m training.colorize.evaluate --report training/runs/eval.md       # validation split
    python -m training.colorize.evaluate --testdata --sheet training/runs/testdata.png
    python -m training.colorize.evaluate --speed

Every model (ours and the two baselines, which are tiny constant ONNX models with the same
contract) is run by `inference.colorize.Colorizer` on the grey version of each photo (its L*
with a* = b* = 0, as 8-bit BGR), so what is measured is what ships. Metrics (metrics.py): AuC of
the ab-error curve, plain and class-rebalanced (Zhang et al. 2016), colourfulness of the
outputs as a share of the originals' (Hasler and Suesstrunk 2003), PSNR of the RGB outputs.
Needs no torch.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from inference.colorize import Colorizer
from training.colorize.bins import AbBins, AbStats
from training.colorize.contact import contact_sheet
from training.colorize.gallery import (
    read_image,
    sheet_rows,
    testdata_photos,
    validation_items,
    worst_items,
)
from training.colorize.metrics import AucCurve
from training.colorize.scoring import (
    TABLE_HEAD,
    Scores,
    constant_model,
    grey_of,
    load_colorizer,
    print_report,
)
from training.colorize.shards import (
    DEFAULT_DATA_DIR,
    DEFAULT_MODELS_DIR,
    REPO_ROOT,
    load_photos,
    read_manifest,
    select_photos,
)

SHIPPED_MODEL = REPO_ROOT / "inference" / "models" / "colorize-embedded.onnx"
TESTDATA_DIR = REPO_ROOT.parent / "shared" / "testdata"


def colorizers_with_baselines(model: Path, threads: int) -> dict[str, Colorizer]:
    ours = load_colorizer("model", model, threads)
    mean_ab = AbStats.load().mean_ab
    return {
        "model": ours,
        "grey (ab = 0)": load_colorizer("grey", constant_model((0.0, 0.0), ours.size), threads),
        "mean ab": load_colorizer("mean", constant_model(mean_ab, ours.size), threads),
    }


def score_split(
    colorizers: dict[str, Colorizer], data_dir: Path, split: str, limit: int | None, bins: AbBins
) -> tuple[dict[str, Scores], dict[str, Scores]]:
    """Scores of every colouriser on a split, and of the first one per photo category."""
    photos = select_photos(read_manifest(data_dir), split, limit)
    pixels = load_photos(data_dir, photos)
    scores = {name: Scores(AucCurve(bins.count)) for name in colorizers}
    per_category: dict[str, Scores] = defaultdict(lambda: Scores(AucCurve(bins.count)))
    first = next(iter(colorizers))
    for photo, rgb in zip(photos, pixels, strict=True):
        original = np.ascontiguousarray(rgb[..., ::-1])
        grey = grey_of(original)
        for name, colorizer in colorizers.items():
            result = colorizer.colorize_sync(grey).bgr
            scores[name].add(result, original, bins)
            if name == first:
                per_category[photo.category].add(result, original, bins)
    return scores, dict(per_category)


def evaluate_split(
    colorizers: dict[str, Colorizer], data_dir: Path, split: str, limit: int | None, bins: AbBins
) -> str:
    """The markdown report of every colouriser on a split, with the model's scores per category."""
    scores, per_category = score_split(colorizers, data_dir, split, limit, bins)
    model = colorizers["model"]
    meta = model.session.metadata
    lines = [
        f"{split} split: {len(scores['model'].psnr)} photos (144x144), through "
        f"inference.colorize.Colorizer at S = {model.size}, "
        f"T = {meta.get('colorbot.decode_temperature', '?')} ({meta.get('colorbot.version', '?')})",
        "",
        TABLE_HEAD,
        *(score.row(name) for name, score in scores.items()),
        "",
        "Our model by category:",
        "",
        TABLE_HEAD.replace("colouriser", "category"),
        *(per_category[c].row(f"{c} ({len(per_category[c].psnr)})") for c in sorted(per_category)),
    ]
    return "\n".join(lines) + "\n"


def measure_speed(model: Path, threads: int, repeats: int = 30) -> str:
    """Median model call at S and median 1 MP colourise through Colorizer."""
    colorizer = load_colorizer("model", model, threads)
    size = colorizer.size
    item = np.full((1, 1, size, size), 50.0, dtype=np.float32)
    calls = []
    for _ in range(repeats):
        started = time.perf_counter()
        colorizer.session.run_batch(item)
        calls.append(time.perf_counter() - started)
    grey = read_image(TESTDATA_DIR / "rocket_grey.png")
    photo = cv2.resize(grey, (1224, 816), interpolation=cv2.INTER_CUBIC)  # 1.0 MP
    pipeline = []
    for _ in range(repeats // 2):
        started = time.perf_counter()
        colorizer.colorize_sync(photo)
        pipeline.append(time.perf_counter() - started)
    return (
        f"threads={threads}: model call at S={size}: median {1e3 * np.median(calls):.1f} ms; "
        f"1 MP (1224x816) colourise: median {1e3 * np.median(pipeline):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--report", type=Path, help="write the markdown report here")
    parser.add_argument("--testdata", action="store_true", help="the shared test photos")
    parser.add_argument("--testdata-dir", type=Path, default=TESTDATA_DIR)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet (PNG or JPEG)")
    parser.add_argument("--sheet-val", type=int, default=16, help="validation photos on it")
    parser.add_argument("--worst", type=int, default=0, help="worst validation photos on it")
    parser.add_argument("--only", default="", help="comma-separated test photo labels to keep")
    parser.add_argument("--tile", type=int, default=192)
    parser.add_argument("--columns", type=int, default=1)
    parser.add_argument("--speed", action="store_true", help="time the model and the pipeline")
    args = parser.parse_args()
    bins = AbBins.load(args.models)
    if args.speed:
        print(measure_speed(args.model, args.threads))
        return
    if args.testdata:
        items = testdata_photos(args.testdata_dir)
        if args.only:
            keep = args.only.split(",")
            items = [item for item in items if item[0].split(" ")[0] in keep]
        items += validation_items(args.data, args.sheet_val) if args.sheet_val else []
        colorizer = load_colorizer("model", args.model, args.threads)
        if args.worst:
            items += worst_items(colorizer, args.data, args.worst, bins, args.limit)
        rows, lines = sheet_rows(colorizer, items, bins)
        report = "\n".join([TABLE_HEAD.replace("colouriser", "photo"), *lines]) + "\n"
        if args.sheet:
            sheet = contact_sheet(rows, args.tile, args.columns, ("grey input", "ours", "original"))
            args.sheet.parent.mkdir(parents=True, exist_ok=True)
            jpeg = args.sheet.suffix.lower() in {".jpg", ".jpeg"}
            cv2.imwrite(str(args.sheet), sheet, [cv2.IMWRITE_JPEG_QUALITY, 82] if jpeg else [])
            print(f"wrote {args.sheet} ({args.sheet.stat().st_size // 1024} KB)")
    else:
        colorizers = colorizers_with_baselines(args.model, args.threads)
        report = evaluate_split(colorizers, args.data, args.split, args.limit, bins)
    print_report(report, args.report)


if __name__ == "__main__":
    main()

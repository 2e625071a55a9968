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
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from inference.colorize import Colorizer, bgr_from_lab, lab_from_bgr
from inference.sessions import ModelSession
from training.colorize.bins import AbBins, AbStats
from training.colorize.contact import SheetRow, contact_sheet
from training.colorize.metrics import AucCurve, colourfulness, psnr
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


def constant_model(ab: tuple[float, float], size: int) -> bytes:
    """A colouriser with the model contract that answers the same ab everywhere."""
    lightness = helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, size, size])
    out = helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, 1, 1])
    value = helper.make_tensor("value", TensorProto.FLOAT, [1, 2, 1, 1], list(ab))
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    nodes = [
        helper.make_node("ReduceMean", ["L"], ["m"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["z", "value"], ["ab"]),
    ]
    graph = helper.make_graph(nodes, "constant_ab", [lightness], [out], [value, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "colorbot.input_size", str(size)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def load_colorizer(name: str, model: Path | bytes, threads: int) -> Colorizer:
    session = ModelSession(name, model, threads=threads, warmup_shape=Colorizer.warmup_shape)
    return Colorizer(session)


def colorizers_with_baselines(model: Path, threads: int) -> dict[str, Colorizer]:
    ours = load_colorizer("model", model, threads)
    mean_ab = AbStats.load().mean_ab
    return {
        "model": ours,
        "grey (ab = 0)": load_colorizer("grey", constant_model((0.0, 0.0), ours.size), threads),
        "mean ab": load_colorizer("mean", constant_model(mean_ab, ours.size), threads),
    }


def grey_of(bgr: np.ndarray) -> np.ndarray:
    """The photo as a grey 8-bit BGR image: its L* with a* = b* = 0 (like testdata/*_grey)."""
    lab = lab_from_bgr(bgr)
    lab[..., 1:] = 0
    return bgr_from_lab(lab)


@dataclass
class Scores:
    curve: AucCurve = field(default_factory=AucCurve)
    colourfulness: list[float] = field(default_factory=list)
    original_colourfulness: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)

    def add(self, result: np.ndarray, original: np.ndarray, bins: AbBins) -> None:
        true_ab = lab_from_bgr(original)[..., 1:]
        self.curve.add(lab_from_bgr(result)[..., 1:], true_ab, bins.nearest(true_ab))
        self.colourfulness.append(colourfulness(result[..., ::-1]))
        self.original_colourfulness.append(colourfulness(original[..., ::-1]))
        self.psnr.append(psnr(result, original))

    def row(self, name: str) -> str:
        share = 100 * np.mean(self.colourfulness) / np.mean(self.original_colourfulness)
        return (
            f"| {name} | {self.curve.plain():.1f} | {self.curve.rebalanced():.1f} "
            f"| {share:.0f} % | {np.mean(self.psnr):.2f} |"
        )


TABLE_HEAD = (
    "| colouriser | AuC plain | AuC rebalanced | colourfulness (% of originals') | PSNR dB |\n"
    "|---|---:|---:|---:|---:|"
)


def evaluate_split(
    colorizers: dict[str, Colorizer], data_dir: Path, split: str, limit: int | None, bins: AbBins
) -> str:
    """The markdown report of every colouriser on a split, with the model's scores per category."""
    photos = select_photos(read_manifest(data_dir), split, limit)
    pixels = load_photos(data_dir, photos)
    scores = {name: Scores(AucCurve(bins.count)) for name in colorizers}
    per_category: dict[str, Scores] = defaultdict(lambda: Scores(AucCurve(bins.count)))
    for photo, rgb in zip(photos, pixels, strict=True):
        original = np.ascontiguousarray(rgb[..., ::-1])
        grey = grey_of(original)
        for name, colorizer in colorizers.items():
            result = colorizer.colorize_sync(grey).bgr
            scores[name].add(result, original, bins)
            if name == "model":
                per_category[photo.category].add(result, original, bins)
    model = colorizers["model"]
    meta = model.session.metadata
    lines = [
        f"{split} split: {len(photos)} photos (144x144), through inference.colorize.Colorizer "
        f"at S = {model.size}, T = {meta.get('colorbot.decode_temperature', '?')} "
        f"({meta.get('colorbot.version', '?')})",
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


def video_frame(path: Path) -> np.ndarray | None:
    """The middle frame of a video (None when OpenCV cannot read it)."""
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.set(cv2.CAP_PROP_POS_FRAMES, max(0, count // 2))
    ok, frame = capture.read()
    capture.release()
    return frame if ok else None


def testdata_photos(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(label, grey input, colour original or None) for the shared test photos and videos."""
    items: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for colour_path in sorted(folder.glob("*_color.*")):
        stem = colour_path.stem.removesuffix("_color")
        original = cv2.imread(str(colour_path))
        grey = cv2.imread(str(folder / f"{stem}_grey.png"))
        items.append((stem, grey if grey is not None else grey_of(original), original))
    for bw_path in sorted(folder.glob("*_bw_only.*")):
        items.append((bw_path.stem, cv2.imread(str(bw_path)), None))
    for video in sorted((folder / "video").glob("*")):
        frame = video_frame(video)
        if frame is None:
            print(f"skipped {video.name}: OpenCV cannot read it")
            continue
        items.append((f"{video.stem} (frame)", grey_of(frame), frame))
    return items


def sheet_rows(
    colorizer: Colorizer, items: list[tuple[str, np.ndarray, np.ndarray | None]], bins: AbBins
) -> tuple[list[SheetRow], list[str]]:
    """Rows for a contact sheet, and one report line per photo that has an original."""
    rows, lines = [], []
    for label, grey, original in items:
        result = colorizer.colorize_sync(grey).bgr
        if original is None:
            rows.append(SheetRow(f"{label} (no colour original)", (grey, result)))
            continue
        scores = Scores(AucCurve(bins.count))
        scores.add(result, original, bins)
        lines.append(scores.row(label))
        rows.append(SheetRow(label, (grey, result, original)))
    return rows, lines


def validation_items(
    data_dir: Path, count: int, split: str = "val"
) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """`count` validation photos spread evenly over the split."""
    photos = select_photos(read_manifest(data_dir), split)
    chosen = [photos[i] for i in np.linspace(0, len(photos) - 1, count).astype(int)]
    pixels = load_photos(data_dir, chosen)
    items: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for photo, rgb in zip(chosen, pixels, strict=True):
        original = np.ascontiguousarray(rgb[..., ::-1])
        items.append((f"val {photo.member} {photo.label}", grey_of(original), original))
    return items


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
    photo = cv2.imread(str(TESTDATA_DIR / "rocket_grey.png"))
    photo = cv2.resize(photo, (1224, 816), interpolation=cv2.INTER_CUBIC)  # 1.0 MP
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
        rows, lines = sheet_rows(load_colorizer("model", args.model, args.threads), items, bins)
        report = "\n".join([TABLE_HEAD.replace("colouriser", "photo"), *lines]) + "\n"
        if args.sheet:
            sheet = contact_sheet(rows, args.tile, args.columns, ("grey input", "ours", "original"))
            args.sheet.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.sheet), sheet, [cv2.IMWRITE_JPEG_QUALITY, 82])
            print(f"wrote {args.sheet} ({args.sheet.stat().st_size // 1024} KB)")
    else:
        colorizers = colorizers_with_baselines(args.model, args.threads)
        report = evaluate_split(colorizers, args.data, args.split, args.limit, bins)
    print(report)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()

"""Colourisation speed: the embedded model against the ECCV16 network, in the same process.

For each model: the model call alone at its working size (the input `Colorizer` gives a
1000 x 1000 photo, through `ModelSession.run_batch`) and the whole 1 MP pipeline
(`Colorizer.colorize_sync` on a 1000 x 1000 grey photo: Lab conversion, resize, model, ab
upsampling, merge), median of `--repeats` runs after one warm-up, then the ratios embedded /
baseline. The chroma upsampling alone (`merge_ab`, edge-aware against bilinear) is timed too.

`--previous PATH` also times another model file the way the service served it before
(squashed to S x S, bilinear upsampling), e.g. the embedded-v1 model it replaced
(`git show 148b8b8:inference/models/colorize-embedded.onnx > training/runs/embedded-v1.onnx`),
and prints the ratios embedded / previous.

The baseline is ECCV16 (what the forebear bot served) as `colorbot models pull eccv16` builds
it: the converter (`inference.conversions.convert_state_dict`) run on a seeded random-weight
state_dict of the published structure. Speed does not depend on the weights. The embedded
model is `inference/models/colorize-embedded.onnx`; while it is absent only the baseline runs.

    python -m benchmarks.bench_colorize [--repeats 20] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from inference.chroma_upsampling import BILINEAR, ChromaUpsampling
from inference.colorize import EDGE_AWARE, Colorizer, merge_ab, prepare
from inference.conversions import convert_state_dict
from inference.onnx_graph import Norm, StateDict
from inference.registry import colorize_model_spec
from inference.sessions import ModelSession
from inference.zhang_eccv16 import LAYERS

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTO = SHARED / "testdata" / "astronaut_grey.png"
PTS_IN_HULL = SHARED / "models" / "pts_in_hull.npy"
ONE_MP = (1000, 1000)


def random_eccv16_state(seed: int = 0) -> StateDict:
    """A state_dict with the published ECCV16 keys and shapes, He-scaled random weights."""
    rng = np.random.default_rng(seed)
    state: StateDict = {}
    for layer in LAYERS:
        for key, shape in layer.shapes().items():
            if isinstance(layer, Norm):
                positive = key.endswith(("weight", "running_var"))
                value = 0.5 + rng.random(shape) if positive else 0.1 * rng.standard_normal(shape)
            elif key.endswith("bias"):
                value = 0.05 * rng.standard_normal(shape)
            else:
                fan_in = int(np.prod(shape[1:]))
                value = np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)
            state[key] = value.astype(np.float32)
    if PTS_IN_HULL.is_file():
        bins = np.load(PTS_IN_HULL).astype(np.float32)
        state["model_out.weight"] = (bins.T / 110.0)[..., np.newaxis, np.newaxis]
    return state


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def one_mp_photo() -> np.ndarray:
    grey = cv2.imread(str(PHOTO), cv2.IMREAD_GRAYSCALE) if PHOTO.is_file() else None
    if grey is None:
        y, x = np.mgrid[0:512, 0:512]
        grey = (128 + 100 * np.sin(x / 23.0) * np.cos(y / 37.0)).astype(np.uint8)
    big = cv2.resize(grey, ONE_MP, interpolation=cv2.INTER_CUBIC)
    bgr: np.ndarray = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    return bgr


def measure(
    name: str,
    model: Path | bytes,
    photo: np.ndarray,
    repeats: int,
    threads: int,
    upsampling: ChromaUpsampling = EDGE_AWARE,
) -> dict:
    session = ModelSession(name, model, threads=threads, warmup_shape=Colorizer.warmup_shape)
    try:
        colorizer = Colorizer(session, upsampling=upsampling)
        _, item, _ = prepare(photo, colorizer.size, colorizer.stride)
        batch = item[np.newaxis]
        model_ms = median_ms(lambda: session.run_batch(batch), repeats)
        pipeline_ms = median_ms(lambda: colorizer.colorize_sync(photo), repeats)
    finally:
        session.close()
    shape = "x".join(str(d) for d in item.shape[1:])
    return {"name": name, "size": shape, "model_ms": model_ms, "pipeline_ms": pipeline_ms}


def upsampling_ms(photo: np.ndarray, repeats: int) -> dict[str, float]:
    """merge_ab alone on the 1 MP photo from ab at 56 x 56 (what S = 224 predicts)."""
    lightness, _, _ = prepare(photo, 224)
    ab = np.random.default_rng(0).uniform(-40, 40, (2, 56, 56)).astype(np.float32)
    return {
        name: median_ms(lambda u=upsampling: merge_ab(lightness, ab, u), repeats)
        for name, upsampling in (("bilinear", BILINEAR), ("edge-aware", EDGE_AWARE))
    }


def ratio_line(ours: dict, base: dict) -> str:
    model_ratio = ours["model_ms"] / base["model_ms"]
    pipeline_ratio = ours["pipeline_ms"] / base["pipeline_ms"]
    return (
        f"ratio {ours['name']} / {base['name']}: model call {model_ratio:.3f} "
        f"({1 / model_ratio:.1f}x faster), 1 MP pipeline {pipeline_ratio:.3f} "
        f"({1 / pipeline_ratio:.1f}x faster)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    parser.add_argument("--previous", type=Path, help="also time this model as served before")
    args = parser.parse_args()
    photo = one_mp_photo()
    print(
        f"colourisation, median of {args.repeats}; onnxruntime {ort.__version__}, "
        f"{os.cpu_count()} CPUs, threads={args.threads}, 1 MP = {ONE_MP[0]}x{ONE_MP[1]}"
    )
    started = time.perf_counter()
    baseline_model = convert_state_dict("eccv16", random_eccv16_state())
    print(f"baseline ECCV16 converted in {time.perf_counter() - started:.1f} s")
    rows = [measure("eccv16 (baseline)", baseline_model, photo, args.repeats, args.threads)]
    embedded = colorize_model_spec("embedded").path(Path())
    if embedded.is_file():
        rows.append(measure("embedded", embedded, photo, args.repeats, args.threads))
    else:
        print(f"embedded model: {embedded} is absent; timing the baseline only")
    if args.previous:
        rows.append(measure("previous", args.previous, photo, args.repeats, args.threads, BILINEAR))
    print(f"{'model':<20} {'input':>8} {'model call':>12} {'1 MP pipeline':>14}")
    for row in rows:
        print(
            f"{row['name']:<20} {row['size']:>8} {row['model_ms']:>9.2f} ms "
            f"{row['pipeline_ms']:>11.1f} ms"
        )
    by_name = {row["name"]: row for row in rows}
    if "embedded" in by_name:
        print(ratio_line(by_name["embedded"], rows[0]))
        if "previous" in by_name:
            print(ratio_line(by_name["embedded"], by_name["previous"]))
    merge = upsampling_ms(photo, args.repeats)
    print(
        f"chroma upsampling + merge (merge_ab) per 1 MP: bilinear {merge['bilinear']:.1f} ms, "
        f"edge-aware {merge['edge-aware']:.1f} ms"
    )


if __name__ == "__main__":
    main()

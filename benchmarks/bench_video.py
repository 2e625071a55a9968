"""Video colourisation: flicker, accuracy, cuts, speed and memory, frame-by-frame vs ours.

Each clip is colourised twice by the same engine (`inference.video.ClipRun`, the shipped
embedded model, the same decode and encode): once frame by frame (`stabilise=False`, what
DeOldify-style tools do) and once with the temporal filter (ours). The results are decoded
again and compared with the original colour clip (see `benchmarks.video_metrics`):

- flicker ratio: mean |ab(t) - ab(t-1)| at 64x64 over the same of the original (target <= 1.5);
- warp error: ab difference between frame t and t-1 warped by the original's flow, visible
  pixels only (the original's own value is its floor);
- AuC (%) of the ab error on every 4th frame (target: ours within 1 point of frame-by-frame);
- post-cut: the mean error of the 3 frames after each cut over the clip mean (target <= 1.25);
- ms per frame by stage (decode, model, flow, colour = Lab conversion and merge, encode);
- real-time factor on Big Buck Bunny at 640x360 25 fps (target >= 1 on 2 cores);
- peak RSS of a child process colourising a 60 s 720p clip (target < 1 GB).

The machine's load average is printed with the results: the numbers are only comparable to
a run on an equally quiet machine.

    python -m benchmarks.bench_video [--threads 0] [--skip-long] [--skip-clips] [--only NAME]
                                     [--out artifacts/bench_video]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.video_clips import BenchClip, long_720p, made_clips, real_clips, scaled_bunny
from benchmarks.video_metrics import OriginalFlow, ab_errors, auc, flicker, post_cut_ratio
from inference.colorize import Colorizer, lab_from_bgr
from inference.pipeline import COLORIZE
from inference.registry import PACKAGE_MODEL_DIR, colorize_model_spec
from inference.sessions import ModelSession
from inference.video import ClipRun, VideoLimits, VideoResult, probe_media
from inference.video.temporal import histogram_distance

METRIC_SIDE = 320
CUT_DISTANCE = 0.4


def load_colorizer(threads: int) -> Colorizer:
    path = PACKAGE_MODEL_DIR / colorize_model_spec("embedded").filename
    session = ModelSession("embedded", path, threads=threads, warmup_shape=Colorizer.warmup_shape)
    return Colorizer(session)


def colourise(colorizer: Colorizer, source: Path, output: Path, *, stabilise: bool) -> VideoResult:
    limits = VideoLimits()
    info = probe_media(source, limits)
    kind = "gif" if info.kind == "gif" else "mp4"
    output.parent.mkdir(parents=True, exist_ok=True)
    run = ClipRun(
        source,
        output.with_suffix(f".{kind}"),
        info,
        limits,
        operation=COLORIZE,
        colorizer=colorizer,
        stabilise=stabilise,
    )
    while not run.step(16):
        pass
    return run.finish()


def decoded(path: Path, side: int = METRIC_SIDE) -> list[np.ndarray]:
    """Every frame, scaled to at most `side` wide (enough for the metrics), BGR."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            scale = min(1.0, side / frame.width)
            width, height = round(frame.width * scale), round(frame.height * scale)
            frames.append(frame.reformat(width=width, height=height, format="bgr24").to_ndarray())
    return frames


def same_size(frames: list[np.ndarray], like: np.ndarray) -> list[np.ndarray]:
    height, width = like.shape[:2]
    return [
        f if f.shape[:2] == (height, width) else cv2.resize(f, (width, height), cv2.INTER_AREA)
        for f in frames
    ]


def detected_cuts(frames: list[np.ndarray]) -> tuple[int, ...]:
    lightness = [lab_from_bgr(cv2.resize(f, (160, 90)))[..., 0] for f in frames]
    return tuple(
        i
        for i in range(1, len(frames))
        if histogram_distance(lightness[i - 1], lightness[i]) > CUT_DISTANCE
    )


@dataclass
class Row:
    name: str
    frames: int
    original_flicker: float
    flicker: dict[str, float]
    warp: dict[str, float]
    auc: dict[str, float]
    post_cut: dict[str, float]
    cuts: tuple[int, ...]
    ms: dict[str, dict[str, float]]
    model_runs: int
    outputs: dict[str, list[np.ndarray]]
    original: list[np.ndarray]


def measure(clip: BenchClip, colorizer: Colorizer, out_dir: Path) -> Row:
    original = decoded(clip.path)
    cuts = clip.cuts or detected_cuts(original)
    flow = OriginalFlow(original)
    base_flicker = flicker(original)
    row = Row(clip.name, len(original), base_flicker, {}, {}, {}, {}, cuts, {}, 0, {}, original)
    row.warp["original"] = flow.warp_error(original)
    for mode, stabilise in (("frame", False), ("ours", True)):
        result = colourise(
            colorizer, clip.path, out_dir / f"{clip.path.stem}-{mode}", stabilise=stabilise
        )
        frames = same_size(decoded(result.path), original[0])
        assert len(frames) == len(original), (clip.name, len(frames), len(original))
        row.outputs[mode] = frames
        row.flicker[mode] = flicker(frames) / max(base_flicker, 1e-6)
        row.warp[mode] = flow.warp_error(frames)
        row.auc[mode] = auc(frames, original)
        if cuts:
            row.post_cut[mode] = post_cut_ratio(ab_errors(frames, original), cuts)
        row.ms[mode] = {k: 1000 * v / result.frames for k, v in result.stage_seconds.items()}
        if stabilise:
            row.model_runs = result.model_runs
    return row


def contact_sheet(row: Row, indices: list[int], path: Path, cut: int | None = None) -> Path:
    """Rows: the original, frame by frame, ours; columns: the frames at `indices`."""
    indices = [i for i in indices if 0 <= i < row.frames]
    lines = [
        ("original", row.original),
        ("frame by frame", row.outputs["frame"]),
        ("ours", row.outputs["ours"]),
    ]
    tiles = []
    for label, frames in lines:
        strip = np.hstack(
            [
                cv2.copyMakeBorder(
                    frames[i], 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255)
                )
                for i in indices
            ]
        )
        band = np.full((22, strip.shape[1], 3), 255, np.uint8)
        cv2.putText(band, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([band, strip]))
    head = np.full((22, tiles[0].shape[1], 3), 255, np.uint8)
    width = indices and tiles[0].shape[1] // len(indices)
    for column, index in enumerate(indices):
        text = f"t={index}" + (" (cut)" if index == cut else "")
        cv2.putText(
            head,
            text,
            (column * width + 6, 16),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 200) if index == cut else (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([head, *tiles]))
    return path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_child(source: Path, output: Path, threads: int) -> None:
    """Runs in its own process: colourise `source`, print JSON with the peak RSS."""
    colorizer = load_colorizer(threads)
    started = time.perf_counter()
    result = colourise(colorizer, source, output, stabilise=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "peak_rss_mb": peak_kb / 1024,
                "seconds": time.perf_counter() - started,
                "frames": result.frames,
                "duration": result.duration,
                "ms": {k: 1000 * v / result.frames for k, v in result.stage_seconds.items()},
            }
        )
    )


def print_rows(rows: list[Row]) -> None:
    print(
        "\n| clip | frames | flicker ratio frame / ours | warp error original / frame / ours "
        "| AuC frame / ours | post-cut frame / ours (cuts) | model runs |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        post = (
            f"{r.post_cut['frame']:.2f} / {r.post_cut['ours']:.2f} {list(r.cuts)}"
            if r.cuts
            else "no cut"
        )
        print(
            f"| {r.name} | {r.frames} | {r.flicker['frame']:.2f} / **{r.flicker['ours']:.2f}** "
            f"| {r.warp['original']:.2f} / {r.warp['frame']:.2f} / **{r.warp['ours']:.2f}** "
            f"| {r.auc['frame']:.1f} / {r.auc['ours']:.1f} | {post} | {r.model_runs} |"
        )
    print("\nms per frame by stage (ours):")
    print("| clip | decode | model | flow | colour | encode | total |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ms = r.ms["ours"]
        parts = [ms.get(k, 0.0) for k in ("decode", "model", "flow", "colour", "encode")]
        print(f"| {r.name} | " + " | ".join(f"{v:.1f}" for v in parts) + f" | {sum(parts):.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    parser.add_argument("--out", type=Path, default=Path("artifacts/bench_video"))
    parser.add_argument("--skip-long", action="store_true", help="no 60 s 720p memory run")
    parser.add_argument(
        "--skip-clips", action="store_true", help="only the real-time and memory runs"
    )
    parser.add_argument("--only", help="run only the clips whose name contains this")
    parser.add_argument("--rss-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(*args.rss_child, args.threads)
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(
        f"cores: {os.cpu_count()}, load average before: {load_before[0]:.2f} "
        f"{load_before[1]:.2f} {load_before[2]:.2f}"
    )
    colorizer = load_colorizer(args.threads)
    clips = [] if args.skip_clips else [*real_clips(), *made_clips(out / "clips")]
    if args.only:
        clips = [c for c in clips if args.only in c.name]
    rows = []
    for clip in clips:
        started = time.perf_counter()
        rows.append(measure(clip, colorizer, out / "results"))
        print(f"  {clip.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if rows:
        print_rows(rows)
    for row in rows:
        name = row.name.replace(": ", "-")
        for cut in row.cuts[:1]:
            sheet = contact_sheet(row, list(range(cut - 3, cut + 3)), out / f"cut-{name}.png", cut)
            print(f"contact sheet around the cut at frame {cut} of {row.name}: {sheet}")
        if row.name == "bigbuckbunny":
            sheet = contact_sheet(row, [60, 61, 62, 100, 101, 102], out / f"frames-{name}.png")
            print(f"contact sheet of frames 60-62 and 100-102 of {row.name}: {sheet}")
    if not args.only:
        bunny = scaled_bunny(out / "clips")
        for mode, stabilise in (("frame by frame", False), ("ours", True)):
            cpu = cpu_seconds()
            result = colourise(colorizer, bunny, out / "results" / "bunny640", stabilise=stabilise)
            cpu = cpu_seconds() - cpu
            ms = {k: 1000 * v / result.frames for k, v in result.stage_seconds.items()}
            print(
                f"\nreal time ({mode}), Big Buck Bunny 640x360 25 fps, {result.duration:.1f} s "
                f"with sound: {result.seconds:.2f} s, {result.duration / result.seconds:.2f}x "
                f"real time ({1000 * result.seconds / result.frames:.1f} ms/frame: "
                + ", ".join(f"{k} {v:.1f}" for k, v in ms.items())
                + f"; CPU time, all threads: {1000 * cpu / result.frames:.1f} ms/frame)"
            )
    if not args.skip_long and not args.only:
        source = long_720p(out / "clips")
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_video",
                "--threads",
                str(args.threads),
                "--rss-child",
                str(source),
                str(out / "results" / "long"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"60 s 720p in a child process: peak RSS {report['peak_rss_mb']:.0f} MB, "
            f"{report['seconds']:.1f} s for {report['frames']} frames "
            f"({report['duration'] / report['seconds']:.2f}x real time; ms/frame "
            + ", ".join(f"{k} {v:.1f}" for k, v in report["ms"].items())
            + ")"
        )
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

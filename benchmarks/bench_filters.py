"""Filter speed: the baked fast path against the same network evaluated the naive way, in the
same process.

On a 1-megapixel photo (astronaut_color.png resized to 1000 x 1000), for each chosen filter:
the median time of `FilterBank.apply` (baked colour and position tables read with OpenCV, then
the chroma step; the step's own share is shown beside it) and of `FilterBank.apply_naive`
(float32 per-pixel features in numpy fed to the plain network in onnxruntime, the way the
filters were trained, then the same step), their ratio, and the largest and mean absolute
difference between the two outputs in 8-bit levels. Also the one-off cost of baking all 40
filters and the memory their tables take. Times are wall-clock medians with the process's CPU
time beside them: on a shared machine the wall clock also counts other people's load.

    python -m benchmarks.bench_filters [--repeats 15] [--threads 2] [--filters Lo-Fi,Clarendon]
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

from inference.chroma import smooth_chroma
from inference.filters import FILTER_NAMES, FilterBank

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "astronaut_color.png"
ONE_MP = (1000, 1000)


def median_ms(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median CPU (all threads of this process) milliseconds."""
    run()  # warm up
    times, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return statistics.median(times) * 1e3, statistics.median(cpu) * 1e3


def one_mp_photo() -> np.ndarray:
    bgr = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR) if PHOTO.is_file() else None
    if bgr is None:
        y, x = np.mgrid[0:512, 0:512]
        bgr = np.stack([x / 2, y / 2, (x + y) / 4], axis=2).astype(np.uint8)
    return np.asarray(cv2.resize(bgr, ONE_MP, interpolation=cv2.INTER_CUBIC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime and OpenCV threads")
    parser.add_argument("--filters", default="Lo-Fi,Earlybird,Clarendon,Inkwell")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    photo = one_mp_photo()
    print(
        f"filters on a {ONE_MP[0]}x{ONE_MP[1]} photo, median of {args.repeats}; "
        f"onnxruntime {ort.__version__}, OpenCV {cv2.__version__}, {os.cpu_count()} CPUs, "
        f"threads={args.threads}"
    )
    bank = FilterBank(threads=args.threads)
    started = time.perf_counter()
    table_bytes = bank.warm(FILTER_NAMES)
    print(
        f"baking all {len(FILTER_NAMES)} filters: {time.perf_counter() - started:.2f} s, "
        f"tables {table_bytes / 2**20:.0f} MiB"
    )
    print("wall ms (CPU ms, all threads: what the machine's other load cannot inflate)")
    print(
        f"{'filter':<10} {'position':>8} {'fast':>16} {'(step)':>7} {'naive':>18} {'ratio':>7} "
        f"{'max diff':>9} {'mean diff':>10}"
    )
    for name in args.filters.split(","):
        fast_ms, fast_cpu = median_ms(lambda n=name: bank.apply(n, photo), args.repeats)
        network = bank.apply_network(name, photo)
        step_ms, _ = median_ms(lambda out=network: smooth_chroma(out), args.repeats)
        naive_ms, naive_cpu = median_ms(
            lambda n=name: bank.apply_naive(n, photo), max(3, args.repeats // 3)
        )
        diff = np.abs(
            bank.apply(name, photo).astype(np.int16) - bank.apply_naive(name, photo)
        ).astype(np.float64)
        print(
            f"{name:<10} {'yes' if bank.position_terms(name) else 'no':>8} "
            f"{fast_ms:>6.1f} ({fast_cpu:>5.1f}) ms {step_ms:>7.1f} "
            f"{naive_ms:>7.1f} ({naive_cpu:>6.1f}) ms "
            f"{naive_ms / fast_ms:>6.1f}x {diff.max():>9.0f} {diff.mean():>10.3f}"
        )


if __name__ == "__main__":
    main()

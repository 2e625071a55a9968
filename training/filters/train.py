"""Train the 40 filter networks from `../shared/filter-training/` and export them to ONNX.

Usage (needs the `train` extra, i.e. PyTorch; 4-7 minutes per filter on one busy core, and
filters can be trained in parallel shards with `--only`):

    python -m training.filters.train --out inference/models/filters
    python -m training.filters.train --out inference/models/filters --only Lo-Fi,Earlybird
    python -m training.filters.train --out /tmp/f --steps 500      # a quick smoke run

Every filter gets the same recipe (`FitConfig`, seed 0, deterministic on the CPU): two
`FilterNet`s, one colour-only and one with a position term, each trained with a clipped L1
loss on every pixel of its training pair. Unless the position term beats the colour-only net
by `--position-gain` levels of mean absolute error, the filter ships as the plain colour map,
which bakes into one small table and cannot fit content by where it is. The shipped variant is
then trained on (`REFINE`: 1500 more steps, larger batches, lower rate), and finally through
the chroma step serving applies after it (`through_chroma`: 1500 steps on random crops, the
loss taken after `inference.chroma.smooth_chroma`). Finished stages are checkpointed under
`training/runs/filters/` (weights + metrics); a re-run skips them unless `--force`, so an
interrupted run loses at most one filter. At the end the per-filter table of mean absolute
error in 8-bit levels (network, shipped fast path, and their largest difference) is written
to `training/filters/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch

from inference.chroma import smooth_chroma
from inference.filters import FilterBank
from training.filters.data import (
    DEFAULT_DATA,
    TrainingPair,
    filter_names,
    load_pair,
    load_source,
)
from training.filters.export import build_onnx
from training.filters.fitting import REFINE, FitConfig, fit, mean_abs_error, predict
from training.filters.model import FilterNet, load_weights
from training.filters.report import FilterResult, write_results
from training.filters.through_chroma import ChromaConfig, fit_through_chroma

log = logging.getLogger("training.filters")
ROOT = Path(__file__).resolve().parents[2]


def train_one(
    pair_name: str, source: tuple[np.ndarray, np.ndarray], args: argparse.Namespace
) -> dict[str, object]:
    """Train both variants, choose, export; returns the metrics (also the checkpoint)."""
    checkpoint = args.checkpoints / f"{pair_name}.json"
    out_path = args.out / f"{pair_name}.onnx"
    if checkpoint.exists() and out_path.exists() and not args.force:
        log.info("%s: done before (checkpoint %s)", pair_name, checkpoint)
        metrics: dict[str, object] = json.loads(checkpoint.read_text())
        return metrics
    pair = load_pair(args.data, pair_name, source)
    started = time.perf_counter()
    nets, maes = [], []
    for terms in (0, 1):
        config = FitConfig(terms=terms, steps=args.steps, seed=args.seed)
        net = fit(pair.features, pair.target, config, log=log.info)
        nets.append(net)
        maes.append(mean_abs_error(predict(net, pair.features), pair.target))
        np.savez(args.checkpoints / f"{pair_name}-{terms}.npz", **net.weights())
    seconds = time.perf_counter() - started
    terms = 1 if maes[0] - maes[1] >= args.position_gain else 0
    log.info(
        "%s: MAE %.3f colour only, %.3f with position (%.0f s) -> %s",
        pair_name, maes[0], maes[1], seconds, "position" if terms else "colour only",
    )  # fmt: skip
    model = build_onnx(nets[terms].weights(), terms=terms, name=pair_name, train_mae=maes[terms])
    args.out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_path))
    metrics = {
        "name": pair_name,
        "terms": terms,
        "mae_colour_only": maes[0],
        "mae_position": maes[1],
        "seconds": seconds,
        "config": asdict(FitConfig(steps=args.steps, seed=args.seed)),
    }
    checkpoint.write_text(json.dumps(metrics, indent=1))
    return metrics


def stage_done(metrics: dict[str, object], key: str, steps: int) -> bool:
    """Whether a later stage is switched off (`steps` <= 0) or already ran that many steps."""
    return steps <= 0 or int(str(metrics.get(key, 0))) >= steps


def shipped_checkpoint(args: argparse.Namespace, metrics: dict[str, object]) -> tuple[int, Path]:
    """(position terms, weights file) of the variant stage one chose to ship."""
    terms = int(str(metrics["terms"]))
    return terms, args.checkpoints / f"{metrics['name']}-{terms}.npz"


def load_net(terms: int, checkpoint: Path) -> FilterNet:
    return load_weights(FilterNet(terms), dict(np.load(checkpoint)))


def refine_one(
    pair_name: str,
    source: tuple[np.ndarray, np.ndarray],
    metrics: dict[str, object],
    args: argparse.Namespace,
) -> dict[str, object]:
    """Stage two: train the shipped variant on (`REFINE`); keep it if it got better."""
    if stage_done(metrics, "refine_steps", args.refine_steps):
        return metrics
    terms, checkpoint = shipped_checkpoint(args, metrics)
    before = float(str(metrics["mae_position" if terms else "mae_colour_only"]))
    pair = load_pair(args.data, pair_name, source)
    config = replace(REFINE, terms=terms, steps=args.refine_steps, seed=args.seed)
    started = time.perf_counter()
    net = fit(pair.features, pair.target, config, log.info, start=load_net(terms, checkpoint))
    mae = mean_abs_error(predict(net, pair.features), pair.target)
    seconds = time.perf_counter() - started
    log.info("%s: refined %.3f -> %.3f (%.0f s)", pair_name, before, mae, seconds)
    metrics = {**metrics, "refine_steps": args.refine_steps, "mae_before_refine": before}
    metrics["seconds"] = float(str(metrics["seconds"])) + seconds
    if mae < before:
        onnx.save(
            build_onnx(net.weights(), terms=terms, name=pair_name, train_mae=mae),
            str(args.out / f"{pair_name}.onnx"),
        )
        np.savez(checkpoint, **net.weights())
        metrics["mae_position" if terms else "mae_colour_only"] = mae
    (args.checkpoints / f"{pair_name}.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def stepped_mae(net: FilterNet, pair: TrainingPair) -> float:
    """Error of the network followed by the serving chroma step, as it is served."""
    height, width = pair.shape
    rgb = predict(net, pair.features).reshape(height, width, 3)
    served = smooth_chroma(np.ascontiguousarray(rgb[:, :, ::-1]))[:, :, ::-1]
    return mean_abs_error(served, pair.target.reshape(height, width, 3))


def chroma_one(
    pair_name: str,
    source: tuple[np.ndarray, np.ndarray],
    metrics: dict[str, object],
    args: argparse.Namespace,
) -> dict[str, object]:
    """Stage three: train the shipped variant through the chroma step; keep it if better."""
    if stage_done(metrics, "chroma_steps", args.chroma_steps):
        return metrics
    terms, checkpoint = shipped_checkpoint(args, metrics)
    net = load_net(terms, checkpoint)
    pair = load_pair(args.data, pair_name, source)
    before = stepped_mae(net, pair)
    started = time.perf_counter()
    config = ChromaConfig(steps=args.chroma_steps, seed=args.seed)
    net = fit_through_chroma(net, pair.features, pair.target, pair.shape, config, log.info)
    mae = stepped_mae(net, pair)
    seconds = time.perf_counter() - started
    log.info("%s: through chroma %.3f -> %.3f (%.0f s)", pair_name, before, mae, seconds)
    metrics = {**metrics, "chroma_steps": args.chroma_steps, "mae_before_chroma": before}
    metrics["seconds"] = float(str(metrics["seconds"])) + seconds
    if mae >= before:  # keep the network it started from
        mae = before
        net = load_net(terms, checkpoint)
    # Exported either way: the recorded training error is now the served one, after the step.
    onnx.save(
        build_onnx(net.weights(), terms=terms, name=pair_name, train_mae=mae),
        str(args.out / f"{pair_name}.onnx"),
    )
    np.savez(checkpoint, **net.weights())
    metrics["mae_served_stepped"] = mae
    (args.checkpoints / f"{pair_name}.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def check_shipped(
    bank: FilterBank, name: str, data_dir: Path, metrics: dict[str, object]
) -> FilterResult:
    """Score the exported file the way it is served: fast path and reference path."""
    source = cv2.imread(str(data_dir / "Normal.jpg"))
    target = cv2.imread(str(data_dir / f"{name}.jpg"))
    fast = bank.apply(name, source)
    naive = bank.apply_naive(name, source)
    gap = np.abs(fast.astype(np.int16) - naive.astype(np.int16))
    return FilterResult(
        name=name,
        terms=int(str(metrics["terms"])),
        mae_naive=mean_abs_error(naive, target),
        mae_fast=mean_abs_error(fast, target),
        max_gap=int(gap.max()),
        colour_only_mae=float(str(metrics["mae_colour_only"])),
        seconds=float(str(metrics["seconds"])),
        without_step=mean_abs_error(bank.apply_network(name, source), target),
        before_chroma=float(str(metrics["mae_before_chroma"]))
        if "mae_before_chroma" in metrics
        else None,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the .onnx files go")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default="", help="comma-separated filter names")
    parser.add_argument("--steps", type=int, default=FitConfig.steps)
    parser.add_argument("--refine-steps", type=int, default=REFINE.steps, help="0: no stage two")
    parser.add_argument(
        "--chroma-steps", type=int, default=ChromaConfig.steps, help="0: no stage three"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (at most 2)")
    parser.add_argument("--position-gain", type=float, default=0.1)
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "training/runs/filters")
    parser.add_argument("--results", type=Path, default=ROOT / "training/filters/RESULTS.md")
    parser.add_argument("--force", action="store_true", help="retrain checkpointed filters")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    args = parse_args(argv)
    torch.set_num_threads(max(1, min(args.threads, 2)))
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    names = filter_names(args.data)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        names = [n for n in names if n in wanted]
    source = load_source(args.data)
    all_metrics = [train_one(name, source, args) for name in names]
    all_metrics = [refine_one(str(m["name"]), source, m, args) for m in all_metrics]
    all_metrics = [chroma_one(str(m["name"]), source, m, args) for m in all_metrics]
    bank = FilterBank(args.out, threads=args.threads)
    results = [check_shipped(bank, str(m["name"]), args.data, m) for m in all_metrics]
    write_results(args.results, results)
    log.info("wrote %s", args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

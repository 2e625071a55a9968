"""Choose the working size S and the decoding temperature T on the validation split.

    python -m training.colorize.sweep --checkpoint training/runs/embedded-v1/final.pt

Exports the checkpoint at every (S, T) (each export checked against PyTorch) into
`<run>/sweep/`, runs each through `inference.colorize.Colorizer` on the first `--limit`
validation photos and prints one markdown row per candidate, beside the grey and mean-ab
baselines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.colorize.bins import AbBins, AbStats
from training.colorize.evaluate import score_split
from training.colorize.export import export_checked
from training.colorize.scoring import TABLE_HEAD, constant_model, load_colorizer
from training.colorize.shards import DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--sizes", default="160,192,224,256")
    parser.add_argument("--temperatures", default="0.3,0.38,0.5,0.7")
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bins = AbBins.load(args.models)
    out_dir = args.checkpoint.parent / "sweep"
    out_dir.mkdir(exist_ok=True)
    lines = [TABLE_HEAD.replace("colouriser", "S, T")]
    baselines = {
        "grey (ab = 0)": load_colorizer("grey", constant_model((0.0, 0.0), 224), 1),
        "mean ab": load_colorizer("mean", constant_model(AbStats.load().mean_ab, 224), 1),
    }
    scores, _ = score_split(baselines, args.data, "val", args.limit, bins)
    lines += [score.row(name) for name, score in scores.items()]
    print("\n".join(lines), flush=True)
    for size in (int(v) for v in args.sizes.split(",")):
        for temperature in (float(v) for v in args.temperatures.split(",")):
            path = out_dir / f"S{size}-T{temperature:g}.onnx"
            export_checked(args.checkpoint, size, temperature, path, args.data, args.models)
            model = {"model": load_colorizer("model", path, 1)}
            scores, _ = score_split(model, args.data, "val", args.limit, bins)
            lines.append(scores["model"].row(f"S={size}, T={temperature:g}"))
            print(lines[-1], flush=True)
    if args.report:
        args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

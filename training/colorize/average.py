"""Average the weights of several checkpoints of one run (stochastic weight averaging, Izmailov
et al. 2018): with batches of 16, successive checkpoints of a fine-tune scatter around the
minimum, and their mean sits nearer to it than any one of them.

    python -m training.colorize.average --out training/runs/embedded-v2/average.pt \\
        training/runs/embedded-v2/step01416.pt training/runs/embedded-v2/step01826.pt ...

Every floating-point tensor of the decoder and of the fine-tuned encoder top is averaged; the
batch-norm statistics are frozen in fine-tuning, so they are the same in every checkpoint.
The result exports like any checkpoint (`training.colorize.export --checkpoint`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

PARTS = ("decoder", "encoder_top")


def average_checkpoints(paths: list[Path]) -> dict[str, object]:
    states = [torch.load(path, map_location="cpu", weights_only=False) for path in paths]
    result: dict[str, object] = dict(states[-1])
    result.pop("optimizer", None)
    for part in PARTS:
        if part not in states[0]:
            continue
        mean = {}
        for key, value in states[0][part].items():
            if value.is_floating_point():
                mean[key] = sum(state[part][key] for state in states) / len(states)
            else:
                mean[key] = value
        result[part] = mean
    result["averaged"] = [str(path) for path in paths]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.save(average_checkpoints(args.checkpoints), args.out)
    print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints")


if __name__ == "__main__":
    main()

"""One table for every installed colourisation model, on the same photos, through the served
pipeline: the full-size evaluation (training/colorize/fullsize.py) and, with `--val`, the
validation split of the training shards too.

    python -m training.colorize.compare                       # embedded + whatever is pulled
    python -m training.colorize.compare --val --report training/runs/compare.md
    python -m training.colorize.compare --model v1=training/runs/embedded-v1.onnx

Installed models are found as the service finds them (`COLORBOT_MODEL_DIR`, the registry):
the embedded model always, ECCV16 and SIGGRAPH17 once `colorbot models pull` has put them
there. `--model NAME=PATH` adds any other ONNX file with the model contract. Every model is
served as `COLORIZE_MODEL` would serve it (its own working size, aspect handling, the
edge-aware upsampling); the grey and mean-ab baselines are scored in the same run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.settings import Settings
from inference.colorize import Colorizer
from inference.registry import COLORIZE_MODELS
from training.colorize.bins import AbBins, AbStats
from training.colorize.evaluate import score_split
from training.colorize.fullsize import GROUPS, ORACLE, TABLE_HEAD, load_photos, score_photos
from training.colorize.scoring import TABLE_HEAD as VAL_TABLE_HEAD
from training.colorize.scoring import constant_model, load_colorizer, print_report
from training.colorize.shards import DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR


def installed_models(model_dir: Path, extra: list[str]) -> dict[str, Path]:
    """name -> ONNX path of every installed model, then the `NAME=PATH` extras."""
    found = {
        spec.name: spec.path(model_dir)
        for spec in COLORIZE_MODELS.values()
        if spec.path(model_dir).is_file()
    }
    for item in extra:
        name, _, path = item.partition("=")
        found[name] = Path(path)
    return found


def with_baselines(models: dict[str, Path], threads: int) -> dict[str, Colorizer]:
    colorizers = {name: load_colorizer(name, path, threads) for name, path in models.items()}
    size = next(iter(colorizers.values())).size
    for name, ab in (("grey (ab = 0)", (0.0, 0.0)), ("mean ab", AbStats.load().mean_ab)):
        colorizers[name] = load_colorizer(name, constant_model(ab, size), threads)
    return colorizers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="default: COLORBOT_MODEL_DIR")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--val", action="store_true", help="also the validation split")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--limit", type=int, help="only every n-th full-size photo, n chosen for this many"
    )
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    model_dir = args.model_dir or Settings.from_env().model_dir
    models = installed_models(model_dir, args.model)
    colorizers = with_baselines(models, args.threads)
    bins = AbBins.load(args.models)
    photos, skipped = load_photos()
    if args.limit:
        photos = photos[:: max(1, len(photos) // args.limit)][: args.limit]
    with_people = sum(photo.people for photo in photos)
    lines = [
        f"models: {', '.join(f'{name} ({path})' for name, path in models.items())}",
        "",
        f"Full-size photos: {len(photos)} ({with_people} with people; {len(skipped)} nearly "
        f"monochrome ones skipped: {', '.join(skipped)})",
    ]
    scores = score_photos(colorizers, photos, bins)
    for group in GROUPS:
        grey = scores[group]["grey (ab = 0)"]
        rows = [s.row(name, grey) for name, s in scores[group].items() if name != ORACLE]
        lines += ["", f"{group}:", "", TABLE_HEAD, *rows]
    if args.val:
        val_scores, _ = score_split(colorizers, args.data, "val", None, bins)
        count = len(next(iter(val_scores.values())).psnr)
        lines += ["", f"Validation split ({count} photos, 144x144):", "", VAL_TABLE_HEAD]
        lines += [score.row(name) for name, score in val_scores.items()]
    text = "\n".join(lines) + "\n"
    print_report(text, args.report)


if __name__ == "__main__":
    main()

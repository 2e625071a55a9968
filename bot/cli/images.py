"""CLI commands that work on one photo, video or GIF: `filters`, `filter NAME IN OUT`,
`colorize IN OUT` (a video or GIF, told by its content, goes to `bot.cli.clips`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.cli.clips import is_clip, process_clip
from bot.settings import Settings
from inference.colorize import Colorizer
from inference.filters import FILTER_NAMES, FilterBank, resolve_filter_name
from inference.images import ImageLimits, decode_image, encode_jpeg, encode_png
from inference.pipeline import COLORIZE, FILTER
from inference.registry import ModelNotInstalledError, find_colorize_model
from inference.sessions import ModelSession


def add_commands(commands: Any) -> None:
    listing = commands.add_parser("filters", help="list the 40 filters")
    listing.set_defaults(run=list_filters)

    one = commands.add_parser("filter", help="apply a filter to a photo")
    one.add_argument("name", help='filter name, e.g. "Lo-fi" (case and punctuation are ignored)')
    one.add_argument("input", type=Path)
    one.add_argument(
        "output", type=Path, help="where to write the result (.jpg or .png; .mp4 or .gif)"
    )
    one.set_defaults(run=apply_filter)

    colour = commands.add_parser(
        "colorize", aliases=["colourise"], help="colourise a photo, video or GIF"
    )
    colour.add_argument("input", type=Path)
    colour.add_argument(
        "output", type=Path, help="where to write the result (.jpg or .png; .mp4 or .gif)"
    )
    colour.add_argument("--model", help="colourisation model (default: COLORIZE_MODEL)")
    colour.set_defaults(run=colorize)


def list_filters(args: argparse.Namespace, settings: Settings) -> int:
    for name in FILTER_NAMES:
        print(name)
    return 0


def read_photo(path: Path, settings: Settings) -> np.ndarray:
    limits = ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
    return decode_image(path.read_bytes(), limits)


def write_photo(path: Path, bgr: np.ndarray) -> None:
    data = encode_png(bgr) if path.suffix.lower() == ".png" else encode_jpeg(bgr)
    path.write_bytes(data)


def apply_filter(args: argparse.Namespace, settings: Settings) -> int:
    name = resolve_filter_name(args.name)
    if is_clip(args.input, args.output):
        bank = FilterBank(threads=settings.inference_threads)
        colorizer = optional_colorizer(settings)  # a black-and-white clip is colourised first
        line = process_clip(
            args.input,
            args.output,
            settings,
            operation=FILTER,
            filter_name=name,
            colorizer=colorizer,
            filters=bank,
        )
        print(line)
        return 0
    photo = read_photo(args.input, settings)
    bank = FilterBank(threads=settings.inference_threads)
    bank.warm((name,))  # bake its lookup tables first, so the time below is the filter's own
    started = time.perf_counter()
    result = bank.apply(name, photo)
    seconds = time.perf_counter() - started
    write_photo(args.output, result)
    print(f"{name}: wrote {args.output} ({seconds * 1000:.0f} ms)")
    return 0


def colorize(args: argparse.Namespace, settings: Settings) -> int:
    model_name = args.model or settings.colorize_model
    model_path = find_colorize_model(model_name, settings.model_dir)
    if is_clip(args.input, args.output):
        colorizer = load_colorizer(model_name, model_path, settings)
        line = process_clip(
            args.input, args.output, settings, operation=COLORIZE, colorizer=colorizer
        )
        print(f"{line.replace('colourised', f'colourised with {model_name}', 1)}")
        return 0
    photo = read_photo(args.input, settings)
    colorizer = load_colorizer(model_name, model_path, settings)
    started = time.perf_counter()
    result = colorizer.colorize_sync(photo)
    seconds = time.perf_counter() - started
    write_photo(args.output, result.bgr)
    note = " (the photo had colour: it was turned to grey first)" if result.had_colour else ""
    print(f"colourised with {model_name}: wrote {args.output} ({seconds * 1000:.0f} ms){note}")
    return 0


def load_colorizer(name: str, path: Path, settings: Settings) -> Colorizer:
    session = ModelSession(
        name, path, threads=settings.inference_threads, warmup_shape=Colorizer.warmup_shape
    )
    return Colorizer(session)


def optional_colorizer(settings: Settings) -> Colorizer | None:
    try:
        path = find_colorize_model(settings.colorize_model, settings.model_dir)
    except ModelNotInstalledError:
        return None
    return load_colorizer(settings.colorize_model, path, settings)

"""The video and GIF side of `colorbot colorize IN OUT` and `colorbot filter NAME IN OUT`.

Which side a file goes to is decided by its content (`inference.video.sniff_file`), not its
name. A GIF comes back as a GIF and anything else as an MP4, unless OUT's extension asks for
the other (.gif or .mp4). On a terminal a progress bar runs on stderr; an interrupted run
leaves no partial OUT behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from bot.services import video_limits
from bot.settings import Settings
from core.errors import UserError
from inference.colorize import Colorizer
from inference.filters import FilterBank
from inference.pipeline import COLORIZE
from inference.video import ClipRun, MediaKind, probe_media, sniff_file
from inference.video.writers import OutputKind

CLIP_SUFFIXES = {".gif": "gif", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mp4"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def is_clip(path: Path, output: Path) -> bool:
    """True when IN should be treated as a video or GIF (by content; for a file that is
    nothing we know, by what OUT asks for, so the error message fits)."""
    kind: MediaKind | None = sniff_file(path)
    if kind in ("gif", "video", "audio"):
        return True
    return kind is None and output.suffix.lower() in CLIP_SUFFIXES


def process_clip(
    source: Path,
    output: Path,
    settings: Settings,
    *,
    operation: str,
    filter_name: str | None = None,
    colorizer: Colorizer | None = None,
    filters: FilterBank | None = None,
) -> str:
    """Run one clip with a progress bar; returns the line to print."""
    limits = video_limits(settings)
    info = probe_media(source, limits)
    kind = _output_kind(output)
    run = ClipRun(
        source,
        output,
        info,
        limits,
        operation=operation,
        filter_name=filter_name,
        colorizer=colorizer,
        filters=filters,
        output_kind=kind,
    )
    bar = tqdm(total=info.frames, unit="frame", disable=not sys.stderr.isatty(), file=sys.stderr)
    try:
        while not run.step():
            bar.update(run.frames_done - bar.n)
        result = run.finish()
        bar.update(run.frames_done - bar.n)
    except BaseException:
        run.abort()
        raise
    finally:
        bar.close()
    did = "colourised" if operation == COLORIZE else f"{filter_name}"
    if operation != COLORIZE and result.colourised:
        did += " (black and white: colourised first)"
    notes = []
    if result.had_colour and operation == COLORIZE:
        notes.append("it had colour: turned to grey first")
    if result.scaled_down:
        notes.append(f"scaled down from {info.width}x{info.height}")
    if result.has_audio:
        notes.append("sound copied" if result.audio_copied else "sound re-encoded to AAC")
    if result.damaged_frames:
        notes.append(f"{result.damaged_frames} damaged frames replaced")
    speed = result.duration / result.seconds if result.seconds > 0 else 0.0
    extra = f"; {', '.join(notes)}" if notes else ""
    return (
        f"{did}: wrote {output} ({result.kind}, {result.frames} frames, "
        f"{result.width}x{result.height}, {result.duration:.1f} s) in {result.seconds:.1f} s "
        f"({speed:.2f}x real time{extra})"
    )


def _output_kind(output: Path) -> OutputKind:
    kind = CLIP_SUFFIXES.get(output.suffix.lower())
    if kind is None:
        raise UserError(
            f"That input is a video or GIF: write it to a .mp4 or .gif file, not {output.name!r}."
        )
    return "gif" if kind == "gif" else "mp4"

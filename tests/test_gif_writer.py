"""`GifWriter`: one palette for the whole clip, frames spooled to disk (memory stays flat for
long GIFs), nothing left behind on commit or abort. Real PyAV encodes, read back with PyAV and
Pillow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.video.gif_writer import GifWriter
from tests.video_builders import gif_delays_and_loop, read_clip

REPO = Path(__file__).resolve().parents[1]


def moving_bar(index: int, width: int, height: int) -> np.ndarray:
    """A still blue-grey background with an orange bar that moves (BGR)."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = (120, 90, 60)
    left = (index * 9) % (width - 16)
    frame[:, left : left + 16] = (30, 120, 220)
    return frame


def test_a_long_gif_is_written_in_flat_memory(tmp_path: Path) -> None:
    """120 frames of 1280 x 720 are 330 MB of pixels; holding them (as FFmpeg's palettegen does
    when it is fed the whole clip before its palette comes out) grew the peak by 476 MB."""
    script = textwrap.dedent(
        f"""
        import json, resource
        from fractions import Fraction
        from pathlib import Path
        from inference.video.gif_writer import GifWriter
        from tests.test_gif_writer import moving_bar
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        writer = GifWriter(Path({str(tmp_path / "long.gif")!r}), 1280, 720,
                           time_base=Fraction(1, 100), loop=0)
        for index in range(120):
            writer.write(moving_bar(index, 1280, 720), index * 4, 4)
        writer.commit()
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"grown_mb": grown / 1024}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    grown = json.loads(done.stdout.strip().splitlines()[-1])["grown_mb"]
    assert grown < 200, f"peak RSS grew {grown:.0f} MB writing a 120-frame 720p GIF"
    facts = read_clip(tmp_path / "long.gif")
    assert (facts.frames, facts.width, facts.height) == (120, 1280, 720)
    assert [p.name for p in tmp_path.iterdir()] == ["long.gif"]  # no spool left


def test_one_palette_keeps_a_still_background_the_same_in_every_frame(tmp_path: Path) -> None:
    writer = GifWriter(
        tmp_path / "bar.gif", 96, 64, time_base=Fraction(1, 100), loop=0, last_delay=0.05
    )
    for index in range(8):
        frame = moving_bar(index, 96, 64)
        frame[:, 80:] = np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None]  # a ramp
        writer.write(frame, index * 5, 5)
    writer.commit()
    assert gif_delays_and_loop(tmp_path / "bar.gif") == ([5] * 8, 0)
    with Image.open(tmp_path / "bar.gif") as gif:
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
    still = [frame[:, 80:] for frame in frames]  # the bar never reaches the ramp
    assert all(np.array_equal(still[0], other) for other in still[1:])
    orange = frames[0][:, 4]  # under the bar in the first frame: BGR (30, 120, 220)
    assert np.abs(orange.astype(int) - (220, 120, 30)).max() <= 24


def test_an_aborted_gif_leaves_nothing(tmp_path: Path) -> None:
    writer = GifWriter(tmp_path / "gone.gif", 32, 32, time_base=Fraction(1, 100), loop=0)
    for index in range(40):
        writer.write(moving_bar(index, 32, 32), index * 10, 10)
    assert list(tmp_path.glob(".gone.gif.*.spool.mkv"))  # frames went to the spool
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AssertionError):
        writer.write(moving_bar(1, 32, 32), 400, 10)


def test_pixels_that_barely_change_are_held_and_real_changes_come_through(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(7)
    writer = GifWriter(
        tmp_path / "noisy.gif", 64, 48, time_base=Fraction(1, 100), loop=0, last_delay=0.1
    )
    base = np.full((48, 64, 3), (90, 140, 170), np.uint8)
    for index in range(6):
        noisy = (base + rng.integers(-2, 3, base.shape)).astype(np.uint8)  # +-2 levels
        if index >= 3:
            noisy[:, :16] = (200, 60, 40)  # a real change from frame 3 on
        writer.write(noisy, index * 10, 10)
    writer.commit()
    with Image.open(tmp_path / "noisy.gif") as gif:
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")).astype(int))
    assert len(frames) == 6
    for frame in frames[1:]:
        assert np.array_equal(frame[:, 16:], frames[0][:, 16:])  # the noise never shows
    assert np.abs(frames[2][:, :16] - (170, 140, 90)).mean() <= 8
    assert np.abs(frames[3][:, :16] - (40, 60, 200)).mean() <= 8  # the change does
    assert np.array_equal(frames[4][:, :16], frames[3][:, :16])


def test_a_gif_without_frames_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    writer = GifWriter(tmp_path / "empty.gif", 32, 32, time_base=Fraction(1, 100), loop=0)
    with pytest.raises(ValueError, match="at least one frame"):
        writer.commit()
    assert list(tmp_path.iterdir()) == []

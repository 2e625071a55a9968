"""`colorbot colorize IN OUT` and `colorbot filter NAME IN OUT` on videos and GIFs, told apart
from photos by content, run in-process through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.video_builders import (
    AudioSpec,
    gif_delays_and_loop,
    panning,
    read_clip,
    write_gif,
    write_video,
)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("COLORBOT_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("INFERENCE_THREADS", "1")
    monkeypatch.delenv("COLORIZE_MODEL", raising=False)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from bot.cli import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def grey_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    return [
        cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        for f in panning(count, width, height)
    ]


def test_colorize_a_video_named_like_a_photo_is_told_by_its_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_video(tmp_path / "clip.mp4", grey_frames(10, 64, 48), audio=AudioSpec())
    disguised = source.rename(tmp_path / "holiday.jpg")
    code, out, err = run_cli(["colorize", str(disguised), str(tmp_path / "out.mp4")], capsys)
    assert code == 0, err
    assert "colourised with embedded: wrote" in out and "10 frames" in out and "sound copied" in out
    facts = read_clip(tmp_path / "out.mp4")
    assert (facts.codec, facts.frames, facts.audio_codec) == ("h264", 10, "aac")
    assert err == ""  # no progress bar when stderr is not a terminal


def test_colorize_a_gif_gives_a_gif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_gif(tmp_path / "in.gif", grey_frames(5, 48, 32), [5, 10, 5, 10, 20], loop=0)
    code, _out, err = run_cli(["colorize", str(source), str(tmp_path / "out.gif")], capsys)
    assert code == 0, err
    assert gif_delays_and_loop(tmp_path / "out.gif") == ([5, 10, 5, 10, 20], 0)
    assert read_clip(tmp_path / "out.gif").frames == 5


def test_filter_a_black_and_white_clip_colourises_it_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_video(tmp_path / "bw.mp4", grey_frames(6, 64, 48))
    code, out, err = run_cli(["filter", "lofi", str(source), str(tmp_path / "out.mp4")], capsys)
    assert code == 0, err
    assert out.startswith("Lo-Fi (black and white: colourised first): wrote")
    assert read_clip(tmp_path / "out.mp4").frames == 6


def test_filter_a_colour_clip_filters_every_frame_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = panning(6, 64, 48)
    source = write_video(tmp_path / "colour.mp4", frames)
    code, out, err = run_cli(["filter", "Inkwell", str(source), str(tmp_path / "o.mp4")], capsys)
    assert code == 0, err
    assert out.startswith("Inkwell: wrote") and "colourised first" not in out
    result = read_clip(tmp_path / "o.mp4")
    assert result.frames == 6
    # Inkwell is black and white: every frame of the colour clip came out grey
    spread = [np.ptp(f.astype(int), axis=2).mean() for f in result.bgr]
    assert max(spread) < 4


def test_a_still_gif_is_still_a_photo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_gif(tmp_path / "still.gif", grey_frames(1, 48, 32), [10])
    code, _out, err = run_cli(["colorize", str(source), str(tmp_path / "out.png")], capsys)
    assert code == 0, err
    assert cv2.imread(str(tmp_path / "out.png")).shape == (32, 48, 3)


def test_bad_clips_get_one_line_and_leave_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "video.mp4"
    text.write_text("not a video at all\n" * 10)
    code, _out, err = run_cli(["colorize", str(text), str(tmp_path / "out.mp4")], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        "colorbot: error: That file isn't a video or an animated GIF. "
        "Please send an MP4, MOV, WebM or GIF."
    ]
    clip = write_video(tmp_path / "clip.mp4", grey_frames(4, 32, 32))
    code, _out, err = run_cli(["colorize", str(clip), str(tmp_path / "out.png")], capsys)
    assert code == 1 and "write it to a .mp4 or .gif file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "video.mp4"]

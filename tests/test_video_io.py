"""Real encode/decode round trips through the video engine: clips made here with PyAV, coloured
by the shipped model on onnxruntime, read back with PyAV (and GIFs with Pillow)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from inference.colorize import Colorizer
from inference.pipeline import COLORIZE
from inference.video import ClipRun, VideoLimits, probe_media
from tests.video_builders import (
    AudioSpec,
    embedded_colorizer,
    gif_delays_and_loop,
    panning,
    read_clip,
    scene,
    write_gif,
    write_video,
)


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return embedded_colorizer()


def colourise(
    source: Path, output: Path, colorizer: Colorizer, limits: VideoLimits | None = None
) -> ClipRun:
    limits = limits or VideoLimits()
    info = probe_media(source, limits)
    run = ClipRun(source, output, info, limits, operation=COLORIZE, colorizer=colorizer)
    while not run.step(4):
        pass
    return run


def test_an_mp4_comes_back_as_h264_with_its_frames_timing_and_copied_sound(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    source = write_video(tmp_path / "in.mp4", panning(12, 64, 48), fps=12, audio=AudioSpec())
    run = colourise(source, tmp_path / "out.mp4", colorizer)
    result = run.finish()
    facts, original = read_clip(result.path), read_clip(source)
    assert (facts.codec, facts.pix_fmt) == ("h264", "yuv420p")
    assert (facts.width, facts.height) == (64, 48)
    assert facts.frames == original.frames == 12
    assert facts.times == pytest.approx(original.times, abs=1e-6)
    assert facts.duration == pytest.approx(1.0, abs=1e-6)
    assert facts.audio_codec == "aac" and result.has_audio and result.audio_copied
    assert (result.frames, result.kind, result.colourised) == (12, "mp4", True)
    assert result.fps == pytest.approx(12)
    # the model coloured it: the output is not grey
    lab_spread = np.abs(facts.bgr[5].astype(int) - facts.bgr[5].mean(axis=2, keepdims=True))
    assert lab_spread.mean() > 2


def test_sound_mp4_cannot_hold_is_re_encoded_to_aac(tmp_path: Path, colorizer: Colorizer) -> None:
    pcm = AudioSpec(codec="pcm_s16le", rate=44100, layout="mono", sample_format="s16")
    source = write_video(tmp_path / "in.mkv", panning(8, 48, 32), fps=8, audio=pcm)
    result = colourise(source, tmp_path / "out.mp4", colorizer).finish()
    facts = read_clip(result.path)
    assert facts.audio_codec == "aac" and result.has_audio and not result.audio_copied
    assert facts.frames == 8


def test_a_webm_with_opus_sound_becomes_an_mp4_with_aac(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    opus = AudioSpec(codec="libopus", rate=48000, layout="stereo", sample_format="flt")
    source = write_video(
        tmp_path / "in.webm", panning(8, 48, 32), fps=8, audio=opus, codec="libvpx-vp9"
    )
    info = probe_media(source)
    assert (info.kind, info.frames, info.has_audio) == ("video", 8, True)
    result = colourise(source, tmp_path / "out.mp4", colorizer).finish()
    facts = read_clip(result.path)
    assert (facts.codec, facts.frames, facts.audio_codec) == ("h264", 8, "aac")
    assert facts.duration == pytest.approx(1.0, abs=1e-3)


def test_odd_sides_are_padded_to_even_and_nothing_else_changes(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    frames = [np.ascontiguousarray(f[:47, :65]) for f in panning(6, 66, 48)]
    # x264 itself needs even sides: write the odd clip as a GIF (the engine makes an MP4 of it)
    source = write_gif(tmp_path / "odd.gif", frames, [10] * 6)
    limits = VideoLimits()
    info = probe_media(source, limits)
    assert (info.width, info.height) == (65, 47)
    run = ClipRun(
        source,
        tmp_path / "odd.mp4",
        info,
        limits,
        operation=COLORIZE,
        colorizer=colorizer,
        output_kind="mp4",
    )
    while not run.step():
        pass
    result = run.finish()
    facts = read_clip(result.path)
    assert (facts.width, facts.height) == (66, 48) == (result.width, result.height)
    assert facts.frames == 6
    assert facts.duration == pytest.approx(0.6, abs=1e-6)
    # the padding repeats the last column and row
    assert np.abs(facts.bgr[2][:, 65].astype(int) - facts.bgr[2][:, 64].astype(int)).mean() < 4


def test_a_variable_frame_rate_keeps_every_timestamp(tmp_path: Path, colorizer: Colorizer) -> None:
    pts = [0, 3, 4, 9, 10, 11, 20, 26]  # in 1/30 s
    source = write_video(
        tmp_path / "vfr.mp4", panning(8, 48, 32), fps=30, pts=pts, time_base=Fraction(1, 30)
    )
    result = colourise(source, tmp_path / "out.mp4", colorizer).finish()
    facts = read_clip(result.path)
    assert facts.times == pytest.approx([p / 30 for p in pts], abs=1e-6)


def test_rotation_metadata_is_applied_to_the_pixels(tmp_path: Path, colorizer: Colorizer) -> None:
    frame = np.full((32, 64, 3), 40, dtype=np.uint8)
    frame[:, :16] = 230  # a bright band on the stored left
    source = write_video(tmp_path / "turned.mp4", [frame] * 4, rotation=90)
    info = probe_media(source)
    assert (info.width, info.height, info.rotation) == (32, 64, 90)
    result = colourise(source, tmp_path / "out.mp4", colorizer).finish()
    facts = read_clip(result.path)
    assert (facts.width, facts.height) == (32, 64)
    grey = facts.bgr[0].mean(axis=2)
    # 90 degrees counter-clockwise: the stored left edge is now the bottom
    assert grey[-12:].mean() > 150 > 100 > grey[:40].mean()


def test_a_gif_comes_back_as_a_gif_with_its_delays_and_loop(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    delays = [4, 7, 10, 7, 4, 12]
    source = write_gif(tmp_path / "in.gif", panning(6, 60, 40), delays, loop=3)
    result = colourise(source, tmp_path / "out.gif", colorizer).finish()
    assert result.kind == "gif" and result.mime_type == "image/gif"
    assert gif_delays_and_loop(result.path) == (delays, 3)
    facts = read_clip(result.path)
    assert (facts.codec, facts.frames, facts.width, facts.height) == ("gif", 6, 60, 40)


def test_a_gif_that_plays_once_still_plays_once(tmp_path: Path, colorizer: Colorizer) -> None:
    source = write_gif(tmp_path / "once.gif", panning(3, 40, 30), [20, 20, 30], loop=None)
    result = colourise(source, tmp_path / "out.gif", colorizer).finish()
    assert gif_delays_and_loop(result.path) == ([20, 20, 30], None)


def test_frames_over_the_pixel_limit_are_scaled_down_and_the_result_says_so(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    source = write_video(tmp_path / "big.mp4", panning(4, 160, 90))
    limits = VideoLimits(max_pixels=80 * 45)
    result = colourise(source, tmp_path / "out.mp4", colorizer, limits).finish()
    facts = read_clip(result.path)
    assert result.scaled_down and (result.width, result.height) == (80, 44)
    assert (facts.width, facts.height, facts.frames) == (80, 44, 4)


def test_an_aborted_run_leaves_no_file_behind(tmp_path: Path, colorizer: Colorizer) -> None:
    source = write_video(tmp_path / "in.mp4", panning(12, 48, 32), audio=AudioSpec())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    info = probe_media(source)
    run = ClipRun(
        source, out_dir / "x.mp4", info, VideoLimits(), operation=COLORIZE, colorizer=colorizer
    )
    assert run.step(3) is False
    assert [p.name for p in out_dir.iterdir()] != []  # the hidden temporary file
    assert not (out_dir / "x.mp4").exists()
    run.abort()
    assert list(out_dir.iterdir()) == []
    with pytest.raises(RuntimeError):
        run.step()


def test_a_still_clip_runs_the_model_once(tmp_path: Path, colorizer: Colorizer) -> None:
    source = write_video(tmp_path / "still.mp4", [scene(64, 48)] * 10)
    result = colourise(source, tmp_path / "out.mp4", colorizer).finish()
    assert result.frames == 10 and result.model_runs == 1 and result.duplicates == 9

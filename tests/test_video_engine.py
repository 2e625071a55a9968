"""The async API the job runner calls: probing at intake, processing on the compute pool with
progress reports, filters (colourising black-and-white clips first), byte budgets, and
cancellation that leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.colorize import Colorizer
from inference.compute import ComputePool
from inference.filters import FilterBank
from inference.pipeline import COLORIZE, FILTER, ColorizeUnavailableError
from inference.video import VideoEngine, VideoError, VideoOptions, VideoProgress
from tests.video_builders import (
    AudioSpec,
    embedded_colorizer,
    panning,
    read_clip,
    scene,
    write_gif,
    write_video,
)


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return embedded_colorizer()


@pytest.fixture(scope="module")
def filters() -> FilterBank:
    return FilterBank(threads=1)


@pytest.fixture
async def engine(colorizer: Colorizer, filters: FilterBank) -> AsyncIterator[VideoEngine]:
    compute = ComputePool(threads=2)
    yield VideoEngine(colorizer, filters, compute, progress_every_s=0.0)
    compute.close()


def grey(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for f in frames]


async def test_probe_then_process_reports_progress_and_describes_the_result(
    tmp_path: Path, engine: VideoEngine
) -> None:
    source = write_video(tmp_path / "in.mp4", grey(panning(30, 64, 48)), audio=AudioSpec())
    info = await engine.probe(source)
    assert (info.kind, info.frames, info.width, info.height) == ("video", 30, 64, 48)
    assert info.has_audio and info.duration == pytest.approx(3.0)
    reports: list[VideoProgress] = []

    async def on_progress(progress: VideoProgress) -> None:
        reports.append(progress)

    result = await engine.process(
        source, tmp_path / "out.mp4", COLORIZE, on_progress=on_progress, info=info
    )
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(reports) >= 3  # one per chunk of frames, then the end
    assert all(r.eta_seconds is not None and r.eta_seconds >= 0 for r in reports)
    assert reports[0].frames_total == 30 and 0 < reports[0].frames_done < 30
    assert (result.kind, result.frames, result.width, result.height) == ("mp4", 30, 64, 48)
    assert result.has_audio and result.audio_copied and result.colourised
    assert not result.had_colour and not result.scaled_down
    assert result.seconds > 0 and result.size_bytes == (tmp_path / "out.mp4").stat().st_size
    assert result.model_runs + result.propagated_frames + result.duplicates == 30
    assert result.propagated_frames > 0  # the model saw only some frames of the pan
    assert read_clip(result.path).frames == 30


async def test_a_filter_colourises_a_black_and_white_clip_first(
    tmp_path: Path, engine: VideoEngine
) -> None:
    source = write_gif(tmp_path / "bw.gif", grey(panning(4, 48, 32)), [10] * 4)
    result = await engine.process(source, tmp_path / "out.gif", FILTER, "Lo-Fi")
    assert result.kind == "gif" and result.colourised and not result.had_colour
    assert result.filter_name == "Lo-Fi" and result.frames == 4
    colour = write_video(tmp_path / "colour.mp4", [scene(48, 32)] * 4)
    result = await engine.process(colour, tmp_path / "out.mp4", FILTER, "Lo-Fi")
    assert not result.colourised and result.had_colour and result.model_runs == 0


async def test_without_a_colouriser_colourising_is_refused_but_filters_work(
    tmp_path: Path, filters: FilterBank
) -> None:
    compute = ComputePool(threads=1)
    engine = VideoEngine(None, filters, compute)
    source = write_video(tmp_path / "in.mp4", grey(panning(4, 32, 32)))
    with pytest.raises(ColorizeUnavailableError):
        await engine.process(source, tmp_path / "out.mp4", COLORIZE)
    result = await engine.process(source, tmp_path / "out.mp4", FILTER, "Inkwell")
    assert result.frames == 4 and not result.colourised
    compute.close()


async def test_an_output_over_the_budget_is_re_encoded_to_fit(
    tmp_path: Path, engine: VideoEngine
) -> None:
    # a colour clip through a filter: the budget is the same for any operation, and no model
    # call is needed for it; every frame different, so the picture costs more than the sound
    frames = [scene(320, 240, seed=i) for i in range(20)]
    source = write_video(tmp_path / "busy.mp4", frames, audio=AudioSpec())
    plain = await engine.process(source, tmp_path / "plain.mp4", FILTER, "Clarendon")
    budget = plain.size_bytes // 2
    fitted = await engine.process(
        source,
        tmp_path / "fit.mp4",
        FILTER,
        "Clarendon",
        options=VideoOptions(max_output_bytes=budget),
    )
    assert fitted.reencoded_for_size and fitted.size_bytes <= budget
    facts = read_clip(fitted.path)
    assert (facts.codec, facts.frames, facts.audio_codec) == ("h264", 20, "aac")
    assert facts.duration == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(VideoError) as caught:
        await engine.process(
            source,
            tmp_path / "tiny.mp4",
            FILTER,
            "Clarendon",
            options=VideoOptions(max_output_bytes=2000),
        )
    assert caught.value.reason == "output_too_big" and "too big to send" in str(caught.value)
    assert "over the 0.002 MB limit" in str(caught.value)
    assert not (tmp_path / "tiny.mp4").exists()


async def test_a_gif_over_the_budget_is_scaled_down_to_fit(
    tmp_path: Path, engine: VideoEngine
) -> None:
    source = write_gif(tmp_path / "in.gif", [scene(120, 90, seed=i) for i in range(6)], [10] * 6)
    plain = await engine.process(source, tmp_path / "plain.gif", FILTER, "Clarendon")
    budget = plain.size_bytes // 2
    fitted = await engine.process(
        source,
        tmp_path / "fit.gif",
        FILTER,
        "Clarendon",
        options=VideoOptions(max_output_bytes=budget),
    )
    assert fitted.size_bytes <= budget and fitted.scaled_down and fitted.reencoded_for_size
    assert fitted.width < 120 and read_clip(fitted.path).frames == 6


async def test_a_cancelled_job_leaves_no_file_behind(tmp_path: Path, engine: VideoEngine) -> None:
    source = write_video(tmp_path / "in.mp4", grey(panning(80, 96, 64)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = asyncio.Event()

    async def on_progress(progress: VideoProgress) -> None:
        started.set()

    task = asyncio.create_task(
        engine.process(source, out_dir / "o.mp4", COLORIZE, on_progress=on_progress)
    )
    await asyncio.wait_for(started.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # the chunk in flight finishes on its thread, then cleans up
        if not list(out_dir.iterdir()):
            break
        await asyncio.sleep(0.05)
    assert list(out_dir.iterdir()) == []

"""Bad clips get one friendly VideoError (a UserError) naming what is wrong, and by how much
for a limit; a clip with a damaged frame in the middle is finished with a stand-in."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from core.errors import UserError
from inference.colorize import Colorizer
from inference.pipeline import COLORIZE
from inference.video import ClipRun, VideoError, VideoLimits, probe_media, sniff_media
from inference.video.errors import over_by
from tests.video_builders import (
    embedded_colorizer,
    gif_bomb,
    panning,
    read_clip,
    write_audio_only,
    write_gif,
    write_video,
)


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return embedded_colorizer()


def refusal(path: Path, limits: VideoLimits | None = None) -> VideoError:
    with pytest.raises(VideoError) as caught:
        probe_media(path, limits or VideoLimits())
    assert isinstance(caught.value, UserError)
    assert "\n" not in caught.value.user_message
    return caught.value


def cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut-{path.name}")
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_an_mp4_cut_off_in_the_middle_of_its_frames_is_refused(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "whole.mp4", panning(20, 64, 48), faststart=True)
    error = refusal(cut_in_half(clip))
    assert error.reason == "truncated"
    assert "cut off" in error.user_message


def test_an_mp4_cut_off_before_its_index_is_refused(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "whole.mp4", panning(20, 64, 48), faststart=False)
    assert refusal(cut_in_half(clip)).reason == "truncated"


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    error = refusal(tmp_path / "empty.mp4")
    assert error.reason == "empty" and "empty" in error.user_message


def test_a_clip_of_no_frames_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height = 64, 48
        out.start_encoding()
    error = refusal(path)
    assert error.reason == "no_frames" and "no frames" in error.user_message


def test_sound_alone_is_refused(tmp_path: Path) -> None:
    m4a = write_audio_only(tmp_path / "song.m4a")
    assert sniff_media(m4a.read_bytes()) == "audio"
    error = refusal(m4a)
    assert error.reason == "audio_only" and "no picture" in error.user_message
    # the same sound in a plain MP4 box is found out by its streams
    mp4 = tmp_path / "song.mp4"
    with av.open(str(m4a)) as source, av.open(str(mp4), "w", format="mp4") as out:
        stream = out.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    assert refusal(mp4).reason == "audio_only"


def test_a_text_file_named_mp4_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_text("this is not a video, just some words\n" * 20)
    error = refusal(path)
    assert error.reason == "not_a_video"
    assert "isn't a video" in error.user_message


def test_a_photo_is_not_a_video(tmp_path: Path) -> None:
    write_gif(tmp_path / "still.gif", [np.zeros((8, 8, 3), np.uint8)], [10])
    error = refusal(tmp_path / "still.gif")
    assert error.reason == "not_a_video" and "photo" in error.user_message


def test_a_gif_bomb_canvas_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb(40000, 40000, 3))
    error = refusal(path)
    assert error.reason == "too_many_pixels"
    assert "40000x40000" in error.user_message and "over the" in error.user_message


def test_a_gif_of_thousands_of_frames_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.gif"
    path.write_bytes(gif_bomb(64, 48, 5000, delay_cs=2))  # 100 s of 50 fps
    error = refusal(path)
    assert error.reason == "too_long"
    assert error.user_message.startswith("That clip is too long (100 s, 40 s over the 60 s limit)")
    assert "40 s over" in str(error) and "thousands" not in str(error)


def test_a_clip_denser_than_the_frame_cap_is_refused(tmp_path: Path) -> None:
    # 100 frames in one second: over the cap of max_seconds x 60 frames
    clip = write_video(
        tmp_path / "dense.mp4", panning(100, 16, 16, step=0), fps=100, time_base=Fraction(1, 100)
    )
    error = refusal(clip, VideoLimits(max_seconds=1.5))
    assert error.reason == "too_many_frames"
    assert "100 frames, 10 frames over the 90 frames limit" in error.user_message


def test_limits_name_the_limit_and_by_how_much(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", panning(30, 32, 32), fps=10)  # 3 s
    too_long = refusal(clip, VideoLimits(max_seconds=2))
    assert too_long.reason == "too_long"
    assert "3 s, 1 s over the 2 s limit" in too_long.user_message
    size = clip.stat().st_size
    too_big = refusal(clip, VideoLimits(max_bytes=size - 1000))
    assert too_big.reason == "too_many_bytes" and "MB limit" in too_big.user_message


def test_a_damaged_frame_in_the_middle_is_replaced_and_the_clip_finished(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    clip = write_video(tmp_path / "clip.mp4", panning(20, 64, 48), gop=10)
    with av.open(str(clip)) as container:
        entry = container.streams.video[0].index_entries[6]  # a P-frame
    data = bytearray(clip.read_bytes())
    noise = np.random.default_rng(1).integers(0, 256, entry.size - 4, dtype=np.uint8)
    data[entry.pos + 4 : entry.pos + entry.size] = noise.tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    info = probe_media(damaged)
    run = ClipRun(
        damaged, tmp_path / "out.mp4", info, VideoLimits(), operation=COLORIZE, colorizer=colorizer
    )
    while not run.step():
        pass
    result = run.finish()
    assert result.damaged_frames >= 1
    facts = read_clip(result.path)
    assert facts.frames == result.frames == 20
    assert facts.duration == pytest.approx(2.0, abs=1e-6)


def test_a_clip_mostly_damaged_is_refused_and_leaves_nothing(
    tmp_path: Path, colorizer: Colorizer
) -> None:
    clip = write_video(tmp_path / "clip.mp4", panning(20, 64, 48), gop=20)
    with av.open(str(clip)) as container:
        entries = container.streams.video[0].index_entries
        spans = [(entries[i].pos, entries[i].size) for i in range(3, 18)]
    data = bytearray(clip.read_bytes())
    rng = np.random.default_rng(2)
    for pos, size in spans:
        data[pos + 4 : pos + size] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    info = probe_media(damaged)
    with pytest.raises(VideoError) as caught:
        run = ClipRun(
            damaged,
            out_dir / "o.mp4",
            info,
            VideoLimits(),
            operation=COLORIZE,
            colorizer=colorizer,
        )
        while not run.step():
            pass
    assert caught.value.reason == "corrupt" and "damaged" in caught.value.user_message
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "video"),
        (b"\x00\x00\x00\x08wide\x00\x01\x02\x03mdat", "video"),  # QuickTime without ftyp
        (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01", "video"),  # WebM / Matroska
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42", "audio"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "photo"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00", None),  # a HEIC photo is not a clip
        (b"hello, this is text", None),
        (b"", None),
    ],
)
def test_content_decides_the_kind(head: bytes, kind: str | None) -> None:
    assert sniff_media(head) == kind


def test_a_limit_is_shown_as_it_is() -> None:
    assert over_by(0.078, 0.05, "MB") == "0.08 MB, 0.03 MB over the 0.05 MB limit"
    assert over_by(25, 20, "MB") == "25 MB, 5 MB over the 20 MB limit"

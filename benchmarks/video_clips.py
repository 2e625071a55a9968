"""The clips `bench_video` runs on: the real ones in ../shared/testdata/video, and clips it
makes itself from the colour test photos (a hard cut, a pan, a static shot with sensor
noise), a 640x360 25 fps clip for the real-time factor and a 60 s 720p clip for peak memory.
Made clips are written once under artifacts/bench_video/clips/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from inference.video.writers import Mp4Writer

SHARED_CANDIDATES = (Path(__file__).resolve().parents[1] / ".." / "shared", Path("/work/shared"))
FPS = 25
SIZE = (320, 240)


def shared_dir() -> Path:
    for candidate in SHARED_CANDIDATES:
        if (candidate / "testdata" / "video").is_dir():
            return candidate.resolve()
    raise SystemExit("bench_video needs ../shared/testdata (or /work/shared/testdata)")


@dataclass(frozen=True)
class BenchClip:
    name: str
    path: Path
    cuts: tuple[int, ...] = ()  # frame indices that start a new shot
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def real_clips() -> list[BenchClip]:
    video = shared_dir() / "testdata" / "video"
    return [
        BenchClip("carphone", video / "carphone_pristine.mp4", notes="176x144, real footage"),
        BenchClip("realshort", video / "realshort.mp4", notes="320x240, audio"),
        BenchClip("bigbuckbunny", video / "bigbuckbunny.mp4", notes="1280x720, audio"),
        BenchClip("newtonscradle", video / "newtonscradle.gif", notes="GIF 200x150"),
    ]


def _photo(name: str) -> np.ndarray:
    image = cv2.imread(str(shared_dir() / "testdata" / name), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"missing test photo {name}")
    return image


def _write(path: Path, frames: Iterator[np.ndarray], size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = Mp4Writer(path, *size, time_base=Fraction(1, FPS), rate=Fraction(FPS))
    try:
        for index, frame in enumerate(frames):
            writer.write(frame, index, 1)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return path


def _pan(image: np.ndarray, count: int, step: tuple[float, float], size: tuple[int, int]):
    width, height = size
    for i in range(count):
        x, y = i * step[0], i * step[1]
        matrix = np.float32([[1, 0, -x], [0, 1, -y]])
        yield cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR)


def made_clips(folder: Path) -> list[BenchClip]:
    folder.mkdir(parents=True, exist_ok=True)
    astronaut = cv2.resize(_photo("astronaut_color.png"), (480, 480))
    coffee = cv2.resize(_photo("coffee_color.png"), (450, 300))
    rocket = cv2.resize(_photo("rocket_color.jpg"), (600, 400))
    chelsea = _photo("chelsea_color.png")[30:270, 60:380]
    clips = []
    cut = folder / "cut.mp4"
    if not cut.exists():
        shots = [*_pan(astronaut, 30, (1.5, 1.0), SIZE), *_pan(coffee, 30, (2.0, 0.5), SIZE)]
        _write(cut, iter(shots), SIZE)
    clips.append(BenchClip("made: cut", cut, cuts=(30,), notes="two pans, a hard cut at 30"))
    pan = folder / "pan.mp4"
    if not pan.exists():
        _write(pan, _pan(rocket, 60, (4.0, 2.0), SIZE), SIZE)
    clips.append(BenchClip("made: pan", pan, notes="4 px/frame across a photo"))
    static = folder / "static.mp4"
    if not static.exists():
        rng = np.random.default_rng(0)

        def noisy() -> Iterator[np.ndarray]:
            for _ in range(50):
                noise = rng.normal(0, 2.0, chelsea.shape)
                yield np.clip(chelsea + noise, 0, 255).astype(np.uint8)

        _write(static, noisy(), SIZE)
    clips.append(BenchClip("made: static", static, notes="a still shot, sensor noise"))
    return clips


def scaled_bunny(folder: Path, size: tuple[int, int] = (640, 360)) -> Path:
    """Big Buck Bunny at 640x360 25 fps with its sound (the real-time factor's clip)."""
    path = folder / "bunny640.mp4"
    if path.exists():
        return path
    source = shared_dir() / "testdata" / "video" / "bigbuckbunny.mp4"
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        writer = Mp4Writer(
            path,
            *size,
            time_base=stream.time_base or Fraction(1, 12800),
            rate=Fraction(FPS),
            audio_from=source,
        )
        try:
            for frame in container.decode(stream):
                bgr = frame.reformat(width=size[0], height=size[1], format="bgr24").to_ndarray()
                writer.write(bgr, int(frame.pts or 0), int(frame.duration or 512))
            writer.commit()
        except BaseException:
            writer.abort()
            raise
    return path


def long_720p(folder: Path, seconds: int = 60) -> Path:
    """A `seconds` long 1280x720 25 fps clip: Big Buck Bunny's frames over and over."""
    path = folder / f"long{seconds}s_720p.mp4"
    if path.exists():
        return path
    source = shared_dir() / "testdata" / "video" / "bigbuckbunny.mp4"

    def frames() -> Iterator[np.ndarray]:
        made = 0
        while True:
            with av.open(str(source)) as container:
                for frame in container.decode(video=0):
                    if made == seconds * FPS:
                        return
                    made += 1
                    yield frame.to_ndarray(format="bgr24")

    return _write(path, frames(), (1280, 720))

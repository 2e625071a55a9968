"""Small clips and GIFs written with PyAV inside the tests (no binary fixtures), and the
helpers that read results back."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.audio.stream
import av.video.stream
import cv2
import numpy as np
from PIL import Image, ImageSequence

from inference.colorize import Colorizer
from inference.registry import PACKAGE_MODEL_DIR, colorize_model_spec
from inference.sessions import ModelSession

MODEL = PACKAGE_MODEL_DIR / colorize_model_spec("embedded").filename


def embedded_colorizer() -> Colorizer:
    """The shipped model on real onnxruntime (one thread: the suite runs beside others)."""
    session = ModelSession("embedded", MODEL, threads=1, warmup_shape=Colorizer.warmup_shape)
    return Colorizer(session)


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A colourful, textured BGR picture (smooth blobs and some edges)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for c in range(3):
        fx, fy = rng.uniform(0.02, 0.09, 2).tolist()
        phase = float(rng.uniform(0, 6))
        channels.append(128 + 90 * np.sin(x * fx + phase) * np.cos(y * fy + c))
    image = np.clip(np.dstack(channels), 0, 255).astype(np.uint8)
    for _ in range(4):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.circle(image, (cx, cy), max(2, min(width, height) // 6), colour, -1)
    return image


def panning(count: int, width: int, height: int, step: int = 2, seed: int = 0) -> list[np.ndarray]:
    """`count` frames of a window moving `step` pixels right per frame over a wide scene."""
    wide = scene(width + step * count, height, seed)
    return [np.ascontiguousarray(wide[:, i * step : i * step + width]) for i in range(count)]


@dataclass(frozen=True)
class AudioSpec:
    codec: str = "aac"
    rate: int = 48000
    layout: str = "stereo"
    sample_format: str = "fltp"


def write_video(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 10,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: AudioSpec | None = None,
    rotation: int = 0,
    container_format: str | None = None,
    faststart: bool = True,
    gop: int = 5,
    codec: str = "libx264",
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode BGR frames as H.264 (MP4 or any container); `pts` in `time_base` units gives a
    variable frame rate; `audio` adds a tone of the clip's length; `metadata` are container
    tags (e.g. a phone's "location")."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart and path.suffix == ".mp4" else {}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        out.metadata.update(metadata or {})
        options = {"g": str(gop), "bf": "0"} if codec == "libx264" else {"g": str(gop)}
        stream = out.add_stream(codec, rate=fps, options=options)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        base = time_base or Fraction(1, fps)
        stream.time_base = base
        stream.codec_context.time_base = base
        if rotation:
            stream.set_display_rotation(rotation)
        sound = _add_audio(out, audio) if audio else None
        for index, bgr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
            frame.pts = pts[index] if pts is not None else index
            frame.time_base = base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None and audio is not None:
            last = pts[-1] + (pts[-1] - pts[-2]) if pts is not None else len(frames)
            _write_tone(out, sound, audio, float(last * base))
    return path


def _add_audio(out: av.container.OutputContainer, spec: AudioSpec) -> av.audio.stream.AudioStream:
    stream = out.add_stream(spec.codec, rate=spec.rate, layout=spec.layout)
    assert isinstance(stream, av.audio.stream.AudioStream)
    return stream


def _write_tone(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    spec: AudioSpec,
    seconds: float,
) -> None:
    channels = 1 if spec.layout == "mono" else 2
    chunk = 1024
    total = int(seconds * spec.rate)
    planar = spec.sample_format.endswith("p")
    dtype = np.int16 if spec.sample_format.startswith("s16") else np.float32
    for start in range(0, total, chunk):
        t = (np.arange(start, min(total, start + chunk)) / spec.rate).astype(np.float32)
        tone = 0.3 * np.sin(2 * np.pi * 440 * t)
        samples = np.repeat(tone[np.newaxis], channels, axis=0)
        if dtype == np.int16:
            samples = samples * 32767
        data = samples.astype(dtype) if planar else samples.T.reshape(1, -1).astype(dtype)
        frame = av.AudioFrame.from_ndarray(data, format=spec.sample_format, layout=spec.layout)
        frame.sample_rate = spec.rate
        frame.pts = start
        frame.time_base = Fraction(1, spec.rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w", format="ipod") as out:
        spec = AudioSpec()
        _write_tone(out, _add_audio(out, spec), spec, seconds)
    return path


def write_gif(
    path: Path,
    frames: Sequence[np.ndarray],
    durations_cs: Sequence[int],
    loop: int | None = 0,
) -> Path:
    """A GIF through Pillow (an independent encoder): per-frame delays in centiseconds."""
    images = [Image.fromarray(np.ascontiguousarray(f[..., ::-1])) for f in frames]
    params: dict[str, object] = {"duration": [d * 10 for d in durations_cs], "disposal": 1}
    if loop is not None:
        params["loop"] = loop
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], optimize=False, **params)
    return path


@dataclass(frozen=True)
class ClipFacts:
    codec: str
    pix_fmt: str | None
    width: int
    height: int
    frames: int
    times: list[float]  # each frame's presentation time, seconds
    durations: list[float]
    duration: float  # of the video stream, seconds
    audio_codec: str | None
    bgr: list[np.ndarray]


def read_clip(path: Path) -> ClipFacts:
    """Decode a result back with PyAV: its streams, every frame and its timing."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        times, durations, images = [], [], []
        for frame in container.decode(stream):
            assert frame.time_base is not None and frame.pts is not None
            times.append(float(frame.pts * frame.time_base))
            durations.append(float((frame.duration or 0) * frame.time_base))
            images.append(frame.to_ndarray(format="bgr24"))
        duration = times[-1] + durations[-1] - times[0]
        return ClipFacts(
            codec=stream.codec_context.name,
            pix_fmt=stream.codec_context.pix_fmt,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            frames=len(images),
            times=times,
            durations=durations,
            duration=duration,
            audio_codec=audio,
            bgr=images,
        )


def gif_delays_and_loop(path: Path) -> tuple[list[int], int | None]:
    """Per-frame delays (centiseconds) and the loop count, read by Pillow."""
    with Image.open(path) as image:
        loop = image.info.get("loop")
        delays = [round(f.info["duration"] / 10) for f in ImageSequence.Iterator(image)]
    return delays, loop


def gif_bomb(width: int, height: int, frames: int, delay_cs: int = 2) -> bytes:
    """A GIF with a `width` x `height` logical screen and `frames` frames of one pixel each:
    a few bytes a frame on disk, a full canvas a frame for a decoder."""
    one = io.BytesIO()
    Image.new("P", (1, 1), 0).save(one, "GIF")
    data = one.getvalue()
    table_bytes = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    body = data[13 + table_bytes : -1]  # the frame's blocks, without the trailer
    image = body[body.index(b"\x2c") :]
    control = b"\x21\xf9\x04\x00" + struct.pack("<H", delay_cs) + b"\x00\x00"
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, data[10], 0, 0)
    looping = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return screen + data[13 : 13 + table_bytes] + looping + (control + image) * frames + b";"

"""What a processed clip comes back as, and what progress reports carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inference.video.writers import OutputKind


@dataclass(frozen=True)
class VideoProgress:
    fraction: float  # 0..1 of the frames done
    eta_seconds: float | None  # None until there is enough to estimate from
    frames_done: int
    frames_total: int


@dataclass(frozen=True)
class VideoResult:
    """Everything a reply needs. The file at `path` is complete (it was renamed into place)."""

    path: Path
    kind: OutputKind  # "mp4" or "gif"
    width: int
    height: int
    duration: float  # seconds
    fps: float
    frames: int
    has_audio: bool
    audio_copied: bool  # the sound was copied as it was (else re-encoded to AAC, or none)
    scaled_down: bool  # the frames were larger than MAX_VIDEO_PIXELS and were scaled to fit
    colourised: bool
    had_colour: bool  # the clip was already in colour (colourise turned it grey first)
    operation: str
    filter_name: str | None
    seconds: float  # wall time taken
    size_bytes: int
    reencoded_for_size: bool = False  # a lower bitrate (or size, for a GIF) to fit a budget
    damaged_frames: int = 0  # stood in for by the last good frame
    model_runs: int = 0
    propagated_frames: int = 0  # coloured by the flow alone, between model runs
    duplicates: int = 0
    cuts: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    @property
    def mime_type(self) -> str:
        return "image/gif" if self.kind == "gif" else "video/mp4"

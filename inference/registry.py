"""The catalogue of colourisation models, by name, and where each one lives.

The embedded model ships inside the package (`inference/models/`); the published Zhang et al.
checkpoints are pulled and converted to ONNX into `COLORBOT_MODEL_DIR` by `colorbot models pull`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_MODEL_DIR = Path(__file__).parent / "models"


class ModelNotInstalledError(RuntimeError):
    """The configured model is not on disk; the message says how to get it (for operators)."""


@dataclass(frozen=True)
class ColorizeModelSpec:
    name: str
    title: str
    licence: str
    filename: str
    packaged: bool
    source_urls: tuple[str, ...] = ()
    source_bytes: int | None = None
    source_sha256: str | None = None

    def path(self, model_dir: Path) -> Path:
        return (PACKAGE_MODEL_DIR if self.packaged else model_dir) / self.filename


COLORIZE_MODELS: dict[str, ColorizeModelSpec] = {
    spec.name: spec
    for spec in (
        ColorizeModelSpec(
            name="embedded",
            title="colorbot's own model, trained here; ships in the package",
            licence="weights: see inference/models/colorize-embedded.md (research-only data)",
            filename="colorize-embedded.onnx",
            packaged=True,
        ),
        ColorizeModelSpec(
            name="eccv16",
            title="Zhang et al., Colorful Image Colorization (ECCV 2016)",
            licence="BSD-2-Clause (richzhang/colorization)",
            filename="eccv16.onnx",
            packaged=False,
            source_urls=(
                "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
                "https://huggingface.co/ckpt/colorization/resolve/main/"
                "colorization_release_v2-9b330a0b.pth",
            ),
            source_bytes=128_976_165,
            source_sha256="9b330a0bae53f4ded77b1e23defbf78beaa09c10ebc4c4999e8e4f4a160b93f9",
        ),
        ColorizeModelSpec(
            name="siggraph17",
            title="Zhang et al., Real-Time User-Guided Image Colorization (SIGGRAPH 2017)",
            licence="BSD-2-Clause (richzhang/colorization)",
            filename="siggraph17.onnx",
            packaged=False,
            source_urls=("https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",),
            source_sha256="df00044c0a4d7c3edcecf6f75437ce346a66e7a42612d9b968e1a7e17dbc6f66",
        ),
    )
}


def colorize_model_spec(name: str) -> ColorizeModelSpec:
    try:
        return COLORIZE_MODELS[name]
    except KeyError:
        known = ", ".join(COLORIZE_MODELS)
        raise ModelNotInstalledError(
            f"unknown colourisation model {name!r} (known: {known})"
        ) from None


def find_colorize_model(name: str, model_dir: Path) -> Path:
    """The ONNX file of model `name`, or `ModelNotInstalledError` saying how to get it."""
    spec = colorize_model_spec(name)
    path = spec.path(model_dir)
    if path.is_file():
        return path
    if spec.packaged:
        raise ModelNotInstalledError(
            f"the {name} colourisation model is not installed ({path} is missing): "
            "reinstall colorbot, or run `colorbot models pull eccv16` and set COLORIZE_MODEL=eccv16"
        )
    raise ModelNotInstalledError(
        f"the {name} colourisation model is not installed in {model_dir}: "
        f"run `colorbot models pull {name}` first"
    )

"""`TrainConfig`: the committed `config.toml`, overridable key by key from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from training.colorize.shards import REPO_ROOT

CONFIG_PATH = Path(__file__).with_name("config.toml")


@dataclass
class TrainConfig:
    name: str = "embedded-v1"
    data_dir: str = "../shared/colorize-training"
    models_dir: str = "../shared/models"
    runs_dir: str = "training/runs"
    seed: int = 20261124
    sizes: list[int] = field(default_factory=lambda: [160, 192, 224])
    size_weights: list[float] = field(default_factory=lambda: [0.3, 0.35, 0.35])
    crop_min: float = 0.7
    widths: list[int] = field(default_factory=lambda: [160, 128, 96, 64])
    rebalance_mix: float = 0.5
    rebalance_floor: float = 0.0  # no rebalancing weight below this (embedded-v3: neutral pixels)
    sample_fraction: float = 0.25
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    max_steps: int = 10000
    max_minutes: float = 110.0
    final_lr_fraction: float = 0.03
    checkpoint_minutes: float = 4.0
    validate_minutes: float = 15.0
    validate_photos: int = 256
    validate_size: int = 224
    decode_temperature: float = 0.38
    encoder_threads: int = 1
    torch_threads: int = 1
    train_limit: int | None = None  # use only the first N training photos (smoke tests)
    # Fine-tuning (embedded-v2): start the decoder from an exported model, train the encoder's
    # S/32 stages too (at their own learning rate), keep every batch norm's statistics frozen.
    init_from: str = ""
    finetune_encoder: bool = False
    encoder_first_block: int = 11  # the first block fine-tuning trains: 11 (S/32) or 5 (S/16)
    encoder_learning_rate: float = 1e-4
    freeze_norm: bool = False
    sharpen_probability: float = 0.0
    # embedded-v3: a share of the training photos become mosaics of 2x2 or 3x3 photos, so people
    # and things are seen as small as in a full-size photo shrunk to S.
    mosaic_probability: float = 0.0

    def path(self, key: str) -> Path:
        """A path setting, resolved against the repository root."""
        return (REPO_ROOT / str(getattr(self, key))).resolve()

    @property
    def run_dir(self) -> Path:
        return self.path("runs_dir") / self.name

    def check(self) -> None:
        if any(size % 32 for size in self.sizes) or self.validate_size % 32:
            raise ValueError("sizes must be multiples of 32 (the encoder's stride)")
        if len(self.sizes) != len(self.size_weights):
            raise ValueError("sizes and size_weights differ in length")
        if self.encoder_first_block not in (5, 11):
            raise ValueError("encoder_first_block is 11 (S/32 stages) or 5 (S/16 stages too)")
        if len(self.widths) != 4:
            raise ValueError("widths needs 4 values (S/32, S/16, S/8, S/4)")


def _parse_value(kind: object, text: str) -> object:
    kind_text = str(kind)
    if kind_text.startswith("list[int]"):
        return [int(v) for v in text.split(",")]
    if kind_text.startswith("bool"):
        return text.lower() in {"1", "true", "yes"}
    if kind_text.startswith("list[float]"):
        return [float(v) for v in text.split(",")]
    if kind_text.startswith("int"):
        return int(text)
    if kind_text.startswith("float"):
        return float(text)
    return text


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """--config FILE plus one --key flag per field (lists comma-separated)."""
    parser.add_argument("--config", type=Path, default=CONFIG_PATH)
    for item in dataclasses.fields(TrainConfig):
        flag = "--" + item.name.replace("_", "-")
        parser.add_argument(flag, dest=f"set_{item.name}", metavar=item.name.upper())


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config file, then any flags given on top of it."""
    values = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    known = {item.name: item for item in dataclasses.fields(TrainConfig)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown keys in {args.config}: {', '.join(sorted(unknown))}")
    for name, item in known.items():
        text = getattr(args, f"set_{name}", None)
        if text is not None:
            values[name] = _parse_value(item.type, text)
    config = TrainConfig(**values)
    config.check()
    return config

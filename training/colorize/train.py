"""Train the colouriser's decoder over the frozen encoder; checkpoints let a run resume.

    python -m training.colorize.train                      # a fresh run (config.toml)
    python -m training.colorize.train --resume             # go on from <run>/last.pt
    python -m training.colorize.train --name smoke --train-limit 256 --max-steps 20

Writes `training/runs/<name>/`: last.pt (every checkpoint_minutes, atomically), final.pt,
encoder-taps.onnx (the frozen encoder for onnxruntime), log.jsonl and config.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.colorize.batches import (
    Batch,
    BatchMaker,
    BatchRecipe,
    TapRunner,
    export_encoder_taps,
    lightness_and_ab,
    prefetch,
)
from training.colorize.bins import AbBins, AbStats, rebalance_weights
from training.colorize.config import TrainConfig, add_config_flags, config_from_args
from training.colorize.metrics import AucCurve
from training.colorize.network import ColorDecoder, EncoderTaps, EncoderTop, load_encoder
from training.colorize.shards import load_split
from training.colorize.warmstart import load_decoder_from_onnx, load_encoder_top_from_onnx


def all_taps(taps: list[torch.Tensor], top: EncoderTop | None) -> tuple[torch.Tensor, ...]:
    """The five taps the decoder reads: as computed, or the bottom's plus the top's (which
    starts from the bottom's last)."""
    if top is None:
        return tuple(taps)
    return (*taps, *top(taps[-1]))


def set_training(decoder: ColorDecoder, top: EncoderTop | None, config: TrainConfig) -> None:
    """Training mode, with batch-norm statistics frozen where the config says (always in the
    encoder's top: small batches of 7x7 maps)."""
    decoder.train()
    if config.freeze_norm:
        for module in decoder.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
    if top is not None:
        top.eval()  # no dropout in it; frozen norms; its weights still get gradients


def soft_cross_entropy(decoder: ColorDecoder, batch: Batch, top: EncoderTop | None) -> torch.Tensor:
    """Rebalanced cross-entropy of the sampled pixels against their soft-encoded targets."""
    features = decoder(all_taps(batch.taps, top))
    flat = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    log_p = F.log_softmax(decoder.classify_points(flat[batch.points]), dim=1)
    cross_entropy = -(log_p.gather(1, batch.target_index) * batch.target_weight).sum(dim=1)
    return (cross_entropy * batch.pixel_weight).mean()


def learning_rate(config: TrainConfig, step: int, elapsed: float) -> tuple[float, float]:
    """(learning rate, progress 0..1): warm-up, then cosine over steps or minutes."""
    progress = max(step / config.max_steps, elapsed / (config.max_minutes * 60))
    warmup = min(1.0, (step + 1) / config.warmup_steps)
    low = config.final_lr_fraction
    cosine = low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.learning_rate * warmup * cosine, progress


class Validator:
    """Rebalanced loss and a quick AuC on the first validation photos, at one size."""

    def __init__(self, config: TrainConfig, bins: AbBins, weights: np.ndarray, taps: TapRunner):
        _, pixels = load_split(config.path("data_dir"), "val", config.validate_photos)
        items = [lightness_and_ab(rgb, config.validate_size) for rgb in pixels]
        lightness = np.stack([item[0] for item in items])[:, None].astype(np.float32)
        self.ab = np.stack([item[1] for item in items])
        self.taps = [taps(lightness[i : i + 32]) for i in range(0, len(lightness), 32)]
        self.bins = bins
        self.weights = torch.from_numpy(weights.astype(np.float32))
        self.centres = torch.from_numpy(bins.centres)
        self.temperature = config.decode_temperature

    @torch.no_grad()
    def __call__(self, decoder: ColorDecoder, top: EncoderTop | None) -> dict[str, float]:
        decoder.eval()
        curve, losses, start = AucCurve(self.bins.count), [], 0
        for chunk in self.taps:
            taps = all_taps([torch.from_numpy(t) for t in chunk], top)
            logits = decoder.classify(decoder(taps))
            logits = logits.permute(0, 2, 3, 1)
            ab = self.ab[start : start + len(logits)]
            start += len(logits)
            index, weight = self.bins.soft_encode(ab)
            log_p = F.log_softmax(logits, dim=-1)
            picked = log_p.gather(-1, torch.from_numpy(index)) * torch.from_numpy(weight)
            losses.append((-picked.sum(-1) * self.weights[index[..., 0]]).mean().item())
            probabilities = torch.softmax(logits / self.temperature, dim=-1)
            curve.add((probabilities @ self.centres).numpy(), ab, self.bins.nearest(ab))
        return {
            "val_loss": float(np.mean(losses)),
            "auc": curve.plain(),
            "auc_rb": curve.rebalanced(),
        }


def save_checkpoint(path: Path, **state: object) -> None:
    partial = path.with_suffix(".tmp")
    torch.save(state, partial)
    partial.replace(path)


def log_line(run_dir: Path, record: Mapping[str, object]) -> None:
    print(json.dumps(record), flush=True)
    with open(run_dir / "log.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def train(config: TrainConfig, resume: bool) -> None:
    torch.set_num_threads(config.torch_threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(config.seed)
    run_dir = config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    encoder = load_encoder()
    first = config.encoder_first_block
    top = EncoderTop(encoder, first) if config.finetune_encoder else None
    taps_path = run_dir / (f"encoder-bottom-{first}.onnx" if top else "encoder-taps.onnx")
    if not taps_path.exists():
        export_encoder_taps(EncoderTaps(encoder, first if top else None), taps_path)
    taps = TapRunner(taps_path, config.encoder_threads)
    bins = AbBins.load(config.path("models_dir"))
    weights = rebalance_weights(AbStats.load().prior, config.rebalance_mix, config.rebalance_floor)
    _, pixels = load_split(config.path("data_dir"), "train", config.train_limit)
    recipe = BatchRecipe(
        seed=config.seed,
        batch_size=config.batch_size,
        sizes=tuple(config.sizes),
        size_weights=tuple(config.size_weights),
        crop_min=config.crop_min,
        sample_fraction=config.sample_fraction,
        sharpen_probability=config.sharpen_probability,
        mosaic_probability=config.mosaic_probability,
    )
    maker = BatchMaker(pixels, recipe, bins, weights, taps)
    validate = Validator(config, bins, weights, taps)

    decoder = ColorDecoder(tuple(config.widths), bins.count)  # type: ignore[arg-type]
    if config.init_from and not resume:
        load_decoder_from_onnx(decoder, config.path("init_from"))
        if top is not None:  # the exported encoder top: ImageNet's (v1) or fine-tuned (v2)
            load_encoder_top_from_onnx(top, config.path("init_from"))
    groups = [{"params": list(decoder.parameters()), "base_lr": config.learning_rate}]
    if top is not None:
        groups.append({"params": list(top.parameters()), "base_lr": config.encoder_learning_rate})
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    step, elapsed = 0, 0.0
    if resume:
        state = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=False)
        decoder.load_state_dict(state["decoder"])
        if top is not None:
            top.load_state_dict(state["encoder_top"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
    log_line(run_dir, {"event": "start", "step": step, "photos": len(pixels), "resume": resume})

    def checkpoint(path: Path, resumable: bool = True) -> None:
        extra: dict[str, object] = {"encoder_top": top.state_dict()} if top is not None else {}
        if resumable:
            extra["optimizer"] = optimizer.state_dict()
        save_checkpoint(
            path,
            **extra,
            decoder=decoder.state_dict(),
            step=step,
            elapsed=elapsed,
            config=dataclasses.asdict(config),
        )

    set_training(decoder, top, config)
    started = time.monotonic() - elapsed
    last_checkpoint = last_validation = last_log = time.monotonic()
    window_loss, window_photos = [], 0
    for batch in prefetch(maker, step):
        lr, progress = learning_rate(config, step, elapsed)
        if progress >= 1.0:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr * group["base_lr"] / config.learning_rate
        loss = soft_cross_entropy(decoder, batch, top)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        step += 1
        elapsed = time.monotonic() - started
        window_loss.append(loss.item())
        window_photos += config.batch_size
        now = time.monotonic()
        if now - last_log >= 60:
            rate = window_photos / (now - last_log)
            record = {"step": step, "loss": float(np.mean(window_loss)), "lr": lr}
            log_line(run_dir, record | {"photos_per_s": rate, "minutes": elapsed / 60})
            window_loss, window_photos, last_log = [], 0, now
        if now - last_validation >= config.validate_minutes * 60:
            log_line(run_dir, {"step": step, **validate(decoder, top)})
            checkpoint(run_dir / f"step{step:05d}.pt", resumable=False)  # to evaluate as it goes
            set_training(decoder, top, config)
            last_validation = time.monotonic()
        if now - last_checkpoint >= config.checkpoint_minutes * 60:
            checkpoint(run_dir / "last.pt")
            last_checkpoint = time.monotonic()
    checkpoint(run_dir / "last.pt")
    checkpoint(run_dir / "final.pt")
    log_line(
        run_dir, {"event": "done", "step": step, "minutes": elapsed / 60, **validate(decoder, top)}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the embedded colourisation model.")
    add_config_flags(parser)
    parser.add_argument("--resume", action="store_true", help="go on from <run>/last.pt")
    args = parser.parse_args()
    train(config_from_args(args), args.resume)


if __name__ == "__main__":
    main()

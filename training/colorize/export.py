"""Export a trained checkpoint as the shipped ONNX model, and check it against PyTorch.

    python -m training.colorize.export --size 224 --temperature 0.38
    python -m training.colorize.export --checkpoint training/runs/x/last.pt --out /tmp/c.onnx

The graph holds everything: L* -> grey sRGB -> encoder -> decoder -> softmax(logits / T) @ bin
centres. Input "L" float32 [N,1,H,W] (CIE L* 0..100; H and W dynamic, multiples of 32, about S*S
pixels in all: metadata `colorbot.input_size` = S, `colorbot.input_stride` = 32), output "ab"
float32 [N,2,H/4,W/4].
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch

from training.colorize.batches import lightness_and_ab
from training.colorize.bins import AbBins
from training.colorize.network import (
    TOP_FIRST_BLOCK,
    AnnealedMean,
    ColorDecoder,
    ColorizeNet,
    EncoderTaps,
    EncoderTop,
    load_encoder,
)
from training.colorize.shards import DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, REPO_ROOT, load_split

SHIPPED_PATH = REPO_ROOT / "inference" / "models" / "colorize-embedded.onnx"
MODEL_NAME = "colorize-embedded"
MAX_BYTES = 20 * 1024 * 1024
MAX_DIFFERENCE = 0.05  # ab units, ONNX against PyTorch


def build_net(
    checkpoint: Path, temperature: float, models_dir: Path
) -> tuple[ColorizeNet, dict[str, Any]]:
    """The whole model from a training checkpoint, in eval mode, and the checkpoint."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    centres = torch.from_numpy(AbBins.load(models_dir).centres)
    decoder = ColorDecoder(tuple(state["config"]["widths"]), centres.shape[0])
    decoder.load_state_dict(state["decoder"])
    encoder = load_encoder()
    if "encoder_top" in state:  # a fine-tuned encoder: its top stages from the checkpoint
        first = state["config"].get("encoder_first_block", TOP_FIRST_BLOCK)
        EncoderTop(encoder, first).load_state_dict(state["encoder_top"])
    net = ColorizeNet(EncoderTaps(encoder), decoder, AnnealedMean(centres, temperature))
    return net.eval(), state


def version_of(state: dict[str, Any]) -> str:
    """<run>-step<N>, or <run>-mean-<N>+<M>... for an average of step checkpoints."""
    name = state["config"]["name"]
    if "averaged" in state:
        steps = [Path(path).stem.removeprefix("step").lstrip("0") for path in state["averaged"]]
        return f"{name}-mean-{'+'.join(steps)}"
    return f"{name}-step{state['step']}"


def architecture_of(state: dict[str, Any]) -> str:
    first = state["config"].get("encoder_first_block", TOP_FIRST_BLOCK)
    stages = "S/16 and S/32 stages" if first < TOP_FIRST_BLOCK else "S/32 stages"
    encoder = f"{stages} fine-tuned" if "encoder_top" in state else "frozen"
    return (
        f"EfficientNet-Lite0 (ImageNet, {encoder}) + U-Net decoder, "
        "313-bin classification, annealed mean"
    )


def export_onnx(net: ColorizeNet, size: int, path: Path, metadata: dict[str, str]) -> None:
    net.eval()
    with torch.no_grad():
        torch.onnx.export(
            net,
            (torch.full((1, 1, size, size), 50.0),),
            str(path),
            input_names=["L"],
            output_names=["ab"],
            dynamic_axes={"L": {0: "N", 2: "H", 3: "W"}, "ab": {0: "N", 2: "h", 3: "w"}},
            opset_version=17,
            dynamo=False,
        )
    net.eval()  # torch.onnx.export restores the training flag it found: keep eval for checks
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def check_against_torch(net: ColorizeNet, path: Path, lightness: np.ndarray) -> float:
    """Largest |ab| difference between onnxruntime and PyTorch on real photos."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_ab,) = session.run(["ab"], {"L": lightness})
    with torch.no_grad():
        torch_ab = net(torch.from_numpy(lightness)).numpy()
    if onnx_ab.shape != torch_ab.shape:
        raise AssertionError(f"ONNX output {onnx_ab.shape} != PyTorch {torch_ab.shape}")
    return float(np.abs(onnx_ab - torch_ab).max())


def export_checked(
    checkpoint: Path, size: int, temperature: float, out: Path, data_dir: Path, models_dir: Path
) -> float:
    """Export, check against PyTorch on 8 validation photos; -> the largest difference."""
    if size % 32:
        raise ValueError("the working size must be a multiple of 32")
    net, state = build_net(checkpoint, temperature, models_dir)
    metadata = {
        "colorbot.input_size": str(size),
        "colorbot.input_stride": "32",
        "colorbot.model": MODEL_NAME,
        "colorbot.version": version_of(state),
        "colorbot.decode_temperature": f"{temperature:g}",
        "colorbot.architecture": architecture_of(state),
        "colorbot.card": "inference/models/colorize-embedded.md",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(net, size, out, metadata)
    _, pixels = load_split(data_dir, "val", 8)
    lightness = np.stack([lightness_and_ab(rgb, size)[0] for rgb in pixels])[:, None]
    difference = check_against_torch(net, out, lightness.astype(np.float32))
    # H and W are dynamic: a photo at its own aspect ratio (3:2 and 2:3 here) must agree too
    for shape in ((size - 32, size + 64), (size + 64, size - 32)):
        wide = np.stack([cv2.resize(item[0], shape[::-1]) for item in lightness])[:, None]
        difference = max(difference, check_against_torch(net, out, wide.astype(np.float32)))
    if difference > MAX_DIFFERENCE:
        raise AssertionError(f"ONNX and PyTorch differ by {difference:.4f} ab units")
    if out.stat().st_size > MAX_BYTES:
        raise AssertionError(f"{out} is {out.stat().st_size} bytes, over {MAX_BYTES}")
    return difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", type=Path, default=REPO_ROOT / "training/runs/embedded-v1/final.pt"
    )
    parser.add_argument("--size", type=int, default=224, help="working size S (multiple of 32)")
    parser.add_argument("--temperature", type=float, default=0.7, help="chosen by the sweep")
    parser.add_argument("--out", type=Path, default=SHIPPED_PATH)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    difference = export_checked(
        args.checkpoint, args.size, args.temperature, args.out, args.data, args.models
    )
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.1f} MB); ONNX vs PyTorch max |d ab| = {difference:.2e}")


if __name__ == "__main__":
    main()

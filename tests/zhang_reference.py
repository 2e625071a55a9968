"""PyTorch implementations of the published Zhang et al. networks, for tests only.

Written from the published architecture (NOTES.md; richzhang/colorization, BSD-2-Clause): the
module names reproduce the published state_dict keys, so a `state_dict()` of these modules has
the structure of the published checkpoints. `random_state` fills one with weights scaled so that
activations stay in a useful range through 20+ layers (the softmax is neither flat nor one-hot)
and with non-trivial BatchNorm statistics, so a converter that gets any layer wrong shows it.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn


def _block(
    channels: list[int], *, stride_last: int = 1, dilation: int = 1, lead_relu: bool = False
):
    layers: list = [nn.ReLU(True)] if lead_relu else []
    steps = list(itertools.pairwise(channels))
    for n, (c_in, c_out) in enumerate(steps):
        stride = stride_last if n == len(steps) - 1 else 1
        layers += [nn.Conv2d(c_in, c_out, 3, stride, dilation, dilation), nn.ReLU(True)]
    layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class ECCV16(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model1 = _block([1, 64, 64], stride_last=2)
        self.model2 = _block([64, 128, 128], stride_last=2)
        self.model3 = _block([128, 256, 256, 256], stride_last=2)
        self.model4 = _block([256, 512, 512, 512])
        self.model5 = _block([512, 512, 512, 512], dilation=2)
        self.model6 = _block([512, 512, 512, 512], dilation=2)
        self.model7 = _block([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, 2, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(256, 313, 1),
        )
        self.softmax = nn.Softmax(dim=1)
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)
        self.upsample4 = nn.Upsample(scale_factor=4, mode="bilinear")

    def forward(self, lightness):
        x = (lightness - 50.0) / 100.0
        for block in (
            self.model1,
            self.model2,
            self.model3,
            self.model4,
            self.model5,
            self.model6,
            self.model7,
            self.model8,
        ):
            x = block(x)
        return self.upsample4(self.model_out(self.softmax(x))) * 110.0


class SIGGRAPH17(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model1 = _block([4, 64, 64])
        self.model2 = _block([64, 128, 128])
        self.model3 = _block([128, 256, 256, 256])
        self.model4 = _block([256, 512, 512, 512])
        self.model5 = _block([512, 512, 512, 512], dilation=2)
        self.model6 = _block([512, 512, 512, 512], dilation=2)
        self.model7 = _block([512, 512, 512, 512])
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, 2, 1))
        self.model8 = _block([256, 256, 256], lead_relu=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, 2, 1))
        self.model9 = _block([128, 128], lead_relu=True)
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, 2, 1))
        self.model10 = nn.Sequential(
            nn.ReLU(True), nn.Conv2d(128, 128, 3, 1, 1), nn.LeakyReLU(negative_slope=0.2)
        )
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, 1, 1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, 1, 1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, 1, 1))
        self.model_class = nn.Sequential(nn.Conv2d(256, 529, 1))
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, lightness, hints=None, mask=None):
        zeros = lightness * 0
        hints = torch.cat((zeros, zeros), dim=1) if hints is None else hints
        mask = zeros if mask is None else mask
        x = torch.cat(((lightness - 50.0) / 100.0, hints / 110.0, mask), dim=1)
        conv1 = self.model1(x)
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        x = self.model4(conv3[:, :, ::2, ::2])
        x = self.model7(self.model6(self.model5(x)))
        conv8 = self.model8(self.model8up(x) + self.model3short8(conv3))
        conv9 = self.model9(self.model9up(conv8) + self.model2short9(conv2))
        conv10 = self.model10(self.model10up(conv9) + self.model1short10(conv1))
        return self.model_out(conv10) * 110.0


def random_state(network: nn.Module, seed: int = 0) -> OrderedDict:
    """`network`'s state_dict filled with seeded random weights that keep signals alive."""
    generator = torch.Generator().manual_seed(seed)
    state = network.state_dict()
    modules = dict(network.named_modules())
    with torch.no_grad():
        for key, value in state.items():
            module = modules[key.rsplit(".", 1)[0]]
            name = key.rsplit(".", 1)[1]
            if name == "num_batches_tracked":
                value.fill_(1000)
            elif isinstance(module, nn.BatchNorm2d):
                if name in ("weight", "running_var"):
                    value.copy_(0.5 + torch.rand(value.shape, generator=generator))
                else:
                    value.copy_(0.2 * torch.randn(value.shape, generator=generator))
            elif name == "weight":
                fan_in = (
                    value[0].numel()
                    if not isinstance(module, nn.ConvTranspose2d)
                    else (value.shape[0] * value.shape[2] * value.shape[3] / 4)
                )
                std = (2.0 / fan_in) ** 0.5
                value.copy_(std * torch.randn(value.shape, generator=generator))
            else:
                value.copy_(0.05 * torch.randn(value.shape, generator=generator))
    return state


def eccv16_model_out(state: OrderedDict, pts_in_hull) -> None:
    """Set the 313 -> 2 decoder the way the published checkpoint stores it: bin centres / 110."""
    state["model_out.weight"].copy_(
        torch.from_numpy(pts_in_hull.T / 110.0).float()[..., None, None]
    )

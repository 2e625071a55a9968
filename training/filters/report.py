"""The per-filter table written to `training/filters/RESULTS.md`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FilterResult:
    name: str
    terms: int
    mae_naive: float  # the network itself, evaluated per pixel through onnxruntime
    mae_fast: float  # what FilterBank.apply serves (baked tables)
    max_gap: int  # largest |fast - naive| on the training photo, in levels
    colour_only_mae: float  # the colour-only variant (stage one), without the chroma step
    seconds: float
    without_step: float  # the served tables without the chroma step
    before_chroma: float | None = None  # served error before stage three, when that ran


HEADER = """# Filter training results

Mean absolute error in 8-bit levels between each filter's output on `Normal.jpg` and the real
filtered photo (all pixels, all three channels), as written by `python -m training.filters.train`.
instafilter's own networks: 4.2 on average, 7.3 at worst (Earlybird). Target: <= 3.0 on average,
none above 5.5.

Every filter gets the same recipe: stage one trains a colour-only network and one with a
position term (kept where it wins by 0.1 levels: the vignettes); stage two trains the kept one
on; stage three trains it through the chroma step that serving applies after every filter
(`inference/chroma.py`, `training/filters/through_chroma.py`).

- *network*: the exported ONNX network evaluated per pixel, then the chroma step
  (`FilterBank.apply_naive`);
- *served*: the baked lookup tables, then the chroma step (`FilterBank.apply`), what users get;
- *max gap*: the largest |served - network| on any pixel and channel of the training photo;
- *without the step*: the served tables alone, no chroma step;
- *before stage 3*: the served error (with the step) of the network stage two left;
- *colour only*: the colour-only variant after stage one, without the step (what a per-pixel
  colour map reaches); *position* says which variant ships.

Why a chroma step: both photos of every pair are JPEGs (quality ~90) with 4:2:0 chroma, so the
real filtered photo carries colour at half the resolution of brightness. A per-pixel colour map
turns fine brightness texture into colour texture at full resolution, which the real photos
do not have. An earlier probe (commit 47dde99: a 5x5 kernel per YCrCb channel fitted to each
filter's residual) found all 40 asking for the same thing: chroma spread over the window, and a
mild luma blur. The shipped step takes only the chroma half, fixed and the same for all 40:
Cb and Cr smoothed by a Gaussian of sigma 1.2 pixels, luma kept exactly, so brightness detail is
never blurred and grey output (Inkwell, Willow) is unchanged. Any sigma from 0.8 to 1.6 scores
within 0.04 levels of it; a luma blur on top would take another ~0.04 and is not applied. The
JPEG the bot sends subsamples the colour the same way in any case.

What is left is mostly compression noise, not a missing effect. Re-encoding a network's own
output with the target's quantisation tables moves it by 1.4-1.7 levels on its own (1977,
Lo-Fi, Mayfair), `Normal.jpg` carries its own noise which a contrasty filter amplifies, and the
residual concentrates in fine texture (the top-left flowers: ~5 levels) while 5x5 block means of
the signed residual stay within about 1 level, i.e. the vignettes and gradients are captured.
"""


def write_results(path: Path, results: list[FilterResult]) -> None:
    lines = [
        HEADER,
        "| filter | position | network | served | max gap | without the step | before stage 3 "
        "| colour only | train s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {'yes' if r.terms else 'no'} | {r.mae_naive:.2f} | {r.mae_fast:.2f} "
            f"| {r.max_gap} | {r.without_step:.2f} "
            f"| {'-' if r.before_chroma is None else f'{r.before_chroma:.2f}'} "
            f"| {r.colour_only_mae:.2f} | {r.seconds:.0f} |"
        )
    if results:
        count = len(results)
        worst = max(results, key=lambda r: r.mae_fast)
        lines += [
            "",
            f"**Mean over {count} filters**: network "
            f"{sum(r.mae_naive for r in results) / count:.3f}, served "
            f"{sum(r.mae_fast for r in results) / count:.3f} "
            f"(without the chroma step {sum(r.without_step for r in results) / count:.2f}); "
            f"**worst** served "
            f"{worst.mae_fast:.2f} ({worst.name}); largest served-vs-network gap "
            f"{max(r.max_gap for r in results)} levels; "
            f"{sum(1 for r in results if r.terms)} filters use the position.",
        ]
    path.write_text("\n".join(lines) + "\n")

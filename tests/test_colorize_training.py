"""Colourisation training pieces (needs PyTorch and the EfficientNet-Lite0 weights, dev
dependencies): the mosaic augmentation, the rebalancing floor, and the warm start that reads an
exported model back for a fine-tune, checked against the shipped model itself."""

from __future__ import annotations

import numpy as np
import pytest

from training.colorize.batches import BatchRecipe, mosaic, resize
from training.colorize.bins import AbStats, rebalance_weights


def _recipe(mosaic_probability: float) -> BatchRecipe:
    return BatchRecipe(
        seed=1,
        batch_size=4,
        sizes=(224,),
        size_weights=(1.0,),
        crop_min=0.7,
        sample_fraction=0.25,
        mosaic_probability=mosaic_probability,
    )


def _tiles(count: int) -> list[np.ndarray]:
    """Flat-coloured 144 px photos, each its own colour."""
    return [np.full((144, 144, 3), (20 * i, 255 - 20 * i, 7 * i), np.uint8) for i in range(count)]


@pytest.mark.parametrize(("grid", "side"), [(2, 224), (3, 160), (3, 224), (2, 192)])
def test_a_mosaic_puts_each_photo_in_its_cell_on_4_pixel_borders(grid: int, side: int) -> None:
    tiles = _tiles(grid * grid)
    result = mosaic(tiles, side)
    assert result.shape == (side, side, 3) and result.dtype == np.uint8
    # every cell is one flat photo; the cells' borders are multiples of 4, so the ab targets at
    # S/4 never mix two photos
    changes_down = np.flatnonzero(np.any(result[1:, 0] != result[:-1, 0], axis=-1)) + 1
    changes_across = np.flatnonzero(np.any(result[0, 1:] != result[0, :-1], axis=-1)) + 1
    assert len(changes_down) == len(changes_across) == grid - 1
    assert all(cut % 4 == 0 for cut in [*changes_down, *changes_across])
    cuts = [0, *changes_down.tolist(), side]
    for index, tile in enumerate(tiles):
        row, column = divmod(index, grid)
        cell = result[cuts[row] : cuts[row + 1], cuts[column] : cuts[column + 1]]
        assert (cell == tile[0, 0]).all(), index
        assert abs(cell.shape[0] - side / grid) < 4 and abs(cell.shape[1] - side / grid) < 4


def test_a_mosaic_shrinks_its_photos_by_area_as_served_photos_are() -> None:
    rng = np.random.default_rng(2)
    stripes = np.zeros((144, 144, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: area averaging keeps their mean, no pure pixel
    tiles = [stripes, *(_tiles(3))]
    cell = mosaic(tiles, 224)[:112, :112]  # 144 -> 112 px (nearest would keep 0s and 255s)
    assert cell.mean() == pytest.approx(127.5, abs=3)
    assert np.isin(cell, (0, 255)).mean() < 0.01
    assert resize(rng.integers(0, 256, (100, 90, 3), np.uint8), 50, 60).shape == (60, 50, 3)


def test_a_mosaic_needs_a_square_number_of_photos() -> None:
    with pytest.raises(ValueError, match="square grid"):
        mosaic(_tiles(3), 224)


def test_mosaics_off_draw_nothing_so_older_recipes_make_the_same_batches() -> None:
    off, on = _recipe(0.0), _recipe(1.0)
    rng = np.random.default_rng(7)
    assert off.mosaic_grid(rng) == 0
    assert rng.random() == np.random.default_rng(7).random()  # the stream is untouched
    grids = [on.mosaic_grid(np.random.default_rng(seed)) for seed in range(300)]
    assert set(grids) == {2, 3}
    assert 0.2 < grids.count(3) / len(grids) < 0.47  # a third of the mosaics are 3x3


def test_the_rebalancing_floor_lifts_the_common_colours_only() -> None:
    prior = AbStats.load().prior
    plain, floored = rebalance_weights(prior, 0.5), rebalance_weights(prior, 0.5, floor=0.35)
    for weights in (plain, floored):
        assert float((prior * weights).sum()) == pytest.approx(1.0)
    neutral = int(np.argmax(prior))  # the grey bin is the most common
    assert plain[neutral] < 0.15  # the paper's weights: a grey pixel counts for almost nothing
    assert floored[neutral] / floored.max() > 2.5 * plain[neutral] / plain.max()
    lifted = plain < 0.35
    assert np.allclose(floored[~lifted] / floored[~lifted].max(), plain[~lifted] / plain.max())
    assert np.ptp(floored[lifted]) == pytest.approx(0.0, abs=1e-12)
    assert np.array_equal(rebalance_weights(prior, 0.5, floor=0.0), plain)


def test_a_fine_tune_starts_exactly_where_the_shipped_model_ends() -> None:
    """The decoder and the fine-tuned encoder top read back from the shipped ONNX file give
    the shipped model's output in PyTorch; without the top they would not."""
    import onnxruntime as ort
    import torch

    from inference.registry import PACKAGE_MODEL_DIR, colorize_model_spec
    from training.colorize.bins import AbBins
    from training.colorize.network import (
        AnnealedMean,
        ColorDecoder,
        ColorizeNet,
        EncoderTaps,
        EncoderTop,
        load_encoder,
    )
    from training.colorize.shards import DEFAULT_MODELS_DIR
    from training.colorize.warmstart import load_decoder_from_onnx, load_encoder_top_from_onnx

    path = PACKAGE_MODEL_DIR / colorize_model_spec("embedded").filename
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    temperature = float(session.get_modelmeta().custom_metadata_map["colorbot.decode_temperature"])
    centres = torch.from_numpy(AbBins.load(DEFAULT_MODELS_DIR).centres)
    ramp = np.linspace(0, 100, 96 * 160, dtype=np.float32).reshape(1, 1, 96, 160)
    lightness = np.concatenate([ramp, np.full_like(ramp, 35.0)])
    (shipped,) = session.run(["ab"], {"L": lightness})

    def rebuilt(with_top: bool) -> np.ndarray:
        encoder, decoder = load_encoder(), ColorDecoder((160, 128, 96, 64))
        assert load_decoder_from_onnx(decoder, path) == 18
        if with_top:
            assert load_encoder_top_from_onnx(EncoderTop(encoder), path) == 16
        net = ColorizeNet(EncoderTaps(encoder), decoder, AnnealedMean(centres, temperature))
        with torch.no_grad():
            result: np.ndarray = net.eval()(torch.from_numpy(lightness)).numpy()
        return result

    assert np.abs(rebuilt(with_top=True) - shipped).max() < 0.05
    assert np.abs(rebuilt(with_top=False) - shipped).max() > 1.0  # the top was fine-tuned


@pytest.mark.parametrize("first_block", [5, 11])
def test_the_encoder_cut_for_fine_tuning_gives_the_whole_encoders_taps(first_block: int) -> None:
    import torch

    from training.colorize.network import EncoderTaps, EncoderTop, load_encoder
    from training.colorize.train import all_taps

    encoder = load_encoder()
    lightness = torch.linspace(0, 100, 2 * 64 * 96).reshape(2, 1, 64, 96)
    with torch.no_grad():
        whole = EncoderTaps(encoder)(lightness)
        bottom = EncoderTaps(encoder, first_block)
        cut = all_taps(list(bottom(lightness)), EncoderTop(encoder, first_block).eval())
    assert len(bottom.names) == (2 if first_block == 5 else 3)
    assert [tap.shape for tap in cut] == [tap.shape for tap in whole]
    assert all(torch.equal(a, b) for a, b in zip(cut, whole, strict=True))
    with pytest.raises(ValueError, match="starts at a block"):
        EncoderTop(encoder, 7)

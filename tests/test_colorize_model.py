"""The shipped embedded colouriser: its contract, its output on a real photo, and that it beats
the grey baseline on held-out photos. Runs on onnxruntime alone (no torch)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.colorize import WORKING_SIZE_KEY, Colorizer, lab_from_bgr, model_input
from inference.registry import PACKAGE_MODEL_DIR, colorize_model_spec
from inference.sessions import ModelSession

SHARED = Path(__file__).resolve().parents[2] / "shared"
TESTDATA = SHARED / "testdata"
TRAINING_DATA = SHARED / "colorize-training"
MODEL = PACKAGE_MODEL_DIR / colorize_model_spec("embedded").filename
MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    session = ModelSession("embedded", MODEL, threads=1, warmup_shape=Colorizer.warmup_shape)
    return Colorizer(session)


def test_the_model_ships_in_the_package_and_is_small() -> None:
    assert MODEL.is_file(), MODEL
    assert MODEL.stat().st_size <= MAX_BYTES


def test_the_model_honours_the_contract(colorizer: Colorizer) -> None:
    session = colorizer.session
    size = int(session.metadata[WORKING_SIZE_KEY])
    assert colorizer.size == size and size % 32 == 0
    assert session.input_name == "L" and session.output_name == "ab"
    assert session.input_shape[1] == 1
    assert colorizer.stride == 32  # H and W dynamic: photos keep their aspect ratio
    assert session.batchable
    assert session.metadata["colorbot.model"] == "colorize-embedded"
    assert 0 < float(session.metadata["colorbot.decode_temperature"]) <= 1
    for h, w in ((size, size), (size - 32, size + 64)):
        lightness = np.stack([np.full((1, h, w), v, np.float32) for v in (20.0, 80.0)])
        ab = session.run_batch(lightness)
        assert ab.dtype == np.float32
        assert ab.shape == (2, 2, h // 4, w // 4)  # ab at a quarter of the input
        assert np.isfinite(ab).all()


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="../shared/testdata is not beside the checkout")
def test_a_real_grey_photo_gets_plausible_colour(colorizer: Colorizer) -> None:
    grey = cv2.imread(str(TESTDATA / "chelsea_grey.png"))
    assert grey is not None
    lab = lab_from_bgr(grey)
    item = model_input(lab[..., 0], colorizer.size, colorizer.stride)
    assert item.shape == (1, 224, 320)  # 451x300 at its aspect ratio, about 256 * 256 pixels
    ab = colorizer.session.run_batch(item[np.newaxis])
    assert np.abs(ab).max() <= 110  # inside the gamut of the 313 bin centres
    result = colorizer.colorize_sync(grey)
    assert result.bgr.shape == grey.shape and result.had_colour is False
    out = lab_from_bgr(result.bgr)
    chroma = np.hypot(out[..., 1], out[..., 2])
    assert chroma.mean() > 5, chroma.mean()  # not grey
    assert np.abs(out[..., 0] - lab[..., 0]).mean() < 2  # lightness is kept


@pytest.mark.skipif(not TRAINING_DATA.is_dir(), reason="../shared/colorize-training is absent")
def test_the_model_beats_grey_on_held_out_photos(colorizer: Colorizer) -> None:
    from training.colorize.bins import AbBins
    from training.colorize.metrics import AucCurve
    from training.colorize.scoring import constant_model, grey_of, load_colorizer
    from training.colorize.shards import load_split

    bins = AbBins.load(SHARED / "models")
    grey_model = load_colorizer("grey", constant_model((0.0, 0.0), colorizer.size), 1)
    _, pixels = load_split(TRAINING_DATA, "val", limit=24)
    ours, grey_curve = AucCurve(bins.count), AucCurve(bins.count)
    for rgb in pixels:
        original = np.ascontiguousarray(rgb[..., ::-1])
        true_ab = lab_from_bgr(original)[..., 1:]
        classes = bins.nearest(true_ab)
        grey = grey_of(original)
        for model, curve in ((colorizer, ours), (grey_model, grey_curve)):
            result = lab_from_bgr(model.colorize_sync(grey).bgr)[..., 1:]
            curve.add(result, true_ab, classes)
    # the targets: rebalanced AuC 5 points above grey, plain AuC no more than 0.5 below
    # (the shipped embedded-v2: 79.9 vs 71.1 rebalanced, 88.7 vs 87.5 plain on these 24 photos;
    # embedded-v1 79.2 / 88.4; a v1 model after 450 of its 10,000 steps got only 74.5 and fails)
    assert ours.rebalanced() >= grey_curve.rebalanced() + 5, (
        ours.rebalanced(),
        grey_curve.rebalanced(),
    )
    assert ours.plain() >= grey_curve.plain() - 0.5, (ours.plain(), grey_curve.plain())

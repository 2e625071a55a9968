"""The full-size evaluation (training/colorize/fullsize.py): its photo set, its people labels,
its edge band, and that the shipped model beats the grey baseline on full-size photos through
the served pipeline. Runs on onnxruntime alone (no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from training.colorize.fullsize import (
    ORACLE,
    PHOTOS_DIR,
    SHEET_PHOTOS,
    TESTDATA_DIR,
    edge_band,
    load_photos,
    people_labels,
    score_photos,
)

pytestmark = pytest.mark.skipif(
    not PHOTOS_DIR.is_dir(), reason="../shared/testdata/photos-dev is not beside the checkout"
)


def test_the_photo_set_and_its_labels() -> None:
    photos, skipped = load_photos(PHOTOS_DIR, TESTDATA_DIR)
    labels = {photo.label for photo in photos}
    assert len(photos) + len(skipped) == 254  # 250 photos-dev + astronaut, chelsea, coffee, rocket
    assert skipped == ["dev_0104", "dev_0113", "dev_0215"]  # white penguin, rope, snowy wolf
    assert people_labels() <= labels  # every labelled photo exists (and was not skipped)
    assert 50 <= sum(photo.people for photo in photos) <= 60
    assert set(SHEET_PHOTOS) <= labels and len(SHEET_PHOTOS) == 24


def test_the_edge_band_surrounds_strong_edges_only() -> None:
    lightness = np.full((60, 80), 40.0, np.float32)
    lightness[:, 40:] = 80.0
    band = edge_band(lightness)
    columns = np.flatnonzero(band.any(axis=0))
    assert columns.min() >= 34 and columns.max() <= 45  # 3 px either side of the step
    assert not edge_band(np.full((60, 80), 40.0, np.float32)).any()


def test_the_shipped_model_beats_grey_on_full_size_photos() -> None:
    from inference.colorize import Colorizer
    from inference.registry import PACKAGE_MODEL_DIR, colorize_model_spec
    from training.colorize.bins import AbBins
    from training.colorize.scoring import constant_model, load_colorizer

    photos, _ = load_photos(PHOTOS_DIR, TESTDATA_DIR)
    path = PACKAGE_MODEL_DIR / colorize_model_spec("embedded").filename
    ours: Colorizer = load_colorizer("embedded", path, 1)
    grey = load_colorizer("grey", constant_model((0.0, 0.0), ours.size), 1)
    scores = score_photos({"ours": ours, "grey": grey}, photos[::12], AbBins.load())["all photos"]
    gain = scores["ours"].curve.rebalanced() - scores["grey"].curve.rebalanced()
    plain = scores["ours"].curve.plain() - scores["grey"].curve.plain()
    assert gain >= 6, gain
    assert plain >= -0.5, plain
    share = np.mean(scores["ours"].colourfulness) / np.mean(scores["ours"].original_colourfulness)
    assert 0.7 <= share <= 1.3, share
    # the photos' own ab at the model's output size, upsampled the same way: a ceiling
    assert scores[ORACLE].curve.rebalanced() > scores["ours"].curve.rebalanced() + 10


def test_false_and_wrong_colour_count_clear_colour_where_it_does_not_belong() -> None:
    from training.colorize.bins import AbBins
    from training.colorize.fullsize import FullScores, truth_of
    from training.colorize.metrics import AucCurve

    bins = AbBins.load()
    original = np.full((40, 40, 3), 128, np.uint8)  # neutral grey
    original[:, 20:] = (40, 160, 40)  # green right half (BGR)
    result = original.copy()
    result[:20, :20] = (60, 60, 200)  # a red blotch on a quarter: the grey part
    result[20:, 20:] = (200, 60, 160)  # purple where it is green: another quarter
    scores = FullScores(AucCurve(bins.count))
    scores.add_truth(result, original, truth_of(original, bins))
    assert FullScores.mean_error(scores.false_colour) == pytest.approx(0.25)
    assert FullScores.mean_error(scores.wrong_colour) == pytest.approx(0.5)
    exact = FullScores(AucCurve(bins.count))
    exact.add_truth(original, original, truth_of(original, bins))
    assert FullScores.mean_error(exact.false_colour) == 0
    assert FullScores.mean_error(exact.wrong_colour) == 0


def test_models_compare_prints_one_row_per_model_and_baseline(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from training.colorize import compare
    from training.colorize.scoring import constant_model

    sepia = tmp_path / "sepia.onnx"
    sepia.write_bytes(constant_model((5.0, 20.0), 256))
    report = tmp_path / "compare.md"
    argv = ["compare", "--model-dir", str(tmp_path / "none"), "--model", f"sepia={sepia}"]
    monkeypatch.setattr(sys, "argv", [*argv, "--limit", "10", "--report", str(report)])
    compare.main()
    text = report.read_text(encoding="utf-8")
    assert text.strip() == capsys.readouterr().out.strip()
    all_photos = text.split("all photos:")[1].split("with people:")[0]
    rows = {line.split("|")[1].strip(): line for line in all_photos.splitlines() if "|" in line}
    assert {"embedded", "sepia", "grey (ab = 0)", "mean ab"} <= set(rows)
    assert len(rows["embedded"].split("|")) == len(rows["colouriser"].split("|")) == 13
    grey_delta = rows["grey (ab = 0)"].split("|")[3].strip()
    assert grey_delta == "+0.0"  # every row is against grey in the same run

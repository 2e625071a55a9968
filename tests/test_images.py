"""Decoding untrusted uploads: every accepted format, the awkward modes, and every refusal.

All files are built in the test (see tests/image_builders.py); real photos are read from
../shared/testdata and never copied into the repository.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from inference.image_headers import declared_size
from inference.images import ImageError, ImageInfo, ImageLimits, decode_image, probe_image
from tests.image_builders import (
    BLUE,
    GREEN,
    RED,
    WHITE,
    bgr,
    exif_with_orientation,
    gif_bytes,
    pillow_bytes,
    png_bytes,
    png_declaring,
    quadrant_centres_bgr,
    quadrants_rgb,
    tiff_bytes,
    webp_canvas_bomb,
    zlib_bomb_png,
)

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"
QUADRANTS_BGR = {"tl": bgr(RED), "tr": bgr(GREEN), "bl": bgr(BLUE), "br": bgr(WHITE)}


def _refusal(data: bytes, limits: ImageLimits | None = None) -> ImageError:
    """decode_image's error; also checks that it is a friendly, typed UserError."""
    with pytest.raises(ImageError) as caught:
        decode_image(data, limits or ImageLimits())
    error = caught.value
    assert isinstance(error, UserError)
    assert error.kind == "bad_image"
    assert str(error) == error.user_message
    assert error.user_message.endswith((".", "!"))
    for leak in ("Error", "Pillow", "BytesIO", "0x", "decoder", "IHDR"):
        assert leak not in error.user_message, error.user_message
    assert error.detail and error.detail != error.user_message  # technical, for the log
    return error


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> bool:
    return max(abs(a - e) for a, e in zip(actual, expected, strict=True)) <= tolerance


# ---- the acceptance list -------------------------------------------------------------------


def test_zero_bytes_is_refused_as_empty() -> None:
    error = _refusal(b"")
    assert error.reason == "empty"
    assert error.user_message.startswith("That file is empty. Please send a photo (JPEG, PNG")


def test_truncated_jpeg_is_refused_as_truncated() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = pillow_bytes(Image.fromarray(noise), "JPEG", quality=90)
    assert decode_image(data).shape == (64, 64, 3)
    for cut in (len(data) - 2, len(data) // 2, 400, 30):
        error = _refusal(data[:cut])
        assert error.reason == "truncated", (cut, error.detail)
        assert "cut off" in error.user_message


def test_truncated_png_and_gif_are_refused_as_truncated() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    png = pillow_bytes(Image.fromarray(noise), "PNG")
    gif = pillow_bytes(Image.fromarray(noise), "GIF")
    assert _refusal(png[: len(png) // 2]).reason == "truncated"
    assert _refusal(gif[: len(gif) // 2]).reason == "truncated"


def test_text_file_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_text("Dear diary, today I took a photo.\n")
    error = _refusal(path.read_bytes())
    assert error.reason == "not_an_image"
    assert "isn't a photo" in error.user_message


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"%PDF-1.4\n1 0 obj\n", "not_an_image", "a PDF document"),
        (b"<!doctype html><html><title>x</title></html>", "not_an_image", "a web page"),
        (b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00mp42isom", "not_an_image", "a video"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="9"/>', "unsupported_format", "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "unsupported_format", "HEIC"),
    ],
)
def test_other_kinds_of_file_get_a_message_that_names_them(
    data: bytes, reason: str, words: str
) -> None:
    error = _refusal(data)
    assert error.reason == reason
    assert words in error.user_message


def test_png_declaring_60000_squared_pixels_is_refused_before_decoding() -> None:
    data = png_declaring(60000, 60000)
    assert len(data) < 100
    error = _refusal(data)
    assert error.reason == "too_many_pixels"
    assert error.user_message == "That photo is too large (3600 MP); the limit is 40 megapixels."
    assert "60000x60000" in error.detail
    with pytest.raises(ImageError, match="too large"):
        probe_image(data)


def test_16bit_greyscale_png_is_scaled_not_clipped() -> None:
    samples = np.array([[65535, 32768], [0, 257 * 200]], dtype=np.uint16)
    data = pillow_bytes(Image.fromarray(samples), "PNG")
    assert data[24] == 16  # IHDR bit depth: really a 16-bit file
    decoded = decode_image(data)
    assert decoded.shape == (2, 2, 3)
    assert (decoded == decoded[..., :1]).all()  # grey stays grey
    assert decoded[0, 0, 0] == 255
    assert abs(int(decoded[0, 1, 0]) - 128) <= 1
    assert decoded[1, 0, 0] == 0
    assert decoded[1, 1, 0] == 200


def test_16bit_rgb_png_is_scaled_not_clipped() -> None:
    samples = np.zeros((2, 2, 3), dtype=np.uint16)
    samples[0, 0] = (65535, 32768, 0)  # BGR
    samples[1, 1] = (257 * 10, 257 * 100, 257 * 250)
    ok, encoded = cv2.imencode(".png", samples)
    assert ok and encoded.tobytes()[24] == 16
    decoded = decode_image(encoded.tobytes())
    assert _close(tuple(int(v) for v in decoded[0, 0]), (255, 128, 0), 1)
    assert _close(tuple(int(v) for v in decoded[1, 1]), (10, 100, 250), 1)


def test_cmyk_jpeg_with_adobe_inverted_data_has_the_right_colours() -> None:
    cmyk = Image.new("CMYK", (64, 64))
    patches = {  # CMYK ink -> expected BGR
        (0, 0): ((0, 255, 255, 0), bgr(RED)),
        (32, 0): ((255, 0, 255, 0), bgr(GREEN)),
        (0, 32): ((255, 255, 0, 0), bgr(BLUE)),
        (32, 32): ((0, 0, 0, 128), (127, 127, 127)),
    }
    for (x, y), (ink, _) in patches.items():
        cmyk.paste(ink, (x, y, x + 32, y + 32))
    data = pillow_bytes(cmyk, "JPEG", quality=95)
    assert b"Adobe" in data  # Adobe APP14: the inverted-CMYK convention Photoshop uses
    decoded = decode_image(data)
    assert decoded.shape == (64, 64, 3)
    for (x, y), (_, expected) in patches.items():
        actual = tuple(int(v) for v in decoded[y + 16, x + 16])
        assert _close(actual, expected, 6), (ink, actual, expected)


def test_rgba_png_is_composited_on_white() -> None:
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (12, 34, 56, 0)  # fully transparent, any colour: white
    rgba[0, 1] = (255, 0, 0, 255)  # opaque red
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black: mid grey
    rgba[1, :] = (0, 0, 255, 255)
    decoded = decode_image(pillow_bytes(Image.fromarray(rgba), "PNG"))
    assert decoded.shape == (2, 3, 3)
    assert tuple(decoded[0, 0]) == (255, 255, 255)
    assert tuple(decoded[0, 1]) == bgr(RED)
    assert tuple(decoded[0, 2]) == (127, 127, 127)
    assert tuple(decoded[1, 1]) == bgr(BLUE)


def test_exif_rotated_jpeg_ends_up_the_right_way_round() -> None:
    stored = quadrants_rgb(64, 32)  # landscape as stored by the camera
    data = pillow_bytes(Image.fromarray(stored), "JPEG", exif=exif_with_orientation(6))
    assert probe_image(data) == ImageInfo("JPEG", 32, 64)
    decoded = decode_image(data)
    assert decoded.shape == (64, 32, 3)
    # Orientation 6: shown after a quarter turn clockwise, so the red top-left goes top-right.
    centres = quadrant_centres_bgr(decoded)
    expected = {"tr": bgr(RED), "br": bgr(GREEN), "tl": bgr(BLUE), "bl": bgr(WHITE)}
    for corner, colour in expected.items():
        assert _close(centres[corner], colour, 4), (corner, centres)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})],
)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_in_every_format_matches_pillows_transpose(
    fmt: str, params: dict[str, object], orientation: int
) -> None:
    stored = Image.fromarray(quadrants_rgb(64, 32))
    exif = exif_with_orientation(orientation)
    data = pillow_bytes(stored, fmt, exif=exif, **params)
    upright = stored.transpose(_TRANSPOSES[orientation]) if orientation > 1 else stored
    info = probe_image(data)
    decoded = decode_image(data)
    assert (info.height, info.width) == decoded.shape[:2] == (upright.height, upright.width)
    tolerance = 4 if fmt == "JPEG" else 0
    want = quadrant_centres_bgr(cv2.cvtColor(np.asarray(upright), cv2.COLOR_RGB2BGR))
    got = quadrant_centres_bgr(decoded)
    for corner in want:
        assert _close(got[corner], want[corner], tolerance), (corner, got, want)


_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, GREEN, BLUE)]
    data = pillow_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(io.BytesIO(data)) as check:
        assert getattr(check, "n_frames", 1) == 3
    decoded = decode_image(data)
    assert probe_image(data) == ImageInfo("GIF", 40, 30)
    assert decoded.shape == (30, 40, 3)
    assert (decoded == bgr(RED)).all()


# ---- more formats and first frames -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
        ("TIFF", {"compression": "tiff_deflate"}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
    ],
)
def test_lossless_formats_decode_exactly(fmt: str, params: dict[str, object]) -> None:
    rgb = quadrants_rgb(48, 20)
    data = pillow_bytes(Image.fromarray(rgb), fmt, **params)
    assert probe_image(data) == ImageInfo(fmt, 48, 20)
    decoded = decode_image(data)
    assert decoded.dtype == np.uint8
    assert decoded.flags.c_contiguous
    np.testing.assert_array_equal(decoded, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_greyscale_and_bilevel_files_become_three_equal_channels() -> None:
    grey = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))
    for image in (Image.fromarray(grey), Image.fromarray(grey).convert("1")):
        decoded = decode_image(pillow_bytes(image, "PNG"))
        assert decoded.shape == (4, 16, 3)
        np.testing.assert_array_equal(decoded[..., 0], np.asarray(image.convert("L")))
        assert (decoded == decoded[..., :1]).all()


def test_gif_transparency_becomes_white() -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.paste(0, (0, 0, 4, 8))
    decoded = decode_image(pillow_bytes(image, "GIF", transparency=0))
    assert tuple(decoded[0, 0]) == (255, 255, 255)
    assert tuple(decoded[0, 7]) == bgr(RED)


def test_animated_webp_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (24, 16), colour) for colour in (GREEN, RED)]
    data = pillow_bytes(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=80
    )
    assert b"ANMF" in data
    decoded = decode_image(data)
    assert decoded.shape == (16, 24, 3)
    assert (decoded == bgr(GREEN)).all()


def test_multi_page_tiff_gives_its_first_page() -> None:
    pages = [Image.new("RGB", (10, 10), (i, 255 - i, 7)) for i in range(40)]
    data = pillow_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    assert probe_image(data) == ImageInfo("TIFF", 10, 10)
    assert (decode_image(data) == (7, 255, 0)).all()


@pytest.mark.parametrize(
    "path",
    sorted(TESTDATA.glob("*.png")) + sorted(TESTDATA.glob("*.jpg")),
    ids=lambda path: path.name,
)
def test_real_photos_decode_like_opencv_reads_them(path: Path) -> None:
    data = path.read_bytes()
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert expected is not None
    decoded = decode_image(data)
    info = probe_image(data)
    assert decoded.shape == expected.shape == (info.height, info.width, 3)
    assert info.format == {".png": "PNG", ".jpg": "JPEG"}[path.suffix]
    assert np.abs(decoded.astype(int) - expected).mean() < 0.5


def test_real_photos_are_there() -> None:
    assert len(list(TESTDATA.glob("*.png"))) >= 5, f"expected the shared photos in {TESTDATA}"
    assert len(list(TESTDATA.glob("*.jpg"))) >= 1


# ---- damaged files, limits, probing -------------------------------------------------------


def test_png_with_damaged_pixel_data_is_corrupt_and_probe_does_not_notice() -> None:
    noise = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = bytearray(pillow_bytes(Image.fromarray(noise), "PNG"))
    data[data.find(b"IDAT") + 40] ^= 0xFF
    # The header is intact: probing reads no pixel data, so it succeeds ...
    assert probe_image(bytes(data)) == ImageInfo("PNG", 32, 32)
    # ... and decoding finds the damage.
    error = _refusal(bytes(data))
    assert error.reason == "corrupt"
    assert "damaged" in error.user_message


def test_png_whose_data_is_not_zlib_is_corrupt() -> None:
    assert _refusal(png_bytes(4, 4, b"\x78\x9c" + b"\xff" * 30)).reason == "corrupt"


def test_png_with_too_little_pixel_data_but_a_proper_end_is_corrupt() -> None:
    # A complete file (IEND present) that simply lacks rows: damaged, not cut off in transit.
    assert _refusal(png_bytes(64, 64, zlib.compress(b"\x00" * 10))).reason == "corrupt"


def test_jpeg_with_a_broken_frame_header_is_corrupt() -> None:
    data = bytearray(pillow_bytes(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 9] = 7  # seven colour components
    assert _refusal(bytes(data)).reason == "corrupt"


def test_zero_sized_header_is_corrupt() -> None:
    assert _refusal(png_declaring(0, 10)).reason == "corrupt"


def test_byte_limit_is_checked_first() -> None:
    data = pillow_bytes(Image.new("RGB", (8, 8)), "PNG")
    assert decode_image(data, ImageLimits(max_bytes=len(data))).shape == (8, 8, 3)
    error = _refusal(data, ImageLimits(max_bytes=len(data) - 1))
    assert error.reason == "too_many_bytes"
    error = _refusal(b"x" * 23_456_789)
    assert error.reason == "too_many_bytes"
    assert error.user_message == "That file is too big (23 MB); the limit is 20 MB."


def test_pixel_limit_is_the_product_and_inclusive() -> None:
    data = pillow_bytes(Image.new("RGB", (10, 12)), "PNG")
    assert decode_image(data, ImageLimits(max_pixels=120)).shape == (12, 10, 3)
    assert _refusal(data, ImageLimits(max_pixels=119)).reason == "too_many_pixels"
    rotated = pillow_bytes(Image.new("RGB", (10, 12)), "JPEG", exif=exif_with_orientation(6))
    assert decode_image(rotated, ImageLimits(max_pixels=120)).shape == (10, 12, 3)


def test_just_over_the_limit_shows_enough_digits() -> None:
    error = _refusal(png_declaring(6360, 6360))  # 40.4 MP
    assert error.user_message == "That photo is too large (40.4 MP); the limit is 40 megapixels."


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("GIF huge screen", gif_bytes((65535, 65535), (1, 1))),
        ("GIF huge first frame", gif_bytes((1, 1), (60000, 60000))),
        ("WebP canvas", webp_canvas_bomb(12000)),
        ("TIFF", tiff_bytes(60000, 60000)),
        ("BMP", b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, 60000, -60000) + b"\x00" * 28),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bombs_in_other_formats_are_refused(name: str, data: bytes) -> None:
    assert _refusal(data).reason == "too_many_pixels"


def test_size_seen_by_pillow_is_checked_too_when_the_header_parser_gives_up() -> None:
    # 5000 IFD entries before the dimensions: past what image_headers reads (4096), but
    # Pillow reads them all and finds 7000 x 7000 (49 MP: under Pillow's own bomb limits).
    data = tiff_bytes(7000, 7000, padding_entries=5000)
    assert declared_size("TIFF", data) is None
    error = _refusal(data)
    assert error.reason == "too_many_pixels"
    assert "as opened by Pillow" in error.detail


def test_limits_and_errors_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        ImageLimits(max_bytes=0)
    with pytest.raises(ValueError, match="reason"):
        ImageError("hello", reason="bogus")  # type: ignore[arg-type]


# ---- the bomb never allocates: measured in a separate, memory-capped process ----------------

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    cap = 1024 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from inference.images import ImageError, ImageLimits, decode_image

    def status_kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])

    # VmHWM/VmPeak belong to this process's own memory map. (ru_maxrss would not do: Linux
    # carries it over from the parent across fork and exec, so a big test runner hides growth.)
    limits = ImageLimits(max_pixels=int(sys.argv[1]))
    rss_before = status_kib("VmHWM")
    vm_before = status_kib("VmPeak")
    outcomes = []
    for path in sys.argv[2:]:
        try:
            outcomes.append(str(decode_image(open(path, "rb").read(), limits).shape))
        except ImageError as error:
            outcomes.append(error.reason)
        except MemoryError:
            outcomes.append("MemoryError")
    print(json.dumps({
        "outcomes": outcomes,
        "rss_growth_mib": (status_kib("VmHWM") - rss_before) / 1024,
        "vm_growth_mib": (status_kib("VmPeak") - vm_before) / 1024,
    }))
    """
)


def _decode_in_capped_process(
    tmp_path: Path, files: dict[str, bytes], max_pixels: int
) -> dict[str, object]:
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(max_pixels), *paths],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_bombs_are_refused_without_a_large_allocation(tmp_path: Path) -> None:
    bombs = {
        "png_60000.png": png_declaring(60000, 60000),  # 10.8 GB as RGB: over the 1 GB cap
        "zlib_7000.png": zlib_bomb_png(7000),  # really inflates to 49 MB (147 MB as BGR)
        "webp_12000.webp": webp_canvas_bomb(12000),  # libwebp would reserve 2 x 576 MB
        "gif_screen.gif": gif_bytes((65535, 65535), (1, 1)),
        "tiff_60000.tif": tiff_bytes(60000, 60000),
    }
    assert max(len(data) for data in bombs.values()) < 100_000
    result = _decode_in_capped_process(tmp_path, bombs, max_pixels=40_000_000)
    assert result["outcomes"] == ["too_many_pixels"] * len(bombs)
    assert isinstance(result["rss_growth_mib"], float) and result["rss_growth_mib"] < 16
    assert isinstance(result["vm_growth_mib"], float) and result["vm_growth_mib"] < 32


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_memory_measurement_does_see_a_decode(tmp_path: Path) -> None:
    """Control for the test above: with the limit raised, the same zlib bomb is decoded,
    and both measurements show it; so a low reading above really means nothing was decoded."""
    result = _decode_in_capped_process(
        tmp_path, {"zlib_7000.png": zlib_bomb_png(7000)}, max_pixels=50_000_000
    )
    assert result["outcomes"] == ["(7000, 7000, 3)"]
    assert isinstance(result["rss_growth_mib"], float) and result["rss_growth_mib"] > 100
    assert isinstance(result["vm_growth_mib"], float) and result["vm_growth_mib"] > 100

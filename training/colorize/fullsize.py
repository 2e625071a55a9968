"""The full-size evaluation: real photos at their own size, through the served pipeline.

    python -m training.colorize.fullsize --report training/runs/fullsize.md
    python -m training.colorize.fullsize --model X.onnx --upsampling bilinear --aspect squash
    python -m training.colorize.fullsize --sheet training/runs/fullsize-sheet.png

Photos: `../shared/testdata/photos-dev/` (250 BSDS500 photos, 481x321 or 321x481, none in the
training shards) and the four colour photos of `../shared/testdata/` (astronaut, chelsea,
coffee, rocket; 451 to 640 px), each turned grey (its L* with a* = b* = 0, 8-bit) and
colourised by `inference.colorize.Colorizer` at its full size. A photo whose own colourfulness
is below MIN_COLOURFULNESS (nearly monochrome: snow, grey rope) is skipped, and the report
names it. Which photos show people is read from `people.tsv` (labelled by looking).

For every colouriser (ours, and the grey and mean-ab baselines in the same run), over all
photos and over those with and without people: AuC plain and rebalanced (and their distance to
grey), colourfulness as a share of the originals', PSNR, and the edge bleed: the mean ab error
(CIE units) within EDGE_RADIUS pixels of a strong L* edge of the original (Canny), beside the
mean error everywhere else; and two figures for blotches: "false colour", the share of pixels
given clear colour (chroma > FALSE_CHROMA) where the original is neutral (chroma <
NEUTRAL_CHROMA: a red patch on a grey jacket, a yellow cast on white), and "wrong colour", the
share given clear colour more than WRONG_ERROR from the truth. The last row, "true ab at model
resolution", feeds each photo's own ab, reduced to the size the model predicts, through the
same upsampling: the error that the output resolution and the upsampling alone cause.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inference.chroma_upsampling import BILINEAR, ChromaUpsampling
from inference.colorize import EDGE_AWARE, Colorizer, lab_from_bgr, merge_ab, prepare
from training.colorize.bins import AbBins, AbStats
from training.colorize.contact import SheetRow, contact_sheet
from training.colorize.gallery import read_image
from training.colorize.metrics import AucCurve, colourfulness, psnr
from training.colorize.scoring import Scores, constant_model, grey_of, load_colorizer, print_report
from training.colorize.shards import DEFAULT_MODELS_DIR, REPO_ROOT
from training.colorize.variants import load_variant

TESTDATA_DIR = REPO_ROOT.parent / "shared" / "testdata"
PHOTOS_DIR = TESTDATA_DIR / "photos-dev"
PEOPLE_PATH = Path(__file__).with_name("people.tsv")
SHIPPED_MODEL = REPO_ROOT / "inference" / "models" / "colorize-embedded.onnx"
MIN_COLOURFULNESS = 10.0  # Hasler and Suesstrunk's M; 15 is their "slightly colourful"
EDGE_RADIUS = 3  # pixels
FALSE_CHROMA = 15.0  # CIE ab units: clearly coloured
NEUTRAL_CHROMA = 6.0  # CIE ab units: about neutral
WRONG_ERROR = 30.0  # CIE ab units from the truth
CANNY_THRESHOLDS = (60, 150)  # on L* * 2.55 as 8-bit, after a 3x3 Gaussian
ORACLE = "true ab at model resolution"
SHEET_PHOTOS = (
    "astronaut", "dev_0024", "dev_0028", "dev_0045", "dev_0079", "dev_0137", "dev_0162",
    "dev_0164", "dev_0177", "dev_0179", "dev_0220", "dev_0226",
    "chelsea", "dev_0001", "dev_0010", "dev_0016", "dev_0040", "dev_0050", "dev_0094",
    "dev_0109", "dev_0111", "dev_0127", "dev_0141", "dev_0155",
)  # fmt: skip


@dataclass(frozen=True)
class Photo:
    label: str
    original: np.ndarray  # BGR uint8, full size
    people: bool


@dataclass(frozen=True)
class Truth:
    """What every colouriser's output of one photo is compared with."""

    ab: np.ndarray  # (H, W, 2) float32
    classes: np.ndarray  # (H, W) the 313-bin class of each true ab
    near_edge: np.ndarray  # (H, W) bool
    neutral: np.ndarray  # (H, W) bool: chroma under NEUTRAL_CHROMA


def people_labels(path: Path = PEOPLE_PATH) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def load_photos(
    photos_dir: Path = PHOTOS_DIR, testdata_dir: Path = TESTDATA_DIR
) -> tuple[list[Photo], list[str]]:
    """(the evaluation photos, the labels of those skipped as nearly monochrome)."""
    people = people_labels()
    paths = sorted(photos_dir.glob("*.jpg")) + sorted(testdata_dir.glob("*_color.*"))
    if len(paths) < 5:
        raise FileNotFoundError(f"no evaluation photos in {photos_dir} and {testdata_dir}")
    kept, skipped = [], []
    for path in paths:
        label = path.stem.removesuffix("_color")
        original = read_image(path)
        if colourfulness(original[..., ::-1]) < MIN_COLOURFULNESS:
            skipped.append(label)
        else:
            kept.append(Photo(label, original, label in people))
    return kept, skipped


def edge_band(lightness: np.ndarray, radius: int = EDGE_RADIUS) -> np.ndarray:
    """Pixels within `radius` of a strong edge of L* (H, W) -> bool (H, W)."""
    levels = np.clip(lightness * 2.55 + 0.5, 0, 255).astype(np.uint8)
    edges = cv2.Canny(cv2.GaussianBlur(levels, (3, 3), 0), *CANNY_THRESHOLDS, L2gradient=True)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    band: np.ndarray = cv2.dilate(edges, disc) > 0
    return band


def truth_of(original: np.ndarray, bins: AbBins) -> Truth:
    lab = lab_from_bgr(original)
    ab = np.ascontiguousarray(lab[..., 1:])
    neutral = (ab**2).sum(-1) < NEUTRAL_CHROMA**2
    return Truth(ab, bins.nearest(ab), edge_band(lab[..., 0]), neutral)


@dataclass
class FullScores(Scores):
    """`Scores` plus the edge bleed: ab error sums and pixel counts near edges and elsewhere."""

    edge_error: list[float] = field(default_factory=list)  # [sum, count, sum, count, ...]
    rest_error: list[float] = field(default_factory=list)
    false_colour: list[float] = field(default_factory=list)  # [pixels, count, ...]
    wrong_colour: list[float] = field(default_factory=list)

    def add_truth(self, result: np.ndarray, original: np.ndarray, truth: Truth) -> None:
        predicted = lab_from_bgr(result)[..., 1:]
        self.curve.add(predicted, truth.ab, truth.classes)
        self.colourfulness.append(colourfulness(result[..., ::-1]))
        self.original_colourfulness.append(colourfulness(original[..., ::-1]))
        self.psnr.append(psnr(result, original))
        error = np.sqrt(((predicted - truth.ab) ** 2).sum(-1, dtype=np.float64))
        self.edge_error += [float(error[truth.near_edge].sum()), float(truth.near_edge.sum())]
        self.rest_error += [float(error[~truth.near_edge].sum()), float((~truth.near_edge).sum())]
        coloured = (predicted**2).sum(-1) > FALSE_CHROMA**2
        self.false_colour += [float((coloured & truth.neutral).sum()), float(error.size)]
        self.wrong_colour += [float((coloured & (error > WRONG_ERROR)).sum()), float(error.size)]

    @staticmethod
    def mean_error(pairs: list[float]) -> float:
        return sum(pairs[0::2]) / max(1.0, sum(pairs[1::2]))

    def row(self, name: str, grey: Scores | None = None) -> str:
        share = 100 * np.mean(self.colourfulness) / np.mean(self.original_colourfulness)
        plain, rebalanced = self.curve.plain(), self.curve.rebalanced()
        if grey is not None:
            plain_d = f"{plain - grey.curve.plain():+.1f}"
            rebalanced_d = f"{rebalanced - grey.curve.rebalanced():+.1f}"
        else:
            plain_d = rebalanced_d = ""
        return (
            f"| {name} | {plain:.1f} | {plain_d} | {rebalanced:.1f} | {rebalanced_d} "
            f"| {share:.0f} % | {np.mean(self.psnr):.2f} | {self.mean_error(self.edge_error):.2f} "
            f"| {self.mean_error(self.rest_error):.2f} "
            f"| {100 * self.mean_error(self.false_colour):.2f} % "
            f"| {100 * self.mean_error(self.wrong_colour):.2f} % |"
        )


TABLE_HEAD = (
    "| colouriser | AuC plain | vs grey | AuC rebalanced | vs grey | colourfulness "
    "(% of originals') | PSNR dB | ab error near edges | ab error elsewhere | false colour "
    "| wrong colour |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)
GROUPS = ("all photos", "with people", "without people")


def score_photos(
    colorizers: dict[str, Colorizer], photos: list[Photo], bins: AbBins
) -> dict[str, dict[str, FullScores]]:
    """scores[group][colouriser]; the first colouriser also gets the ORACLE row."""
    names = [*colorizers, ORACLE]
    scores = {group: {name: FullScores(AucCurve(bins.count)) for name in names} for group in GROUPS}
    first = next(iter(colorizers))
    for photo in photos:
        truth = truth_of(photo.original, bins)
        grey = grey_of(photo.original)
        groups = (GROUPS[0], GROUPS[1] if photo.people else GROUPS[2])
        for name, colorizer in colorizers.items():
            lightness, item, _ = prepare(grey, colorizer.size, colorizer.stride)
            ab = colorizer.session.run_batch(item[np.newaxis])[0]
            outputs = {name: merge_ab(lightness, ab, colorizer.upsampling)}
            if name == first:
                size = (ab.shape[2], ab.shape[1])
                true_low = cv2.resize(truth.ab, size, interpolation=cv2.INTER_AREA)
                oracle = np.transpose(true_low, (2, 0, 1))
                outputs[ORACLE] = merge_ab(lightness, oracle, colorizer.upsampling)
            for key, result in outputs.items():
                for group in groups:
                    scores[group][key].add_truth(result, photo.original, truth)
    return scores


def report(
    scores: dict[str, dict[str, FullScores]], photos: list[Photo], skipped: list[str]
) -> str:
    with_people = sum(photo.people for photo in photos)
    lines = [
        f"{len(photos)} photos at full size ({with_people} with people); skipped as nearly "
        f"monochrome (colourfulness < {MIN_COLOURFULNESS:g}): {len(skipped)} "
        f"({', '.join(skipped) or 'none'})",
    ]
    for group in GROUPS:
        count = len(photos) if group == GROUPS[0] else with_people
        count = len(photos) - with_people if group == GROUPS[2] else count
        grey = scores[group].get("grey (ab = 0)")
        lines += ["", f"{group} ({count}):", "", TABLE_HEAD]
        lines += [score.row(name, grey) for name, score in scores[group].items()]
    return "\n".join(lines) + "\n"


def write_sheet(colorizer: Colorizer, photos: list[Photo], path: Path) -> None:
    """Ours beside the original at 100 % for the SHEET_PHOTOS (people first)."""
    by_label = {photo.label: photo for photo in photos}
    rows = []
    for label in SHEET_PHOTOS:
        photo = by_label[label]
        result = colorizer.colorize_sync(grey_of(photo.original)).bgr
        rows.append(
            SheetRow(f"{label} (people)" if photo.people else label, (result, photo.original))
        )
    tile = max(
        max(photo.original.shape[:2]) for photo in by_label.values() if photo.label in SHEET_PHOTOS
    )
    sheet = contact_sheet(rows, tile, 1, ("ours", "original"))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]})")


def parse_upsampling(text: str) -> ChromaUpsampling:
    """'bilinear', 'edge-aware' (the served default) or 'SIGMA,FACTOR'."""
    if text == "bilinear":
        return BILINEAR
    if text == "edge-aware":
        return EDGE_AWARE
    sigma, factor = text.split(",")
    return ChromaUpsampling(float(sigma), int(factor))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--photos", type=Path, default=PHOTOS_DIR)
    parser.add_argument("--testdata", type=Path, default=TESTDATA_DIR)
    parser.add_argument(
        "--upsampling", default="edge-aware", help="bilinear | edge-aware | SIGMA,FACTOR"
    )
    parser.add_argument("--aspect", choices=("keep", "squash"), default="keep")
    parser.add_argument("--size", type=int, help="working size S (a model with dynamic H, W)")
    parser.add_argument("--temperature", type=float, help="re-decode at this temperature")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--sheet", type=Path, help="write the 24-photo sheet here (PNG)")
    args = parser.parse_args()
    bins = AbBins.load(args.models)
    photos, skipped = load_photos(args.photos, args.testdata)
    photos = photos[: args.limit] if args.limit else photos
    upsampling = parse_upsampling(args.upsampling)
    model = load_variant(args.model, args.temperature, dynamic=args.aspect == "keep")
    ours = load_colorizer("model", model, args.threads)
    ours.upsampling = upsampling
    if args.size:
        ours.size = args.size
    if args.aspect == "squash":
        ours.stride = None
    if args.sheet:
        write_sheet(ours, photos, args.sheet)
        return
    colorizers = {"model": ours}
    for name, ab in (("grey (ab = 0)", (0.0, 0.0)), ("mean ab", AbStats.load().mean_ab)):
        baseline = load_colorizer(name, constant_model(ab, ours.size), args.threads)
        baseline.upsampling = upsampling
        colorizers[name] = baseline
    meta = ours.session.metadata
    head = (
        f"{args.model.name} ({meta.get('colorbot.version', '?')}), S = {ours.size}, T = "
        f"{meta.get('colorbot.decode_temperature', '?')}, aspect {args.aspect}, "
        f"upsampling {upsampling}\n"
    )
    text = head + report(score_photos(colorizers, photos, bins), photos, skipped)
    print_report(text, args.report)


if __name__ == "__main__":
    main()

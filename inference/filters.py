"""The 40 Instagram-like filters: `FilterBank` applies them fast from baked lookup tables and,
for checks and benchmarks, the reference way through onnxruntime.

Each filter is a small network (trained by `training/filters`, shipped as
`inference/models/filters/<Name>.onnx`) of the form

    rgb = clip(C0(colour) + sum_k v_k(x, y) * C_k(colour))

with its colour terms C and position terms v as extra outputs. On first use a filter is baked:
the network is evaluated on a colour lattice (`inference.lut`) and, if it looks at positions,
on a lattice of positions; applying it is then a few `cv2.remap` reads and one multiply-add,
independent of the network's size (all 40 baked take about 200 MiB). `apply_naive` evaluates
the very same network per pixel (float32 features in numpy, onnxruntime), the way the filters
were trained; the two agree within 1 level wherever they were compared (the tests assert 2).
Both end with the same step, `inference.chroma.smooth_chroma`: the real filtered photos have
half-resolution colour, and so does our output (brightness detail is kept as it is).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from inference.chroma import smooth_chroma, smooth_chroma_rows
from inference.filter_features import image_features, pixel_features
from inference.filter_names import (
    FILTER_NAMES,
    UnknownFilterError,
    resolve_filter_name,
    suggest_filter_names,
)
from inference.lut import (
    DEFAULT_CELLS,
    DEFAULT_SIZE,
    cell_centre_colours,
    cell_centre_values,
    colour_maps,
    colour_table,
    fixed_point,
    fixed_point_maps,
    lattice_colours,
    lattice_positions,
    position_table,
    read_colour_table,
    read_position_table,
)
from inference.providers import choose_providers, session_options

__all__ = [
    "FILTER_NAMES",
    "PACKAGE_FILTER_DIR",
    "BakedFilter",
    "FilterBank",
    "UnknownFilterError",
    "resolve_filter_name",
    "suggest_filter_names",
]

PACKAGE_FILTER_DIR = Path(__file__).parent / "models" / "filters"
_NAIVE_CHUNK = 1 << 18  # rows per onnxruntime call
LATTICE_SIZES = (DEFAULT_SIZE, 2 * DEFAULT_SIZE - 1)  # red-green knots: 33 (8 levels apart), 65
LATTICE_TOLERANCE = 0.6  # levels, at the middle of a cell
_CHECK_BLUES = 3  # the check looks at every third blue level
FUSED_BAND = 128  # rows: tables read and chroma smoothed a band at a time


@dataclass(frozen=True)
class BakedFilter:
    """A filter's tables, channels in BGR order: colour tables C0, C1, ... and, for a filter
    that looks at where a pixel is, float32 position tables (cells, cells, 3), one per term.
    A colour-only filter's one table is int16 fixed point (in steps of `base_scale` levels, as
    fine as the range allows); a filter with position terms has float32 colour tables."""

    colour: tuple[np.ndarray, ...]
    position: tuple[np.ndarray, ...] = ()
    base_scale: float = 1.0

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.colour) + sum(t.nbytes for t in self.position)

    def apply(self, bgr: np.ndarray) -> np.ndarray:
        """The network's output in whole levels (uint8), as the tables give it."""
        return self._read(bgr, cv2.CV_8U)

    def apply_smoothed(self, bgr: np.ndarray) -> np.ndarray:
        """The network's output in float levels, then `smooth_chroma`, made and smoothed
        `FUSED_BAND` rows at a time: small temporaries that stay in the cache and need no fresh
        pages (a 1 MP photo ~15 % faster than whole-image passes, same result to rounding)."""
        height, width = bgr.shape[:2]

        def rows(first: int, last: int) -> np.ndarray:
            return self._read(bgr[first:last], cv2.CV_32F, (first, height))

        return smooth_chroma_rows(height, width, rows, FUSED_BAND)

    def _read(self, bgr: np.ndarray, depth: int, rows: tuple[int, int] | None = None) -> np.ndarray:
        """The tables read for `bgr`; with `rows` = (first, full height), `bgr` is that many
        rows of a taller photo, starting at row `first` (it matters for the position)."""
        maps = colour_maps(bgr, self.colour[0].shape[0])
        if not self.position:
            base = read_colour_table(self.colour[0], maps)
            out = cv2.addWeighted(base, self.base_scale, base, 0.0, 0.0, dtype=depth)
            return np.asarray(out).reshape(bgr.shape)
        fixed = fixed_point_maps(maps)
        height, width = bgr.shape[:2]
        first, full_height = rows or (0, height)
        terms = [
            cv2.multiply(
                read_colour_table(colour, fixed),
                read_position_table(position, full_height, width, (first, first + height)),
                dtype=cv2.CV_32F,
            )
            for colour, position in zip(self.colour[1:], self.position, strict=True)
        ]
        mixed = terms[0]
        for term in terms[1:]:
            mixed = cv2.add(mixed, term)
        base = read_colour_table(self.colour[0], fixed)
        out = cv2.addWeighted(base, self.base_scale, mixed, 1.0, 0.0, dtype=depth)
        return np.asarray(out).reshape(bgr.shape)


class FilterBank:
    """All filters in `model_dir`, by canonical name. A filter's tables are baked on its first
    use (thread-safe; about a third of a second each) and kept; `warm()` bakes up front. An
    onnxruntime session is kept only for `apply_naive`."""

    def __init__(self, model_dir: Path = PACKAGE_FILTER_DIR, *, threads: int = 0) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.names: tuple[str, ...] = tuple(
            name for name in FILTER_NAMES if (self.model_dir / f"{name}.onnx").is_file()
        )
        if not self.names:
            raise FileNotFoundError(f"no filter models in {self.model_dir}")
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._baked: dict[str, BakedFilter] = {}
        self._locks = {name: threading.Lock() for name in self.names}

    def _canonical(self, name: str) -> str:
        canonical = resolve_filter_name(name)
        if canonical not in self._locks:
            raise UnknownFilterError(
                name, [n for n in suggest_filter_names(name) if n in self.names]
            )
        return canonical

    def session(self, name: str) -> ort.InferenceSession:
        """The onnxruntime session of one filter (created on first use)."""
        canonical = self._canonical(name)
        with self._locks[canonical]:
            return self._session_locked(canonical)

    def _session_locked(self, canonical: str) -> ort.InferenceSession:
        session = self._sessions.get(canonical)
        if session is None:
            session = self._open(canonical)
            self._sessions[canonical] = session
        return session

    def _open(self, canonical: str) -> ort.InferenceSession:
        return ort.InferenceSession(
            str(self.model_dir / f"{canonical}.onnx"),
            sess_options=session_options(self.threads),
            providers=choose_providers(),
        )

    def position_terms(self, name: str) -> int:
        """How many position terms the filter has (0: a plain colour map)."""
        return len(self.baked(name).position)

    def baked(self, name: str) -> BakedFilter:
        canonical = self._canonical(name)
        baked = self._baked.get(canonical)
        if baked is not None:
            return baked
        with self._locks[canonical]:
            baked = self._baked.get(canonical)
            if baked is None:
                # Serving needs only the tables: a session made just for baking is let go.
                session = self._sessions.get(canonical) or self._open(canonical)
                baked = bake_filter(session)
                self._baked[canonical] = baked
            return baked

    def warm(self, names: tuple[str, ...] | None = None) -> int:
        """Bake the given filters (all by default); returns the bytes their tables take."""
        return sum(self.baked(name).nbytes for name in names or self.names)

    def apply(self, name: str, bgr: np.ndarray) -> np.ndarray:
        """The filter applied to a BGR uint8 (H, W, 3) image: a new BGR uint8 image. Blocking."""
        return self.baked(name).apply_smoothed(checked_image(bgr))

    def apply_network(self, name: str, bgr: np.ndarray) -> np.ndarray:
        """The baked network alone, without the chroma step that serving adds."""
        return self.baked(name).apply(checked_image(bgr))

    def apply_naive(self, name: str, bgr: np.ndarray) -> np.ndarray:
        """The same filter through onnxruntime, every pixel's features fed to the network, then
        the same chroma step."""
        return smooth_chroma(self._naive_levels(name, bgr))

    def _naive_levels(self, name: str, bgr: np.ndarray) -> np.ndarray:
        """The network's output in float32 levels, 0..255 (its `rgb` output is clipped)."""
        image = checked_image(bgr)
        session = self.session(name)
        features = image_features(image[:, :, ::-1])
        out = np.empty((features.shape[0], 3), dtype=np.float32)
        for start in range(0, features.shape[0], _NAIVE_CHUNK):
            chunk = features[start : start + _NAIVE_CHUNK]
            out[start : start + chunk.shape[0]] = session.run(["rgb"], {"features": chunk})[0]
        levels = out[:, ::-1] * np.float32(255)
        return np.ascontiguousarray(levels).reshape(image.shape)


def checked_image(bgr: np.ndarray) -> np.ndarray:
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected a BGR uint8 (H, W, 3) image, got {bgr.dtype} {bgr.shape}")
    if bgr.shape[0] == 0 or bgr.shape[1] == 0:
        raise ValueError(f"empty image {bgr.shape}")
    return np.ascontiguousarray(bgr)


def bake_filter(session: ort.InferenceSession, cells: int = DEFAULT_CELLS) -> BakedFilter:
    """Evaluate a filter network's colour terms on the colour lattice and its position terms on
    the position lattice. The lattice is checked where it is least accurate (the middle of
    every red-green cell, weighted by how much each term can count): if it misses the network
    there by more than `LATTICE_TOLERANCE` levels, the next finer lattice is used."""
    terms = int(session.get_modelmeta().custom_metadata_map.get("position_terms", "0"))
    position: list[np.ndarray] = []
    reach = [1.0]  # how much each colour term can move the output, per level of the term
    if terms:
        positions = lattice_positions(cells)
        blank = np.zeros((len(positions), 3), dtype=np.float32)
        v = _evaluate(session, "position_terms", blank, positions)
        v = v.reshape(-1, terms, 3)[:, :, ::-1]
        position = [np.ascontiguousarray(v[:, k]) for k in range(terms)]
        reach += [float(np.abs(p).max()) for p in position]
    for size in LATTICE_SIZES:
        values = _colour_terms(session, lattice_colours(size), terms)
        exact = _colour_terms(session, cell_centre_colours(size, _CHECK_BLUES), terms)
        miss = max(
            reach[k]
            * float(
                np.abs(exact[:, k] - cell_centre_values(values[:, k], size, _CHECK_BLUES)).max()
            )
            for k in range(terms + 1)
        )
        if miss <= LATTICE_TOLERANCE:
            break
    # Tables hold the unclipped terms: the clip comes after interpolation, as in the network
    # (interpolating clipped values would lift the blacks and dim the whites nearby).
    if terms:  # read twice a pixel and mixed in float anyway: float tables read ~40 % faster
        quantised = [(values[:, k].astype(np.float32), 1.0) for k in range(terms + 1)]
    else:  # one read: int16 fixed point, half the memory
        quantised = [fixed_point(values[:, k]) for k in range(terms + 1)]
    return BakedFilter(
        colour=tuple(colour_table(table, size) for table, _ in quantised),
        position=tuple(
            position_table(position[k] * quantised[k + 1][1], cells) for k in range(terms)
        ),
        base_scale=quantised[0][1],
    )


def _colour_terms(session: ort.InferenceSession, rgb: np.ndarray, terms: int) -> np.ndarray:
    """(N, terms + 1, 3) colour terms in levels, channels in BGR order."""
    values = _evaluate(session, "colour_terms", rgb, np.zeros((len(rgb), 2), dtype=np.float32))
    return values.reshape(-1, terms + 1, 3)[:, :, ::-1] * np.float32(255)


def _evaluate(
    session: ort.InferenceSession, output: str, rgb: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    features = pixel_features(rgb, positions)
    parts = [
        session.run([output], {"features": features[start : start + _NAIVE_CHUNK]})[0]
        for start in range(0, len(features), _NAIVE_CHUNK)
    ]
    return np.concatenate(parts)

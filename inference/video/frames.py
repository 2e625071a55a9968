"""What happens to one frame: colourise it (model, then the temporal filter), filter it, or
both; with the time each stage took.

The model sees each frame's L* through `Colorizer.low_res_ab`; its ab is resized to the
stabiliser's working grid (aspect kept), stabilised there, brought back to the model's own output
size, and merged with the full-resolution L* by `merge_ab`, as for a photo (the edge-aware
upsampling's cost is set by the size it is given: from the finer grid it would cost several
times more, for colour no sharper than the model's). With `stabilise=False` every frame is
coloured on its own, exactly as `Colorizer.colorize_sync` colours a photo (the benchmark's
baseline).
"""

from __future__ import annotations

import time
from collections import defaultdict

import cv2
import numpy as np

from inference.colorize import Colorizer, lab_from_bgr, merge_ab
from inference.filters import FilterBank
from inference.video.flow import working_size
from inference.video.temporal import ChromaStabilizer, FrameChange, StabilizerTuning

STAGES = ("decode", "model", "flow", "colour", "filter", "encode")


class StageClock:
    """Seconds spent per stage, summed over a clip."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - started
        return now


class FrameColourer:
    """Colours the frames of one clip, in order (it keeps the clip's chroma history)."""

    def __init__(
        self,
        colorizer: Colorizer,
        width: int,
        height: int,
        clock: StageClock,
        *,
        stabilise: bool = True,
        tuning: StabilizerTuning | None = None,
    ) -> None:
        self.colorizer = colorizer
        self.grid = working_size(width, height)
        self.clock = clock
        self.stabilizer = ChromaStabilizer(tuning) if stabilise else None
        self.model_runs = 0
        self.propagated = 0  # frames coloured by the flow alone
        self._since_model = 0
        self._model_size: tuple[int, int] | None = None  # (w, h) of the model's ab

    def colour(self, bgr: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        lightness = np.ascontiguousarray(lab_from_bgr(bgr)[..., 0])
        self.clock.add("colour", started)
        ab = self._predict(lightness) if self.stabilizer is None else self._stabilised(lightness)
        started = time.perf_counter()
        if self._model_size is not None and ab.shape[:0:-1] != self._model_size:
            ab_hw = cv2.resize(
                np.ascontiguousarray(ab.transpose(1, 2, 0)),
                self._model_size,
                interpolation=cv2.INTER_AREA,
            )
            ab = np.ascontiguousarray(ab_hw.transpose(2, 0, 1))
        out = merge_ab(lightness, ab, self.colorizer.upsampling)
        self.clock.add("colour", started)
        return out

    def _stabilised(self, lightness: np.ndarray) -> np.ndarray:
        """The frame's ab [2, h, w] on the working grid: held for a duplicate, carried along
        the flow between model runs, or the model's blended with the history."""
        assert self.stabilizer is not None
        stabilizer, tuning = self.stabilizer, self.stabilizer.tuning
        started = time.perf_counter()
        small = cv2.resize(lightness, self.grid, interpolation=cv2.INTER_AREA)
        change = stabilizer.classify(small)
        if change is FrameChange.DUPLICATE:
            grid = stabilizer.held()
        elif (
            change is FrameChange.MOTION
            and self._since_model < tuning.model_stride - 1
            and stabilizer.track(small) >= tuning.min_coverage
        ):
            grid = stabilizer.update(small, None, change)
            self._since_model += 1
            self.propagated += 1
        else:
            self.clock.add("flow", started)
            predicted = self._predict(lightness)
            started = time.perf_counter()
            predicted_grid = cv2.resize(
                np.ascontiguousarray(predicted.transpose(1, 2, 0)),
                self.grid,
                interpolation=cv2.INTER_LINEAR,
            )
            grid = stabilizer.update(small, predicted_grid, change)
            self._since_model = 0
        self.clock.add("flow", started)
        return np.ascontiguousarray(grid.transpose(2, 0, 1))

    def _predict(self, lightness: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        ab = self.colorizer.low_res_ab(lightness)
        self._model_size = (ab.shape[2], ab.shape[1])
        self.clock.add("model", started)
        self.model_runs += 1
        return ab


class FrameFilter:
    def __init__(self, filters: FilterBank, name: str, clock: StageClock) -> None:
        self.filters = filters
        self.name = name
        self.clock = clock

    def apply(self, bgr: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        out = self.filters.apply(self.name, bgr)
        self.clock.add("filter", started)
        return out

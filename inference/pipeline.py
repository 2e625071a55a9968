"""What a job asks of inference: colourise, or filter (colourising a grey photo first)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.errors import UserError
from inference.colorize import Colorizer, has_colour
from inference.compute import ComputePool
from inference.filters import FilterBank

COLORIZE = "colorize"
FILTER = "filter"


class ColorizeUnavailableError(UserError):
    kind = "colorize_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Colourising isn't available right now, sorry. The filters still work: "
            "try /filter Lo-fi.",
            detail="no colourisation model is loaded",
        )


@dataclass(frozen=True)
class PhotoOutcome:
    bgr: np.ndarray
    operation: str
    filter_name: str | None
    colourised: bool
    had_colour: bool
    seconds: float


class PhotoPipeline:
    """Runs one job's photo work; everything blocking happens off the event loop."""

    def __init__(
        self, colorizer: Colorizer | None, filters: FilterBank, compute: ComputePool
    ) -> None:
        self.colorizer = colorizer
        self.filters = filters
        self.compute = compute

    @property
    def can_colorize(self) -> bool:
        return self.colorizer is not None

    async def run(self, operation: str, filter_name: str | None, bgr: np.ndarray) -> PhotoOutcome:
        started = time.perf_counter()
        if operation == COLORIZE:
            if self.colorizer is None:
                raise ColorizeUnavailableError()
            result = await self.colorizer.colorize(bgr)
            return PhotoOutcome(
                result.bgr,
                operation,
                None,
                True,
                result.had_colour,
                time.perf_counter() - started,
            )
        if operation != FILTER or filter_name is None:
            raise ValueError(f"unknown operation {operation!r} / filter {filter_name!r}")
        # A colour photo is filtered as is; a black-and-white one is colourised, then filtered.
        had_colour = await self.compute.run(has_colour, bgr)
        colourised = False
        if not had_colour and self.colorizer is not None:
            bgr = (await self.colorizer.colorize(bgr)).bgr
            colourised = True
        filtered = await self.compute.run(self.filters.apply, filter_name, bgr)
        return PhotoOutcome(
            filtered,
            operation,
            filter_name,
            colourised,
            had_colour,
            time.perf_counter() - started,
        )

"""Chart geometry for the stats page: pure functions from numbers to SVG coordinates.

The template draws the shapes as inline <svg> (no JavaScript, no charting library); colours
come from the stylesheet by series index (`series-0`, `series-1`, ...). Every shape carries a
title with its exact value, and the page also has the numbers as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

WIDTH = 440.0
HEIGHT = 220.0
LEFT, RIGHT, TOP, BOTTOM = 40.0, 18.0, 10.0, 24.0
MAX_X_LABELS = 6
ROW_HEIGHT = 24.0
LABEL_WIDTH = 110.0


@dataclass(frozen=True)
class Tick:
    position: float  # x for the x axis, y for the y axis
    label: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Line:
    series: int
    name: str
    segments: list[str]  # SVG polyline `points`, one per unbroken run of values
    dots: list[tuple[float, float, str]]  # x, y, title


@dataclass(frozen=True)
class Chart:
    title: str
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right_edge: float = WIDTH - RIGHT
    top: float = TOP
    bottom_edge: float = HEIGHT - BOTTOM
    y_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rects and not any(line.dots for line in self.lines)


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    width: float
    value: str


@dataclass(frozen=True)
class BarList:
    """Horizontal bars, one labelled row each (e.g. the most used filters)."""

    title: str
    rows: list[Row]
    width: float = WIDTH
    label_width: float = LABEL_WIDTH
    row_height: float = ROW_HEIGHT

    @property
    def height(self) -> float:
        return max(1, len(self.rows)) * self.row_height


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2 or 5 x 10^k) up to at least `maximum`, about `count` steps."""
    if not math.isfinite(maximum) or maximum <= 0:
        return [0.0, 1.0]
    rough = maximum / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(step * n, 10) for n in range(steps + 1)]


def format_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2g}"


def _y_axis(maximum: float, formatter: Callable[[float], str]) -> tuple[list[Tick], float]:
    ticks = nice_ticks(maximum)
    top_value = ticks[-1]
    scale = (HEIGHT - BOTTOM - TOP) / top_value
    return [Tick(HEIGHT - BOTTOM - value * scale, formatter(value)) for value in ticks], scale


def _band(count: int) -> float:
    return (WIDTH - RIGHT - LEFT) / max(1, count)


def _x_labels(labels: Sequence[str]) -> list[Tick]:
    band = _band(len(labels))
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    picked = range(len(labels) - 1, -1, -every)  # always label the last (today)
    return [Tick(LEFT + (i + 0.5) * band, labels[i]) for i in sorted(picked)]


def stacked_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], unit: str
) -> Chart:
    """One bar per label, the series stacked in the given order (bottom first)."""
    names = list(series)
    totals = [sum(series[name][i] for name in names) for i in range(len(labels))]
    y_ticks, scale = _y_axis(max(totals, default=0.0), format_number)
    band = _band(len(labels))
    rects: list[Rect] = []
    for i, label in enumerate(labels):
        base = HEIGHT - BOTTOM
        for index, name in enumerate(names):
            value = series[name][i]
            if value <= 0:
                continue
            height = value * scale
            base -= height
            rects.append(
                Rect(
                    x=round(LEFT + i * band + band * 0.15, 2),
                    y=round(base, 2),
                    width=round(band * 0.7, 2),
                    height=round(height, 2),
                    series=index,
                    title=f"{label}: {name} {format_number(value)} {unit}",
                )
            )
    return Chart(title, y_ticks=y_ticks, x_labels=_x_labels(labels), rects=rects, legend=names)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    formatter: Callable[[float], str],
) -> Chart:
    """One polyline per series; a missing value (None) breaks the line."""
    values = [v for name in series for v in series[name] if v is not None]
    y_ticks, scale = _y_axis(max(values, default=0.0), formatter)
    band = _band(len(labels))
    lines: list[Line] = []
    for index, (name, points) in enumerate(series.items()):
        segments: list[str] = []
        dots: list[tuple[float, float, str]] = []
        run: list[str] = []
        for i, value in enumerate(points):
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            x, y = round(LEFT + (i + 0.5) * band, 2), round(HEIGHT - BOTTOM - value * scale, 2)
            run.append(f"{x},{y}")
            dots.append((x, y, f"{labels[i]}: {name} {formatter(value)}"))
        if run:
            segments.append(" ".join(run))
        lines.append(Line(index, name, segments, dots))
    return Chart(
        title, y_ticks=y_ticks, x_labels=_x_labels(labels), lines=lines, legend=list(series)
    )


def bar_list(title: str, items: Sequence[tuple[str, float]], unit: str) -> BarList:
    """Rows of horizontal bars scaled to the largest value."""
    largest = max((value for _, value in items), default=0.0)
    room = WIDTH - LABEL_WIDTH - 48.0  # space for the value after the bar
    rows = [
        Row(
            label=label,
            y=i * ROW_HEIGHT,
            width=round(room * value / largest, 2) if largest > 0 else 0.0,
            value=f"{format_number(value)} {unit}",
        )
        for i, (label, value) in enumerate(items)
    ]
    return BarList(title, rows)

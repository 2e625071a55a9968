"""Chart geometry (pure): round ticks, stacked bars in proportion, broken lines, bar lists."""

from __future__ import annotations

import pytest

from bot.pages.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    MAX_X_LABELS,
    RIGHT,
    TOP,
    WIDTH,
    bar_list,
    line_chart,
    nice_ticks,
    stacked_bars,
)

BASELINE = HEIGHT - BOTTOM
PLOT_HEIGHT = HEIGHT - BOTTOM - TOP


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0.0, 1.0]),
        (-3, [0.0, 1.0]),
        (float("nan"), [0.0, 1.0]),
        (1, [0.0, 0.5, 1.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (10, [0.0, 5.0, 10.0]),
        (23, [0.0, 10.0, 20.0, 30.0]),
        (180, [0.0, 50.0, 100.0, 150.0, 200.0]),
        (0.37, [0.0, 0.1, 0.2, 0.3, 0.4]),
    ],
)
def test_ticks_are_round_and_cover_the_maximum(maximum: float, ticks: list[float]) -> None:
    assert nice_ticks(maximum) == ticks


def test_stacked_bars_are_in_proportion_and_stack() -> None:
    chart = stacked_bars("Jobs", ["a", "b", "c"], {"web": [2, 0, 5], "telegram": [3, 1, 0]}, "jobs")
    # The scale's top is the round tick above the tallest bar (5 -> ticks 0, 2, 4, 6).
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6"]
    assert chart.y_ticks[0].position == BASELINE and chart.y_ticks[-1].position == TOP
    per_unit = PLOT_HEIGHT / 6
    bars = {(r.title.split(":")[0], r.series): r for r in chart.rects}
    assert len(chart.rects) == 4  # zero values draw nothing
    first_web, first_telegram = bars[("a", 0)], bars[("a", 1)]
    assert first_web.height == pytest.approx(2 * per_unit, abs=0.01)
    assert first_web.y + first_web.height == pytest.approx(BASELINE, abs=0.01)
    # Telegram's part of bar "a" sits right on top of web's.
    assert first_telegram.y + first_telegram.height == pytest.approx(first_web.y, abs=0.01)
    assert first_telegram.height == pytest.approx(3 * per_unit, abs=0.01)
    assert bars[("c", 0)].height == pytest.approx(5 * per_unit, abs=0.01)
    assert first_telegram.title == "a: telegram 3 jobs"
    # Bars keep to their day's band, left to right, inside the plot.
    xs = [r.x for r in chart.rects if r.series == 0]
    assert xs == sorted(xs) and xs[0] >= LEFT and xs[-1] + first_web.width <= WIDTH - RIGHT
    assert chart.legend == ["web", "telegram"]
    assert not chart.empty


def test_nothing_to_draw_is_an_empty_chart() -> None:
    assert stacked_bars("Jobs", ["a", "b"], {}, "jobs").empty
    assert stacked_bars("Jobs", ["a", "b"], {"web": [0, 0]}, "jobs").empty
    assert line_chart("Time", ["a"], {"p50": [None]}, str).empty


def test_x_labels_are_thinned_but_keep_the_last_day() -> None:
    labels = [f"d{i}" for i in range(30)]
    chart = stacked_bars("Jobs", labels, {"web": [1] * 30}, "jobs")
    assert 2 <= len(chart.x_labels) <= MAX_X_LABELS + 1
    assert chart.x_labels[-1].label == "d29"
    positions = [t.position for t in chart.x_labels]
    assert positions == sorted(positions)


def test_a_missing_value_breaks_the_line() -> None:
    chart = line_chart(
        "Time", ["a", "b", "c", "d"], {"p50": [1.0, None, 2.0, 4.0]}, lambda v: f"{v:g} s"
    )
    (line,) = chart.lines
    assert len(line.segments) == 2
    assert len(line.segments[0].split()) == 1 and len(line.segments[1].split()) == 2
    assert [title for _, _, title in line.dots] == ["a: p50 1 s", "c: p50 2 s", "d: p50 4 s"]
    ys = [y for _, y, _ in line.dots]
    assert ys[0] > ys[1] > ys[2]  # larger values are drawn higher
    assert ys[2] == pytest.approx(TOP, abs=0.01)  # 4 is the top tick


def test_bar_list_scales_to_the_largest() -> None:
    bars = bar_list("Filters", [("Lo-Fi", 10), ("Juno", 5), ("Lark", 0)], "jobs")
    widths = [row.width for row in bars.rows]
    assert widths[0] > 0 and widths[1] == pytest.approx(widths[0] / 2) and widths[2] == 0
    assert [row.value for row in bars.rows] == ["10 jobs", "5 jobs", "0 jobs"]
    assert bars.height == 3 * bars.row_height
    assert bar_list("Filters", [], "jobs").rows == []

"""A line chart of counts per day, laid out on the server for an SVG template.

The admin draws it with no JavaScript and no asset from elsewhere: the
template writes each series as a polyline and a circle per point.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 32, 16, 36
# Colours that stay apart for readers with the common colour deficiencies.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True)
class Point:
    """One count of a series: where it is drawn, and what it says."""

    x: float
    y: float
    day: date
    count: int


@dataclass(frozen=True)
class Series:
    """One line of the chart."""

    label: str
    colour: str
    points: list[Point]

    @property
    def polyline(self) -> str:
        """Return the points as an SVG ``points`` attribute."""
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis."""

    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A laid-out chart: its size, lines, and axis ticks."""

    width: int
    height: int
    left: float
    right: float
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def line_chart(days: Sequence[date], lines: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Lay out one line per ``(label, counts per day)`` over *days* (at least two)."""
    top = max([1, *(count for _, counts in lines for count in counts)])
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / (len(days) - 1)

    def y_of(count: int) -> float:
        return TOP + plot_height * (1 - count / top)

    series = [
        Series(
            label,
            PALETTE[index % len(PALETTE)],
            [
                Point(LEFT + step * position, y_of(count), day, count)
                for position, (day, count) in enumerate(zip(days, counts, strict=True))
            ],
        )
        for index, (label, counts) in enumerate(lines)
    ]
    x_ticks = [Tick(LEFT + step * position, f"{day:%d %b}") for position, day in enumerate(days)]
    y_ticks = [Tick(y_of(count), str(count)) for count in sorted({0, top // 2, top})]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, series, x_ticks, y_ticks)

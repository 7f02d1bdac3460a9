"""The median of repeated measurements and their range, as every benchmark reports them."""

import argparse
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

MIN_REPEATS = 3


def repeats(text: str) -> int:
    """Return *text* as a number of timed repeats: at least ``MIN_REPEATS``.

    For ``argparse``: fewer repeats give no spread worth printing.
    """
    count = int(text)
    if count < MIN_REPEATS:
        raise argparse.ArgumentTypeError(f"at least {MIN_REPEATS} repeats, not {count}")
    return count


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements, and the lowest and highest of them."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        """Return the spread of *values*; raises ``ValueError`` when there are none."""
        ordered = sorted(values)
        if not ordered:
            raise ValueError("no measurements")
        return cls(statistics.median(ordered), ordered[0], ordered[-1])

    def format(self, spec: str = ".2f") -> str:
        """Return ``median (low..high)``, each number formatted with *spec*."""
        return f"{self.median:{spec}} ({self.low:{spec}}..{self.high:{spec}})"

    def as_dict(self, digits: int = 3) -> dict[str, float]:
        """Return the median, min and max rounded to *digits*, for a JSON log line."""
        return {
            "median": round(self.median, digits),
            "min": round(self.low, digits),
            "max": round(self.high, digits),
        }

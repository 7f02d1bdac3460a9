"""Reading ``/metrics`` in tests: one scrape's samples, and what grew between two scrapes.

Counters only grow, and the test process keeps one registry for the whole
session, so tests compare a scrape taken after what they do with one taken
before: ``after.growth(before, "rule_engine_checks_total")``.
"""

from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]


def labels(**pairs: str) -> Labels:
    """Return a sample's labels as ``Scrape`` keys them."""
    return frozenset(pairs.items())


class Scrape:
    """The samples of one scrape of ``/metrics`` (Prometheus's text format), by name and labels."""

    def __init__(self, text: str) -> None:
        """Parse *text*; raises ``ValueError`` if it is not the text format."""
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples: dict[str, dict[Labels, float]] = {}
        for family in self.families.values():
            for sample in family.samples:
                self.samples.setdefault(sample.name, {})[labels(**sample.labels)] = sample.value

    def total(self, name: str, **having: str) -> float:
        """Return the sum of the samples called *name* that carry the labels *having*."""
        wanted = labels(**having)
        return sum(value for key, value in self.samples.get(name, {}).items() if wanted <= key)

    def growth(self, earlier: "Scrape", name: str) -> dict[Labels, float]:
        """Return how much each sample called *name* grew since *earlier*, if it grew."""
        before = earlier.samples.get(name, {})
        grown = {
            key: value - before.get(key, 0.0) for key, value in self.samples.get(name, {}).items()
        }
        return {key: value for key, value in grown.items() if value}

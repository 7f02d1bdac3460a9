"""Three bench providers, each at the address of a ``BENCH_<NAME>_URL`` setting.

``stock`` and ``credit`` stand beside ``risk`` so that a check asks three
services at once; ``flaky`` is the one whose service hangs, with a timeout
of 200 ms. None is cached (``cache_ttl = 0``): every check calls them.
"""

from orders.facts import CUSTOMER_ID, TOTAL, Fact, FactType
from rules.engine.providers import Provider


def score_fact(provider: str) -> Fact:
    """Return the one fact *provider* supplies: a score of 0 to 100, as the stand-in answers."""
    return Fact(
        f"{provider}.score",
        FactType.COUNT,
        f"A score from the bench's {provider} service.",
        20,
        minimum=0,
        maximum=100,
        provider=provider,
    )


STOCK_SCORE = score_fact("stock")
CREDIT_SCORE = score_fact("credit")
FLAKY_SCORE = score_fact("flaky")


class StockProvider(Provider):
    """A second 50 ms service for the three-provider check."""

    name = "stock"
    description = "Bench: a score from the service at BENCH_STOCK_URL."
    provides = (STOCK_SCORE,)
    reads = (TOTAL, CUSTOMER_ID)
    cache_ttl = 0
    url_setting = "BENCH_STOCK_URL"


class CreditProvider(Provider):
    """A third 50 ms service for the three-provider check."""

    name = "credit"
    description = "Bench: a score from the service at BENCH_CREDIT_URL."
    provides = (CREDIT_SCORE,)
    reads = (TOTAL, CUSTOMER_ID)
    cache_ttl = 0
    url_setting = "BENCH_CREDIT_URL"


class FlakyProvider(Provider):
    """The service that hangs, given 200 ms: the issue's timeout, not the risk provider's 300."""

    name = "flaky"
    description = "Bench: a score from the service at BENCH_FLAKY_URL, within 200 ms."
    provides = (FLAKY_SCORE,)
    reads = (TOTAL, CUSTOMER_ID)
    timeout = 0.2
    cache_ttl = 0
    url_setting = "BENCH_FLAKY_URL"

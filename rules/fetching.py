"""Calling providers: concurrently, under a deadline, through a shared cache and a breaker.

(Interface; the implementation lands with issue 18's runtime step.)
"""

from __future__ import annotations

from collections.abc import Sequence

from orders.facts import OrderFacts, Supplied
from rules.engine.providers import Provider


def supply(
    providers: Sequence[type[Provider]], orders: Sequence[OrderFacts], *, deadline: float
) -> list[dict[str, Supplied]]:
    """Return, for each of *orders*, what each of *providers* supplied, by provider name.

    *deadline* is the most all of it may take, in seconds from now.
    """
    raise NotImplementedError

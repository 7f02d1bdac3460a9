"""Fixtures of the rules tests."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from rules.engine import RuleRegistry

if TYPE_CHECKING:
    from orders.models import Order


@pytest.fixture(autouse=True)
def _restore_rule_registry() -> Iterator[None]:
    """Drop rules that a test defines, so registry state never leaks.

    The one place tests touch the registry's private attribute.
    """
    saved = dict(RuleRegistry._rules)
    yield
    RuleRegistry._rules.clear()
    RuleRegistry._rules.update(saved)


@pytest.fixture
def seeded(db: None) -> list["Order"]:
    """Create the three sample orders, as ``seed_orders`` does.

    150.00 with 3 items and 200.00 with 5 pass the built-in rules; 75.50 with 1 fails them all.
    """
    from orders.seeding import orders_seed  # models load after this conftest

    return orders_seed()

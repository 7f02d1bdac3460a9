"""Fixtures of the rules tests."""

from collections.abc import Iterator

import pytest

from rules.engine import RuleRegistry


@pytest.fixture(autouse=True)
def _restore_rule_registry() -> Iterator[None]:
    """Drop rules that a test defines, so registry state never leaks.

    The one place tests touch the registry's private attribute.
    """
    saved = dict(RuleRegistry._rules)
    yield
    RuleRegistry._rules.clear()
    RuleRegistry._rules.update(saved)

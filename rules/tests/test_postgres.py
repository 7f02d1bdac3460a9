"""On PostgreSQL, a report whose query runs out of time says so before its first byte.

``make test-postgres`` runs these (a throw-away cluster); ``make test``
deselects them by their marker.
"""

from decimal import Decimal

import pytest
from django.db.models import BooleanField, Func, Q
from django.urls import reverse

from orders.tests.factories import OrderFactory
from rules.engine import BaseRule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class Sleep(Func):
    """``pg_sleep(seconds)``, which is true once it has slept."""

    function = "pg_sleep"
    template = "(%(function)s(%(expressions)s) IS NOT NULL)"
    output_field = BooleanField()


def test_a_report_whose_query_runs_out_of_time_is_a_503_before_any_row(analyst, settings):
    """The count within its budget, the rows' query past it: the answer is the timeout."""
    OrderFactory(total=Decimal("150.00"), items_count=3)
    settings.ANALYZE_STATEMENT_TIMEOUT_MS = 200

    class SlowRule(BaseRule):
        name = "slow"
        description = "Takes a second per order in SQL."

        def evaluate(self, order):
            return True

        def as_q(self):
            return Q(Sleep(1.0))

    response = analyst.post(reverse("rules:rule-report"), {"rules": ["slow"]}, format="json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "Service Unavailable",
        "code": "query_timeout",
        "detail": "The query took longer than it may; narrow it, or try again later.",
    }

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.models import Decision
from decisions.tests.factories import DecisionFactory, result

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:decisions_decision_changelist")


def _change(pk: int) -> str:
    return reverse("admin:decisions_decision_change", args=[pk])


def test_changelist_shows_the_decisions_with_their_columns(admin_client):
    decision = DecisionFactory(order_id=17, ruleset="checkout", ruleset_version=3)

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    for column in ("id", "decided_at", "order_id", "ruleset", "ruleset_version", "caller"):
        assert f"column-{column}" in content
    assert f'href="{_change(decision.pk)}"' in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"passed__exact": "0"}, [1]),
        ({"passed__exact": "1"}, [2, 0]),
        ({"ruleset": "checkout"}, [2, 1]),
        ({"ruleset_version": "2"}, [2]),
        ({"caller": "user:7"}, [1]),
        (
            {
                "decided_at__gte": "2000-01-01 00:00:00+00:00",
                "decided_at__lt": "2000-01-02 00:00:00+00:00",
            },
            [0],
        ),
    ],
)
def test_changelist_filters_by_verdict_rule_set_version_caller_and_date(
    admin_client, query, expected
):
    now = timezone.now()
    made = [
        DecisionFactory(decided_at=datetime(2000, 1, 1, 12, 0, tzinfo=UTC)),
        DecisionFactory(
            decided_at=now - timedelta(hours=1),
            caller="user:7",
            ruleset="checkout",
            ruleset_version=1,
            results=[result("min_total_100", "failed")],
        ),
        DecisionFactory(decided_at=now, ruleset="checkout", ruleset_version=2),
    ]

    response = admin_client.get(CHANGELIST, query)

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [made[index] for index in expected]


def test_a_decision_page_shows_the_record_and_a_table_of_its_rules(admin_client):
    decision = DecisionFactory(
        results=[
            result(
                "big",
                "failed",
                name="total_greater_than",
                params={"amount": "250.00"},
                message="Total 150.00 is not <greater> than 250.00.",
                facts={"shortfall": "100.01"},
            ),
            result("min_items_2"),
        ]
    )

    response = admin_client.get(_change(decision.pk))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<table class="decision-results">' in content
    assert (
        "<tr><td>big</td><td>total_greater_than</td><td>amount=250.00</td><td>failed</td>"
        "<td>error</td><td>Total 150.00 is not &lt;greater&gt; than 250.00.</td>"
        "<td>shortfall=100.01</td></tr>"
    ) in content
    assert "<tr><td>min_items_2</td><td>min_items_2</td><td></td><td>passed</td>" in content
    assert 'name="_save"' not in content


def test_decisions_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    decision = DecisionFactory()
    add = reverse("admin:decisions_decision_add")
    delete = reverse("admin:decisions_decision_delete", args=[decision.pk])

    posted = admin_client.post(_change(decision.pk), {"caller": "someone else"})
    bulk_delete = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [decision.pk]}
    )

    assert admin_client.get(add).status_code == 403
    assert admin_client.get(delete).status_code == 403
    assert posted.status_code == 403
    assert bulk_delete.status_code == 200
    assert Decision.objects.get().caller == "anonymous"
    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()

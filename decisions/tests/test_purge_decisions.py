from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.tests.scrapes import labels
from decisions.models import Decision, DecisionOutcome
from decisions.tests.factories import DecisionFactory, result

pytestmark = pytest.mark.django_db


def _purge(*args: str) -> list[str]:
    out = StringIO()
    call_command("purge_decisions", *args, stdout=out)
    return out.getvalue().splitlines()


def _made_days_ago(*days: float) -> list[Decision]:
    now = timezone.now()
    return [DecisionFactory(decided_at=now - timedelta(days=ago)) for ago in days]


def test_purge_deletes_what_is_older_than_the_retention_in_batches_with_a_line_each(settings):
    settings.DECISION_LOG_RETENTION_DAYS = 30
    kept = _made_days_ago(29, 1, 0)
    _made_days_ago(31, 40, 50, 60, 70)

    lines = _purge("--batch-size", "2")

    assert lines[:3] == [
        "Deleted 2 decisions (2 so far).",
        "Deleted 2 decisions (4 so far).",
        "Deleted 1 decisions (5 so far).",
    ]
    assert lines[3].startswith("Purged 5 decisions made before ")
    assert len(lines) == 4
    assert sorted(Decision.objects.values_list("pk", flat=True)) == [d.pk for d in kept]


def test_each_purge_run_is_counted_with_the_decisions_it_deleted(scrape):
    _made_days_ago(100, 200, 1)
    before = scrape()

    _purge("--days", "90")
    _purge("--days", "90")
    after = scrape()

    assert after.growth(before, "rule_engine_command_runs_total") == {
        labels(command="purge_decisions"): 2
    }
    assert after.growth(before, "rule_engine_command_rows_total") == {
        labels(command="purge_decisions"): 2
    }


def test_purge_deletes_the_oldest_first():
    newest_old, oldest = _made_days_ago(100, 300)

    _purge("--days", "90", "--batch-size", "1")

    assert Decision.objects.filter(pk__in=[newest_old.pk, oldest.pk]).count() == 0


def test_purge_with_days_overrides_the_retention_setting():
    recent, _older = _made_days_ago(2, 10)

    _purge("--days", "5")

    assert list(Decision.objects.values_list("pk", flat=True)) == [recent.pk]


def test_purge_with_nothing_to_delete_says_so_and_keeps_everything():
    _made_days_ago(1)

    lines = _purge()

    assert len(lines) == 1
    assert lines[0].startswith("Purged 0 decisions made before ")
    assert Decision.objects.count() == 1


def test_purged_decisions_take_their_outcome_rows_with_them():
    now = timezone.now()
    failed = [result("min_total_100", "failed"), result("min_items_2", "error")]
    for ago in (100, 1):
        DecisionFactory(decided_at=now - timedelta(days=ago), results=failed)

    _purge()

    assert (
        list(DecisionOutcome.objects.values_list("decision_id", flat=True))
        == [Decision.objects.get().pk] * 2
    )


def test_a_full_last_batch_is_followed_by_one_that_finds_nothing():
    _made_days_ago(100, 100)

    with CaptureQueriesContext(connection) as queries:
        lines = _purge("--batch-size", "2")

    # Two DELETEs: a full batch may not be the last one.
    deletes = [query for query in queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 2

    assert lines[0] == "Deleted 2 decisions (2 so far)."
    assert Decision.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--days", "0"], "--days must be at least 1."), (["--batch-size", "0"], "--batch-size")],
)
def test_purge_refuses_a_retention_or_batch_below_one(args, message):
    _made_days_ago(100)

    with pytest.raises(CommandError, match=message):
        _purge(*args)

    assert Decision.objects.count() == 1

"""The decision log's daily partitions: made by migrate and the command, dropped by purge."""

from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from decisions.models import Decision, DecisionOutcome
from decisions.partitions import PartitionsMade, day_suffix, is_partitioned, partitions_create
from decisions.selectors import decision_get
from decisions.tests.factories import DecisionFactory, result

pytestmark = pytest.mark.django_db

FAILED = [result("min_total_100", "failed")]


def _today() -> date:
    return datetime.now(UTC).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _partitions(table: str) -> set[str]:
    """Return the names of *table*'s partitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            [table],
        )
        return {name for (name,) in cursor.fetchall()}


def _partition_of(decision: Decision) -> str:
    """Return the partition that holds *decision*."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM decisions_decision WHERE id = %s", [decision.pk]
        )
        return cursor.fetchone()[0]


def _command(name: str, *args: str) -> list[str]:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue().splitlines()


def _days(first: date, count: int, table: str = "decisions_decision") -> set[str]:
    return {f"{table}_{day_suffix(first + timedelta(days=n))}" for n in range(count)}


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["decisions_decision", "decisions_decisionoutcome"])
def test_migrate_makes_today_and_the_days_ahead_and_a_default_partition(settings, table):
    expected = _days(_today(), settings.DECISION_PARTITIONS_AHEAD + 1, table)

    assert _partitions(table) >= expected | {f"{table}_default"}


@pytest.mark.postgres
def test_the_command_makes_the_missing_days_ahead_and_nothing_when_run_again():
    today = _today()
    already = _partitions("decisions_decision")

    first = _command("decision_partitions", "--ahead", "6")
    again = _command("decision_partitions", "--ahead", "6")

    made = _days(today, 7) - already
    assert made, "migrate made every day already: ask for more"
    assert sorted(first[:-1]) == sorted(f"Made partition {name}." for name in made)
    assert first[-1] == f"Made {len(made)} partitions; today and 6 days ahead exist."
    assert again == ["Made 0 partitions; today and 6 days ahead exist."]
    assert _partitions("decisions_decisionoutcome") >= _days(today, 7, "decisions_decisionoutcome")


@pytest.mark.postgres
def test_a_decision_goes_to_its_days_partition_and_its_outcome_rows_beside_it():
    decision = DecisionFactory(results=FAILED)

    suffix = day_suffix(decision.decided_at.astimezone(UTC).date())
    assert _partition_of(decision) == f"decisions_decision_{suffix}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM decisions_decisionoutcome "
            "WHERE decision_id = %s",
            [decision.pk],
        )
        assert cursor.fetchall() == [(f"decisions_decisionoutcome_{suffix}",)]
    assert decision_get(decision.pk) == decision


@pytest.mark.postgres
def test_a_decision_older_than_any_partition_lands_in_the_default_partition():
    decision = DecisionFactory(decided_at=timezone.now() - timedelta(days=400), results=FAILED)

    assert _partition_of(decision) == "decisions_decision_default"
    assert DecisionOutcome.objects.filter(decision=decision).count() == 1
    assert decision_get(decision.pk) == decision


@pytest.mark.postgres
def test_a_day_whose_decisions_are_in_the_default_partition_is_named_and_the_next_made():
    stray = _today() + timedelta(days=20)
    decision = DecisionFactory(decided_at=_midnight(stray) + timedelta(hours=1))

    with pytest.raises(CommandError, match=f"the DEFAULT partition holds decisions of {stray}:"):
        _command("decision_partitions", "--ahead", "21")

    made = _partitions("decisions_decision")
    assert f"decisions_decision_{day_suffix(stray)}" not in made
    assert _days(stray - timedelta(days=1), 1) | _days(stray + timedelta(days=1), 1) <= made
    assert _partition_of(decision) == "decisions_decision_default"


@pytest.mark.postgres
def test_purge_drops_whole_old_days_and_deletes_only_the_boundary_days_old_rows():
    now = timezone.now()
    before = now - timedelta(days=39)
    boundary = before.astimezone(UTC).date()
    partitions_create(connection, ahead=2, today=boundary - timedelta(days=1))
    whole_day = [
        DecisionFactory(decided_at=_midnight(boundary) - timedelta(hours=h), results=FAILED)
        for h in (1, 20)
    ]
    old_part = DecisionFactory(decided_at=_midnight(boundary), results=FAILED)
    # Halfway between the retention's bound and the end of its day: kept.
    young_part = DecisionFactory(
        decided_at=before + (_midnight(boundary + timedelta(days=1)) - before) / 2, results=FAILED
    )
    ancient = DecisionFactory(decided_at=now - timedelta(days=400), results=FAILED)
    recent = DecisionFactory(results=FAILED)

    lines = _command("purge_decisions", "--days", "39")

    dropped = day_suffix(boundary - timedelta(days=1))
    assert lines[0].startswith(f"Dropped partition decisions_decision_{dropped} (about ")
    # The boundary day's old decision and the ancient one in the DEFAULT partition.
    assert lines[1].startswith("Deleted 2 decisions (")
    assert lines[-1].startswith("Purged ")
    assert f"decisions_decision_{dropped}" not in _partitions("decisions_decision")
    assert f"decisions_decisionoutcome_{dropped}" not in _partitions("decisions_decisionoutcome")
    kept = {young_part.pk, recent.pk}
    assert set(Decision.objects.values_list("pk", flat=True)) == kept
    assert set(DecisionOutcome.objects.values_list("decision_id", flat=True)) == kept
    assert not {d.pk for d in [*whole_day, old_part, ancient]} & kept


@pytest.mark.sqlite
def test_on_sqlite_the_log_is_one_table_and_the_command_says_so():
    DecisionFactory(decided_at=timezone.now() - timedelta(days=400))

    lines = _command("decision_partitions")

    assert lines == ["The decision log is not partitioned here (only on PostgreSQL)."]
    assert is_partitioned(connection) is False
    assert partitions_create(connection, ahead=3) == PartitionsMade()


def test_the_command_refuses_fewer_than_one_day_ahead():
    with pytest.raises(CommandError, match="--ahead must be at least 1"):
        _command("decision_partitions", "--ahead", "0")

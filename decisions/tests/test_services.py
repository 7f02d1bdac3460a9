from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from decisions.models import Decision, DecisionOutcome
from decisions.services import (
    COLUMNS,
    DecisionEntry,
    DecisionLogTooLargeError,
    DecisionSource,
    decisions_record,
)
from decisions.tests.factories import PLACED, result
from orders.facts import OrderFacts, snapshot, snapshot_aliases

pytestmark = pytest.mark.django_db

SOURCE = DecisionSource(
    caller="anonymous",
    request_id="req-1",
    fail_fast=False,
    rules=[{"name": "min_total_100", "params": {}, "as": None, "severity": None, "stored": None}],
)


def _entry(order_id: int | None = 1, outcome: str = "passed", **fields) -> DecisionEntry:
    facts = {
        "total": fields.pop("total", Decimal("150.00")),
        "items_count": fields.pop("items_count", 3),
        "created_at": fields.pop("created_at", PLACED),
        "updated_at": PLACED if order_id is not None else None,
    }
    values = {
        "order_id": order_id,
        "snapshot": snapshot(OrderFacts(**facts)),
        "results": [result("min_total_100", outcome)],
        "passed": outcome == "passed",
        **fields,
    }
    return DecisionEntry(**values)


def _record(entries: list[DecisionEntry], source: DecisionSource = SOURCE) -> list[int | None]:
    return decisions_record(source=source, entries=entries)


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """Return the queries sent but the savepoints around a COPY (in a test's transaction)."""
    return [
        query["sql"]
        for query in queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_requests_checks_are_stored_by_one_statement_in_the_entries_order():
    """One INSERT; on PostgreSQL one COPY, which the count does not see, after its ids' query."""
    entries = [_entry(order_id) for order_id in range(1, 101)]

    with CaptureQueriesContext(connection) as queries:
        ids = _record(entries)

    assert len(_statements(queries)) == 1

    assert ids == sorted(ids)
    assert [Decision.objects.get(pk=pk).order_id for pk in ids] == list(range(1, 101))


def test_each_rule_that_did_not_pass_is_indexed_by_the_same_statement():
    results = [
        result("min_total_100", "failed"),
        result("big", "passed"),
        result('a "b"', "error"),
    ]
    entries = [_entry(1, results=results, passed=False), _entry(2), _entry(3, "skipped")]

    with CaptureQueriesContext(connection) as queries:
        first, _, third = _record(entries)

    assert len(_statements(queries)) == 1

    decided_at = Decision.objects.get(pk=first).decided_at
    rows = DecisionOutcome.objects.order_by("decision_id", "rule")
    assert [(row.decision_id, row.rule, row.outcome, row.decided_at) for row in rows] == [
        (first, 'a "b"', "error", decided_at),
        (first, "min_total_100", "failed", decided_at),
        (third, "min_total_100", "skipped", decided_at),
    ]


def test_a_decision_holds_the_order_snapshot_the_rules_and_the_results():
    ruleset_source = DecisionSource(
        caller="user:7", request_id="req-9", fail_fast=True, ruleset="checkout", ruleset_version=3
    )
    entry = _entry(
        17,
        "failed",
        total=Decimal("75.50"),
        items_count=1,
        results=[
            result(
                "big",
                "failed",
                name="total_greater_than",
                params={"amount": "100.00"},
                facts={"observed": "75.50", "required": "100.00", "shortfall": "24.51"},
            ),
            result("min_items_2", "skipped"),
        ],
    )

    [pk] = _record([entry], ruleset_source)

    decision = Decision.objects.get(pk=pk)
    assert model_to_dict(decision, exclude=["id", "decided_at"]) == {
        "caller": "user:7",
        "request_id": "req-9",
        "order_id": 17,
        "snapshot": {
            "total": "75.50",
            "items_count": 1,
            "created_at": "2026-11-02T10:00:00+00:00",
            "updated_at": "2026-11-02T10:00:00+00:00",
            "currency": "EUR",
        },
        "ruleset": "checkout",
        "ruleset_version": 3,
        "rules": None,
        "fail_fast": True,
        "results": entry.results,
        "outcomes": {"big": "failed", "min_items_2": "skipped"},
        "passed": False,
    }


def test_the_writer_fills_every_column_but_the_id():
    written = {field.attname for field in Decision._meta.concrete_fields if not field.primary_key}

    assert sorted(COLUMNS) == sorted(written)


def test_written_rows_filter_exactly_like_rows_the_orm_wrote():
    """Times and JSON are stored in the ORM's own formats; snapshot facts filter like columns.

    To the microsecond and the cent, as the order's own columns would.
    """
    placed = datetime(2026, 11, 2, 10, 0, 0, 1, tzinfo=UTC)
    [written] = _record([_entry(5, total=Decimal("100.10"), created_at=placed)])
    by_orm = Decision.objects.create(
        **{
            **model_to_dict(Decision.objects.get(pk=written), exclude=["id"]),
            "order_id": 6,
        }
    )
    both = Decision.objects.filter(pk__in=[written, by_orm.pk]).alias(
        **snapshot_aliases("snapshot")
    )

    assert both.filter(created_at=placed).count() == 2
    assert both.filter(created_at__gt=placed - timedelta(microseconds=1)).count() == 2
    assert both.filter(total__gt=Decimal("100.09"), total__lt=Decimal("100.11")).count() == 2
    assert both.filter(outcomes__min_total_100="passed").count() == 2
    assert both.filter(decided_at=Decision.objects.get(pk=written).decided_at).count() == 2


def test_an_ad_hoc_order_has_no_id_and_no_update_time():
    [pk] = _record([_entry(None)])

    decision = Decision.objects.get(pk=pk)
    order = decision.order
    assert (decision.order_id, order["updated_at"], order["created_at"]) == (None, None, PLACED)


@pytest.mark.parametrize(
    ("mode", "kept"),
    [("all", [True, True, True]), ("failed", [False, True, False]), ("off", [False] * 3)],
)
def test_decision_log_keeps_all_checks_those_that_did_not_pass_or_none(settings, mode, kept):
    settings.DECISION_LOG = mode
    entries = [_entry(1, "passed"), _entry(2, "failed"), _entry(3, "passed")]

    ids = _record(entries)

    assert [pk is not None for pk in ids] == kept
    stored = Decision.objects.filter(pk__in=[pk for pk in ids if pk is not None])
    assert sorted(stored.values_list("order_id", flat=True)) == [
        order_id for order_id, keep in zip((1, 2, 3), kept, strict=True) if keep
    ]


def test_a_log_that_keeps_nothing_sends_no_query(settings, django_assert_num_queries):
    settings.DECISION_LOG = "failed"

    with django_assert_num_queries(0):
        ids = _record([_entry(1, "passed")])

    assert ids == [None]


# What COPY's text format escapes, and JSON's own escapes, in every column that holds text.
AWKWARD = 'tab\there, a\nnew line, a\r, a \\ backslash, "quotes", \\N, é € 😀'


@pytest.mark.parametrize("batch", [1, 3], ids=["single", "batch"])
def test_text_is_stored_as_given_whatever_its_characters(batch):
    """A batch is COPY on PostgreSQL and a single check an INSERT: both store text as given."""
    source = DecisionSource(
        caller=AWKWARD,
        request_id=AWKWARD[:128],
        fail_fast=False,
        ruleset=AWKWARD[:100],
        ruleset_version=2,
    )
    results = [result(AWKWARD, "failed", message=AWKWARD, facts={AWKWARD: AWKWARD})]
    entries = [_entry(order_id, results=results, passed=False) for order_id in range(1, batch + 1)]

    ids = _record(entries, source)

    assert ids == sorted(ids)
    for pk, entry in zip(ids, entries, strict=True):
        decision = Decision.objects.get(pk=pk)
        assert (decision.caller, decision.request_id, decision.ruleset) == (
            AWKWARD,
            AWKWARD[:128],
            AWKWARD[:100],
        )
        assert (decision.order_id, decision.results) == (entry.order_id, results)
        assert decision.outcomes == {AWKWARD: "failed"}
        assert list(decision.outcome_rows.values_list("rule", "outcome")) == [(AWKWARD, "failed")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch", [1, 3], ids=["single", "batch"])
def test_a_row_the_database_refuses_stores_none_of_the_request(batch):
    """In autocommit, as a request writes: the one statement fails whole."""
    entries = [_entry(order_id) for order_id in range(1, batch)] + [_entry(0)]

    with pytest.raises(IntegrityError):
        _record(entries)

    assert (Decision.objects.count(), DecisionOutcome.objects.count()) == (0, 0)


@pytest.mark.postgres
def test_a_batch_on_postgresql_is_copied_after_one_query_for_its_ids():
    entries = [_entry(order_id, "failed") for order_id in range(1, 4)]

    with CaptureQueriesContext(connection) as queries:
        ids = _record(entries)

    assert [sql.split(" FROM ")[0] for sql in _statements(queries)] == ["SELECT nextval(sequence)"]
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    assert list(Decision.objects.order_by("id").values_list("id", "order_id")) == [
        (pk, order_id) for pk, order_id in zip(ids, range(1, 4), strict=True)
    ]
    assert DecisionOutcome.objects.filter(decision__in=ids).count() == 3


@pytest.mark.parametrize("batch", [1, 40], ids=["single", "batch"])
def test_decisions_over_the_byte_budget_store_nothing_and_name_their_whole_size(settings, batch):
    """Over by the last entry: on PostgreSQL the batch's COPY has sent 8 kB, and stores none."""
    entries = [_entry(order_id, "failed") for order_id in range(1, batch + 1)]
    settings.DECISION_LOG_MAX_BYTES = 1
    with pytest.raises(DecisionLogTooLargeError) as first:
        _record(entries)
    size = first.value.size
    settings.DECISION_LOG_MAX_BYTES = size - 1

    with pytest.raises(DecisionLogTooLargeError) as refused:
        _record(entries)

    assert (refused.value.size, refused.value.limit) == (size, size - 1)
    # The caller's transaction goes on: on PostgreSQL the COPY's savepoint was rolled back.
    assert (Decision.objects.count(), DecisionOutcome.objects.count()) == (0, 0)
    settings.DECISION_LOG_MAX_BYTES = size
    assert len(_record(entries)) == batch


class _Counted(list):
    """Entries that count how often each is read."""

    def __init__(self, entries: list[DecisionEntry]) -> None:
        super().__init__(entries)
        self.reads = [0] * len(entries)

    def __getitem__(self, index):
        self.reads[index] += 1
        return super().__getitem__(index)

    def __iter__(self):
        return (self[index] for index in range(len(self)))


def test_a_log_that_keeps_all_reads_each_entry_once_as_it_writes_it():
    """rules.recording makes an entry when it is read: each is made once."""
    entries = _Counted([_entry(order_id) for order_id in range(1, 4)])

    _record(entries)

    assert entries.reads == [1, 1, 1]

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from config.tests.scrapes import labels
from orders.models import Customer, Order, OrderLine
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_orders", stdout=out)
    return out.getvalue()


def test_seed_orders_creates_the_three_sample_orders_in_order():
    output = _seed()

    rows = list(Order.objects.order_by("id").values_list("total", "items_count"))
    assert rows == [(Decimal("150.00"), 3), (Decimal("75.50"), 1), (Decimal("200.00"), 5)]
    assert "Seeded 3 orders." in output


def test_seed_orders_run_twice_creates_nothing_the_second_time():
    _seed()

    output = _seed()

    assert Order.objects.count() == 3
    assert "nothing seeded" in output


def test_seed_orders_leaves_a_table_with_orders_alone():
    OrderFactory(total=Decimal("1.00"), items_count=1)

    output = _seed()

    assert list(Order.objects.values_list("total", flat=True)) == [Decimal("1.00")]
    assert "nothing seeded" in output


def test_each_seed_run_is_counted_with_the_orders_it_wrote(scrape):
    before = scrape()

    _seed()
    _seed()
    _seed_random("--count", "5")
    after = scrape()

    assert after.growth(before, "rule_engine_command_runs_total") == {
        labels(command="seed_orders"): 3
    }
    assert after.growth(before, "rule_engine_command_rows_total") == {
        labels(command="seed_orders"): 8
    }


def _seed_random(*args: str, stderr=None) -> str:
    out = StringIO()
    call_command("seed_orders", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


def _rows() -> list[tuple]:
    return list(
        Order.objects.order_by("id").values_list(
            "total", "items_count", "created_at", "updated_at"
        )
    )


def test_count_adds_that_many_realistic_orders_beside_existing_ones():
    OrderFactory()

    output = _seed_random("--count", "1200", "--seed", "1", "--batch-size", "500")

    assert output == "Seeded 1200 realistic orders.\n"
    assert Order.objects.count() == 1201
    assert Customer.objects.count() == 300
    assert OrderLine.objects.filter(order__lines_count__gt=0).count() > 4 * 1200
    rows = _rows()[1:]
    assert all(Decimal("0.00") <= total for total, *_ in rows)
    assert all(created == updated for *_, created, updated in rows)


def test_the_same_seed_and_until_give_the_same_orders():
    args = ("--count", "300", "--seed", "42", "--until", "2025-06-30T12:00:00Z")

    _seed_random(*args)
    first = _rows()
    Order.objects.all().delete()
    _seed_random(*args, "--batch-size", "7")

    assert _rows() == first
    assert first[0][2] > datetime(2024, 6, 30, 12, tzinfo=UTC)


def test_a_seed_without_until_repeats_totals_and_items():
    _seed_random("--count", "50", "--seed", "5")
    first = [row[:2] for row in _rows()]
    Order.objects.all().delete()

    _seed_random("--count", "50", "--seed", "5")

    assert [row[:2] for row in _rows()] == first


def test_count_places_orders_in_the_year_before_now():
    before = timezone.now()

    _seed_random("--count", "100")

    created = [row[2] for row in _rows()]
    assert all(before - timedelta(days=365) <= c <= timezone.now() for c in created)


def test_count_is_quiet_when_output_is_not_a_terminal(capsys):
    err = StringIO()

    output = _seed_random("--count", "20", "--verbosity", "0", stderr=err)

    assert (output, err.getvalue()) == ("", "")
    assert capsys.readouterr() == ("", "")
    assert Order.objects.count() == 20


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_count_draws_a_progress_bar_on_a_terminal(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)

    _seed_random("--count", "30", "--batch-size", "10")

    assert "100%" in terminal.getvalue()
    assert "30/30" in terminal.getvalue()


def test_demo_seeds_the_sample_orders_then_realistic_ones_once():
    first = _seed_random("--demo")
    second = _seed_random("--demo")

    assert first.endswith("Seeded 3 orders.\nSeeded 500 realistic orders.\n")
    assert second == (
        "Orders already exist; nothing seeded.\n"
        "More than the sample orders exist; no realistic orders added.\n"
    )
    assert Order.objects.count() == 503
    assert Order.objects.filter(lines_count=0).count() == 3


def test_demo_counts_one_run_with_the_orders_it_wrote(scrape):
    before = scrape()

    _seed_random("--demo")
    after = scrape()

    assert after.growth(before, "rule_engine_command_runs_total") == {
        labels(command="seed_orders"): 1
    }
    assert after.growth(before, "rule_engine_command_rows_total") == {
        labels(command="seed_orders"): 503
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--count", "0"), "--count must be at least 1."),
        (("--count", "-5"), "--count must be at least 1."),
        (("--count", "5", "--batch-size", "0"), "--batch-size must be at least 1."),
        (("--seed", "3"), "--seed and --until only apply with --count."),
        (("--demo", "--seed", "3"), "--seed and --until only apply with --count."),
        (("--demo", "--count", "5"), "--demo does not take --count."),
        (("--count", "5", "--until", "next week"), "--until must be an ISO date-time"),
        (("--count", "5", "--until", "0001-03-01T00:00:00Z"), "--until is too close to year 1"),
    ],
)
def test_invalid_options_are_refused_and_nothing_is_written(args, message):
    with pytest.raises(CommandError, match=message):
        _seed_random(*args)

    assert Order.objects.count() == 0

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from statistics import mean

import pytest
from django.db import IntegrityError, connection

from orders import sample_data
from orders.facts import SEED_SPAN
from orders.models import Customer, Order, OrderLine
from orders.seeding import (
    CUSTOMER_COLUMNS,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    orders_seed,
    orders_seed_demo,
    orders_seed_random,
    random_orders,
    seeded_customer,
)
from orders.tests.factories import OrderFactory

UNTIL = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
CURRENCY_OF = {country.code: country.currency for country in sample_data.COUNTRIES}


@pytest.fixture(scope="module")
def orders():
    """Return 8000 realistic orders of seed 1."""
    return list(random_orders(count=8000, seed=1, until=UNTIL))


def test_the_catalogue_has_about_200_articles_in_12_categories_alcohol_among_them():
    articles = sample_data.ARTICLES

    assert len(articles) == 216
    assert len({article.sku for article in articles}) == len(articles)
    categories = {article.category for article in articles}
    assert len(categories) == 12
    assert "alcohol" in categories
    assert all(Decimal("0.50") <= article.unit_price < Decimal("1000") for article in articles)
    assert all(article.unit_price.as_tuple().exponent == -2 for article in articles)


def test_random_orders_are_the_same_for_the_same_seed_and_differ_for_another():
    first = list(random_orders(count=200, seed=7, until=UNTIL))

    assert list(random_orders(count=200, seed=7, until=UNTIL)) == first
    assert list(random_orders(count=200, seed=8, until=UNTIL)) != first


def test_an_order_has_1_to_8_lines_of_distinct_articles_about_4_5_on_average(orders):
    sizes = [len(order.lines) for order in orders]

    assert (min(sizes), max(sizes)) == (1, 8)
    assert 4.3 < mean(sizes) < 4.7
    assert all(
        len({line.article.sku for line in order.lines}) == len(order.lines) for order in orders
    )
    skus = Counter(line.article.sku for order in orders for line in order.lines)
    assert len(skus) > 200
    # Popular articles sell much more than the tail.
    [(_, most)] = skus.most_common(1)
    assert most > 10 * min(skus.values())


def test_items_count_subtotal_and_total_follow_from_the_lines(orders):
    for order in orders:
        assert order.items_count == sum(line.quantity for line in order.lines)
        assert order.subtotal == sum(line.quantity * line.unit_price for line in order.lines)
        assert order.total >= 0
        assert order.total.as_tuple().exponent == -2
    # Without coupons or sales tax, and over the free-shipping line, the total is the subtotal.
    plain = [
        order
        for order in orders
        if not order.coupons
        and order.currency == "EUR"
        and order.subtotal >= sample_data.FREE_SHIPPING
    ]
    assert len(plain) > 1000
    assert all(order.total == order.subtotal for order in plain)
    discounted = [order for order in orders if order.coupons]
    assert any(order.total < order.subtotal for order in discounted)


def test_a_few_big_markets_and_a_long_tail_of_countries_norway_among_them(orders):
    countries = Counter(order.shipping_country for order in orders)

    assert 35 <= len(countries) <= 41
    assert "NO" in countries
    [(first, biggest)] = countries.most_common(1)
    assert first == "DE"
    assert 0.15 < biggest / len(orders) < 0.30
    top_five = sum(count for _, count in countries.most_common(5))
    assert top_five / len(orders) > 0.5
    assert sum(count < len(orders) / 100 for count in countries.values()) >= 20


def test_billing_is_usually_where_the_order_ships(orders):
    same = sum(order.billing_country == order.shipping_country for order in orders)

    assert 0.93 < same / len(orders) < 1


def test_a_currency_is_the_shipping_countrys_or_the_default(orders, settings):
    for order in orders:
        assert order.currency == (CURRENCY_OF[order.shipping_country] or settings.DEFAULT_CURRENCY)
    assert {order.currency for order in orders if order.shipping_country == "NO"} == {"NOK"}


def test_about_one_order_in_ten_has_coupons_and_a_few_have_two(orders):
    with_coupons = [order for order in orders if order.coupons]

    assert 0.08 < len(with_coupons) / len(orders) < 0.12
    assert any(len(order.coupons) == 2 for order in with_coupons)
    assert all(len(set(order.coupons)) == len(order.coupons) for order in with_coupons)


def test_payment_methods_and_channels_are_the_usual_ones(orders):
    methods = Counter(order.payment_method for order in orders)
    channels = Counter(order.channel for order in orders)

    assert set(methods) == {slug for slug, _ in sample_data.PAYMENT_METHODS}
    assert methods.most_common(1)[0][0] == "card"
    assert set(channels) == {"web", "app", "store"}


def test_customers_come_back_a_quarter_as_many_as_orders_signed_up_before_ordering(orders):
    customers = {order.customer.number: order.customer for order in orders}

    assert len(customers) == len(orders) // 4
    assert all(order.customer.created_at < order.created_at for order in orders)
    assert all(UNTIL - SEED_SPAN < order.created_at <= UNTIL for order in orders)
    assert max(Counter(order.customer.number for order in orders).values()) > 5
    home = sum(order.shipping_country == order.customer.country for order in orders)
    assert home / len(orders) > 0.88
    segments = Counter(customer.segment for customer in customers.values())
    assert segments.most_common(1)[0][0] == "retail"
    assert {"vip", "wholesale"} <= set(segments)


def test_a_customer_is_the_same_whenever_asked_for():
    first = seeded_customer(seed=3, number=41, until=UNTIL)

    assert seeded_customer(seed=3, number=41, until=UNTIL) == first
    assert seeded_customer(seed=4, number=41, until=UNTIL) != first
    assert first.created_at < UNTIL


def test_the_rows_written_are_every_column_of_the_models():
    def columns(model):
        return {field.column for field in model._meta.concrete_fields}

    assert set(ORDER_COLUMNS) == columns(Order)
    assert set(LINE_COLUMNS) == columns(OrderLine) - {"id"}
    assert set(CUSTOMER_COLUMNS) == columns(Customer)


def _stored() -> list[tuple]:
    """Return the stored orders with their lines and customer, without their ids."""
    orders = Order.objects.select_related("customer").prefetch_related("lines").order_by("id")
    return [
        (
            order.total,
            order.items_count,
            order.created_at,
            order.currency,
            order.shipping_country,
            order.shipping_region,
            order.shipping_postal_code,
            order.billing_country,
            order.payment_method,
            order.channel,
            order.coupons,
            order.attributes,
            order.subtotal,
            order.lines_count,
            order.customer.segment,
            order.customer.country,
            order.customer.created_at,
            [
                (line.position, line.sku, line.name, line.category, line.quantity, line.unit_price)
                for line in order.lines.all()
            ],
        )
        for order in orders
    ]


def _expected(count: int, seed: int) -> list[tuple]:
    """Return what ``_stored`` gives for the orders ``random_orders`` yields."""
    return [
        (
            order.total,
            order.items_count,
            order.created_at,
            order.currency,
            order.shipping_country,
            order.shipping_region,
            order.shipping_postal_code,
            order.billing_country,
            order.payment_method,
            order.channel,
            list(order.coupons),
            order.attributes,
            order.subtotal,
            len(order.lines),
            order.customer.segment,
            order.customer.country,
            order.customer.created_at,
            [
                (
                    position,
                    line.article.sku,
                    line.article.name,
                    line.article.category,
                    line.quantity,
                    line.unit_price,
                )
                for position, line in enumerate(order.lines, 1)
            ],
        )
        for order in random_orders(count=count, seed=seed, until=UNTIL)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("batch_size", "chunk_size"), [(25, 2000), (7, 3)])
def test_orders_seed_random_stores_the_generated_orders_whatever_the_batch(
    batch_size, chunk_size, monkeypatch
):
    monkeypatch.setattr("orders.seeding.SEED_CHUNK_SIZE", chunk_size)
    batches: list[int] = []

    written = orders_seed_random(
        count=60, seed=3, until=UNTIL, batch_size=batch_size, progress=batches.append
    )

    assert written == 60
    assert sum(batches) == 60
    assert len(batches) == -(-60 // batch_size)
    assert _stored() == _expected(60, 3)
    assert Customer.objects.count() == 15


@pytest.mark.django_db
def test_seeded_rows_are_valid_and_pass_the_constraints():
    orders_seed_random(count=300, seed=5, until=UNTIL, batch_size=128)

    for customer in Customer.objects.all():
        customer.full_clean()
        assert customer.external_id == f"seed-{customer.pk}"
    for order in Order.objects.prefetch_related("lines").select_related("customer"):
        order.full_clean()
        lines = list(order.lines.all())
        for line in lines:
            line.full_clean()
        assert [line.position for line in lines] == list(range(1, len(lines) + 1))
        assert order.items_count == sum(line.quantity for line in lines)
        assert order.subtotal == sum(line.quantity * line.unit_price for line in lines)
        assert order.lines_count == len(lines)
        assert order.updated_at == order.created_at
        assert order.customer.created_at < order.created_at


@pytest.mark.django_db
def test_seeding_beside_existing_orders_and_customers_takes_new_ids():
    existing = OrderFactory()
    customer = Customer.objects.create(external_id="C-1042", segment="vip", country="NO")

    orders_seed_random(count=40, seed=2, until=UNTIL, batch_size=16)
    orders_seed_random(count=40, seed=2, until=UNTIL, batch_size=16)

    assert Order.objects.count() == 81
    assert Customer.objects.count() == 21
    assert Order.objects.filter(pk=existing.pk, lines_count=0).exists()
    assert Customer.objects.get(pk=customer.pk).external_id == "C-1042"
    seeded = Order.objects.exclude(pk=existing.pk)
    assert not seeded.filter(customer=None).exists()


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_run_keeps_the_batches_committed_before():
    existing = Customer.objects.create(external_id="C-1")
    # Batch 1 (orders 0 to 7) brings customers 0 and 1, batch 2 customers 2 and 3:
    # the last one's external id is taken.
    existing.external_id = f"seed-{existing.pk + 4}"
    existing.save()

    with pytest.raises(IntegrityError):
        orders_seed_random(count=24, seed=1, until=UNTIL, batch_size=8)

    assert Order.objects.count() == 8
    assert OrderLine.objects.count() == sum(
        len(order.lines) for order in random_orders(count=8, seed=1, until=UNTIL)
    )
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_the_demo_adds_realistic_orders_to_the_three_sample_orders_once():
    orders_seed()

    assert orders_seed_demo(count=30, seed=1) == 30
    assert orders_seed_demo(count=30, seed=1) == 0

    assert Order.objects.count() == 33
    samples = Order.objects.filter(lines_count=0).order_by("id")
    assert list(samples.values_list("total", "items_count")) == [
        (Decimal("150.00"), 3),
        (Decimal("75.50"), 1),
        (Decimal("200.00"), 5),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("before", [[], [(Decimal("1.00"), 1)], [(Decimal("150.00"), 3)] * 3])
def test_the_demo_adds_nothing_unless_the_table_holds_just_the_sample_orders(before):
    for total, items in before:
        OrderFactory(total=total, items_count=items)

    assert orders_seed_demo(count=30, seed=1) == 0

    assert Order.objects.count() == len(before)


@pytest.mark.django_db
def test_a_seed_leaves_the_planner_statistics_of_the_lines():
    table = OrderLine._meta.db_table

    orders_seed_random(count=40, seed=1, until=UNTIL)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        else:
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        [found] = cursor.fetchone()
    assert found > 0

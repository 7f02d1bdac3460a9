import base64
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from orders.filters import DECIMAL_PATTERN, OrderFilter, OrderFiltersField
from orders.models import Customer, Order, OrderLine
from orders.serializers import MONEY_PATTERN
from orders.services import order_update
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

LIST = reverse("orders:order-list")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _detail(pk: int) -> str:
    return reverse("orders:order-detail", args=[pk])


def _order(total: str, items_count: int = 1, created_at: datetime = T0) -> Order:
    """Create an order placed at *created_at* (``auto_now_add`` ignores a given value)."""
    order = OrderFactory(total=Decimal(total), items_count=items_count)
    Order.objects.filter(pk=order.pk).update(created_at=created_at)
    order.refresh_from_db()
    return order


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _body(order: Order) -> dict:
    """Return a seed-style *order* (no lines, customer nor other part) as the API shows it."""
    order.refresh_from_db()
    return {
        "id": order.pk,
        "total": f"{order.total:.2f}",
        "items_count": order.items_count,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "currency": "EUR",
        "subtotal": None,
        "lines_count": 0,
        "customer": None,
        "shipping": None,
        "billing": None,
        "payment_method": None,
        "channel": None,
        "coupons": [],
        "attributes": {},
        "lines": [],
    }


def _error(status_phrase: str, code: str, detail) -> dict:
    return {"error": status_phrase, "code": code, "detail": detail}


def _totals(response) -> list[str]:
    return [order["total"] for order in response.json()["results"]]


# Reading


def test_list_is_open_to_anonymous_clients_and_shows_newest_first(api_client):
    old = _order("1.00", created_at=T0 - timedelta(days=2))
    new = _order("3.00", created_at=T0)
    middle = _order("2.00", created_at=T0 - timedelta(days=1))

    response = api_client.get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [_body(new), _body(middle), _body(old)],
    }


def test_list_pages_follow_the_cursor_without_gaps_or_repeats(api_client):
    orders = [_order(f"{n}.00", created_at=T0 - timedelta(hours=n)) for n in range(7)]

    seen, statuses, url = [], [], f"{LIST}?page_size=3"
    while url:
        response = api_client.get(url)
        statuses.append(response.status_code)
        seen += [order["id"] for order in response.json()["results"]]
        url = response.json()["next"]

    assert statuses == [200, 200, 200]
    assert seen == [order.pk for order in orders]
    first = api_client.get(f"{LIST}?page_size=3")
    second = api_client.get(first.json()["next"])
    back = api_client.get(second.json()["previous"])
    assert first.status_code == second.status_code == back.status_code == 200
    assert back.json() == first.json()
    assert [o["id"] for o in back.json()["results"]] == [order.pk for order in orders[:3]]


def test_list_orders_created_in_the_same_instant_are_paged_by_id(api_client):
    orders = [_order(f"{n}.00") for n in range(5)]

    first = api_client.get(LIST, {"page_size": 2})
    rest = api_client.get(first.json()["next"])
    last = api_client.get(rest.json()["next"])

    pages = [first, rest, last]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert [o["id"] for page in pages for o in page.json()["results"]] == [
        order.pk for order in reversed(orders)
    ]


def test_list_page_size_defaults_to_50_and_is_capped_at_500(api_client):
    Order.objects.bulk_create([Order(total=Decimal("1.00"), items_count=1) for _ in range(501)])

    default = api_client.get(LIST)
    capped = api_client.get(LIST, {"page_size": 10_000})

    assert default.status_code == capped.status_code == 200
    assert len(default.json()["results"]) == 50
    assert len(capped.json()["results"]) == 500


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"total_min": "100.00"}, ["150.00", "100.00"]),
        ({"total_max": "100.00"}, ["100.00", "99.99"]),
        ({"total_min": "99.99", "total_max": "100.00"}, ["100.00", "99.99"]),
        ({"total_min": "100.01", "total_max": "149.99"}, []),
        ({"items_min": "2"}, ["150.00", "100.00"]),
        ({"items_max": "1"}, ["99.99"]),
        ({"items_min": "2", "items_max": "2"}, ["100.00"]),
        ({"total_min": "100", "items_min": "5"}, ["150.00"]),
        ({"unknown": "ignored"}, ["150.00", "100.00", "99.99"]),
    ],
)
def test_list_filters_by_inclusive_total_and_item_ranges(api_client, query, expected):
    _order("99.99", items_count=1, created_at=T0 - timedelta(hours=2))
    _order("100.00", items_count=2, created_at=T0 - timedelta(hours=1))
    _order("150.00", items_count=5, created_at=T0)

    response = api_client.get(LIST, query)

    assert response.status_code == 200
    assert _totals(response) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"created_min": "2025-03-01T12:00:00Z"}, ["3.00"]),
        ({"created_min": "2025-03-01T11:59:59.999999Z"}, ["3.00"]),
        ({"created_max": "2025-02-28T12:00:00+00:00"}, ["2.00", "1.00"]),
        (
            {"created_min": "2025-02-28", "created_max": "2025-03-01T07:00:00-05:00"},
            ["3.00", "2.00"],
        ),
        ({"created_min": "2025-03-02"}, []),
    ],
)
def test_list_filters_by_inclusive_creation_range(api_client, query, expected):
    _order("1.00", created_at=T0 - timedelta(days=2))
    _order("2.00", created_at=T0 - timedelta(days=1))
    _order("3.00", created_at=T0)

    response = api_client.get(LIST, query)

    assert response.status_code == 200
    assert _totals(response) == expected


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"total_min": "abc"}, {"total_min": ["Enter a number."]}),
        ({"total_max": "NaN"}, {"total_max": ["Enter a number."]}),
        ({"total_min": "1e400"}, {"total_min": ["Enter a number."]}),
        ({"total_min": "1" * 51}, {"total_min": ["Enter a number."]}),
        ({"total_min": " 5"}, {"total_min": ["Enter a number."]}),
        ({"total_max": ""}, {"total_max": ["Enter a number."]}),
        ({"items_min": "+2"}, {"items_min": ["Enter a whole number."]}),
        ({"items_max": "2.0"}, {"items_max": ["Enter a whole number."]}),
        ({"created_max": ""}, {"created_max": ["Enter a valid date/time."]}),
        ({"items_min": "1.5"}, {"items_min": ["Enter a whole number."]}),
        ({"items_max": "many"}, {"items_max": ["Enter a whole number."]}),
        (
            {"items_min": "99999999999999999999999"},
            {"items_min": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        (
            {"items_max": str(-(2**64))},
            {"items_max": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"created_min": "yesterday"}, {"created_min": ["Enter a valid date/time."]}),
        ({"created_max": "2025-02-30"}, {"created_max": ["Enter a valid date/time."]}),
        (
            {"created_min": "9999-12-31T23:59:59-14:00"},
            {"created_min": ["Enter a valid date/time."]},
        ),
        (
            {"created_max": "0001-01-01T00:00:00+14:00"},
            {"created_max": ["Enter a valid date/time."]},
        ),
    ],
)
def test_list_answers_an_invalid_filter_value_with_a_400(api_client, query, detail):
    response = api_client.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == _error("Bad Request", "invalid_request", detail)


@pytest.mark.parametrize("page_size", ["null", "", "0", "-1", "1.5", "ten", "\u0661", " 5"])
def test_list_answers_an_invalid_page_size_with_a_400(api_client, page_size):
    _order("1.00")

    response = api_client.get(LIST, {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request", "invalid_request", {"page_size": ["Enter a whole number of at least 1."]}
    )


@pytest.mark.parametrize("name", ["total_min", "items_max", "created_min", "page_size", "cursor"])
def test_list_answers_a_parameter_given_twice_with_a_400(api_client, name):
    values = {"created_min": "2025-03-01T12:00:00Z", "cursor": "forged"}.get(name, "5")

    response = api_client.get(f"{LIST}?{name}={values}&{name}={values}")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "invalid_request",
        {name: ["Give this parameter at most once; it was given 2 times."]},
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"total_max": "9" * 40}, ["1.00"]),
        ({"total_min": "-" + "9" * 50}, ["1.00"]),
        ({"items_max": str(2**31 - 1)}, ["1.00"]),
        ({"items_min": "0"}, ["1.00"]),
        ({"created_min": "0001-01-01T00:00:00Z", "created_max": "9999-12-31T23:59:59Z"}, ["1.00"]),
    ],
)
def test_list_filters_by_values_far_beyond_any_order(api_client, query, expected):
    _order("1.00")

    response = api_client.get(LIST, query)

    assert response.status_code == 200
    assert _totals(response) == expected


def test_list_answers_a_forged_cursor_with_a_404(api_client):
    response = api_client.get(LIST, {"cursor": "forged"})

    assert response.status_code == 404
    assert response.json() == _error("Not Found", "not_found", "Invalid cursor")


@pytest.mark.parametrize(
    "position",
    [
        "abc",
        "\x00",
        "9999-99-99",
        "2025-03-01 12:00:00",
        "0001-01-01 00:00:00+05:00",
        "9999-12-31 23:59:59-05:00",
    ],
)
def test_list_answers_a_cursor_whose_position_is_no_creation_time_with_a_404(api_client, position):
    """A cursor that decodes, but holds no time the database can compare, is forged too."""
    _order("1.00")
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()

    response = api_client.get(LIST, {"cursor": cursor})

    assert response.status_code == 404
    assert response.json() == _error("Not Found", "not_found", "Invalid cursor")


def test_retrieve_shows_the_order(api_client):
    order = _order("75.50", items_count=1)

    response = api_client.get(_detail(order.pk))

    assert response.status_code == 200
    assert response.json() == _body(order)


@pytest.mark.parametrize("pk", [12345, 2**63 - 1, 2**63, 10**30])
def test_retrieve_answers_a_missing_order_with_a_404(api_client, pk):
    response = api_client.get(_detail(pk))

    assert response.status_code == 404
    detail = f"Order with id {pk} does not exist."
    assert response.json() == _error("Not Found", "not_found", detail)


def test_reading_with_an_invalid_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.get(LIST)

    assert response.status_code == 401
    assert response.json() == _error("Unauthorized", "authentication_failed", "Invalid token.")


# Writing


def test_create_without_credentials_is_refused_and_writes_nothing(api_client):
    response = api_client.post(LIST, {"total": "10.00", "items_count": 1}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == _error(
        "Unauthorized", "not_authenticated", "Authentication credentials were not provided."
    )
    assert Order.objects.count() == 0


def test_create_with_a_token_stores_the_order(writer):
    response = writer.post(LIST, {"total": "42.50", "items_count": 2}, format="json")

    assert response.status_code == 201
    order = Order.objects.get()
    assert (order.total, order.items_count) == (Decimal("42.50"), 2)
    assert response.json() == _body(order)
    assert response["Location"] == _detail(order.pk)


def test_create_logs_who_created_which_order(writer, user, caplog):
    with caplog.at_level(logging.INFO, logger="orders.views"):
        writer.post(LIST, {"total": "1.00", "items_count": 1}, format="json")

    [record] = [r for r in caplog.records if r.name == "orders.views"]
    assert record.getMessage() == "order created"
    assert (record.order_id, record.user_id) == (Order.objects.get().pk, user.pk)


def test_create_with_an_unknown_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = api_client.post(LIST, {"total": "1.00", "items_count": 1}, format="json")

    assert response.status_code == 401
    assert response.json() == _error("Unauthorized", "authentication_failed", "Invalid token.")
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", LIST), ("put", "detail"), ("patch", "detail"), ("delete", "detail")],
)
def test_a_user_without_the_order_permission_may_read_but_not_write(reader, method, path):
    order = _order("10.00", items_count=3)
    url = _detail(order.pk) if path == "detail" else path

    response = getattr(reader, method)(url, {"total": "1.00", "items_count": 1}, format="json")

    assert response.status_code == 403
    assert response.json() == _error(
        "Forbidden", "permission_denied", "You do not have permission to perform this action."
    )
    assert reader.get(_detail(order.pk)).json() == _body(order)
    assert Order.objects.count() == 1


def test_each_write_needs_its_own_permission(django_user_model):
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    adder = django_user_model.objects.create_user(username="adder")
    adder.user_permissions.add(Permission.objects.get(codename="add_order"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=adder).key}")

    created = client.post(LIST, {"total": "1.00", "items_count": 1}, format="json")
    deleted = client.delete(_detail(created.json()["id"]))

    assert created.status_code == 201
    assert deleted.status_code == 403
    assert Order.objects.count() == 1


def test_create_in_a_logged_in_session_works(api_client, user):
    api_client.force_login(user)

    response = api_client.post(LIST, {"total": "5.00", "items_count": 1}, format="json")

    assert response.status_code == 201
    assert Order.objects.count() == 1


def test_create_in_a_session_without_the_csrf_token_is_forbidden(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(LIST, {"total": "5.00", "items_count": 1}, format="json")

    assert response.status_code == 403
    assert response.json() == _error(
        "Forbidden", "permission_denied", "CSRF Failed: CSRF cookie not set."
    )
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"total": "-0.01", "items_count": 1},
            {"total": ["Ensure this value is greater than or equal to 0.00."]},
        ),
        (
            {"total": "100000000.00", "items_count": 1},
            {"total": ["Ensure that there are no more than 10 digits in total."]},
        ),
        (
            {"total": "1.001", "items_count": 1},
            {"total": ["Ensure that there are no more than 2 decimal places."]},
        ),
        (
            {"total": "10.00", "items_count": 0},
            {"items_count": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"total": "ten", "items_count": "one"},
            {
                "total": ['Enter the amount as a string such as "75.50".'],
                "items_count": ["A valid integer is required."],
            },
        ),
        ({}, {"total": ["This field is required."], "items_count": ["This field is required."]}),
    ],
)
def test_create_answers_invalid_values_with_a_400_and_writes_nothing(writer, body, detail):
    response = writer.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == _error("Bad Request", "invalid_request", detail)
    assert Order.objects.count() == 0


def test_put_replaces_both_fields(writer):
    order = _order("10.00", items_count=1)

    response = writer.put(_detail(order.pk), {"total": "20.00", "items_count": 4}, format="json")

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.total, order.items_count) == (Decimal("20.00"), 4)
    assert response.json() == _body(order)
    assert order.updated_at > order.created_at


def test_put_needs_every_writable_field(writer):
    order = _order("10.00", items_count=1)

    response = writer.put(_detail(order.pk), {"total": "20.00"}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request", "invalid_request", {"items_count": ["This field is required."]}
    )
    order.refresh_from_db()
    assert order.total == Decimal("10.00")


def test_patch_changes_only_the_fields_given(writer):
    order = _order("10.00", items_count=3)

    response = writer.patch(_detail(order.pk), {"total": "12.34"}, format="json")

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.total, order.items_count) == (Decimal("12.34"), 3)
    assert response.json() == _body(order)


def test_patch_with_an_invalid_value_changes_nothing(writer):
    order = _order("10.00", items_count=3)

    response = writer.patch(_detail(order.pk), {"total": "11.00", "items_count": 0}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "invalid_request",
        {"items_count": ["Ensure this value is greater than or equal to 1."]},
    )
    order.refresh_from_db()
    assert (order.total, order.items_count) == (Decimal("10.00"), 3)


@pytest.mark.parametrize("body", [{}, {"id": 999, "created_at": "2000-01-01T00:00:00Z"}, None])
def test_patch_without_any_field_changes_nothing_and_is_a_400(writer, body):
    order = _order("10.00", items_count=3)
    before = _body(order)

    response = writer.patch(_detail(order.pk), body, format="json" if body is not None else None)

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "invalid_request",
        {"non_field_errors": ["Give at least one of 'total' and 'items_count'."]},
    )
    assert _body(order) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_changing_without_credentials_is_refused(api_client, method):
    order = _order("10.00", items_count=3)

    response = getattr(api_client, method)(
        _detail(order.pk), {"total": "1.00", "items_count": 1}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    order.refresh_from_db()
    assert (order.total, order.items_count) == (Decimal("10.00"), 3)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_changing_a_missing_order_is_a_404(writer, method):
    response = getattr(writer, method)(
        _detail(999), {"total": "1.00", "items_count": 1}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == _error("Not Found", "not_found", "Order with id 999 does not exist.")
    assert Order.objects.count() == 0


def test_delete_removes_the_order(writer):
    order = _order("10.00")

    response = writer.delete(_detail(order.pk))

    assert response.status_code == 204
    assert response.content == b""
    assert not Order.objects.exists()
    assert writer.get(_detail(order.pk)).status_code == 404


def test_a_token_from_drf_create_token_can_write(api_client, user):
    out = StringIO()
    call_command("drf_create_token", user.username, stdout=out)
    key = out.getvalue().split()[2]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.post(LIST, {"total": "1.00", "items_count": 1}, format="json")

    assert response.status_code == 201
    assert response.json() == _body(Order.objects.get())


# Documentation


@pytest.fixture
def schema(client):
    return client.get("/swagger.json").json()


def test_schema_documents_every_filter_and_the_cursor(schema):
    parameters = schema["paths"]["/orders/"]["get"]["parameters"]

    assert [p["name"] for p in parameters] == [*OrderFilter.base_filters, "cursor", "page_size"]
    assert all(p["in"] == "query" for p in parameters)


def test_schema_marks_only_the_writes_as_needing_a_token(schema):
    security = {
        (path, method): operation.get("security")
        for path, methods in schema["paths"].items()
        if path.startswith("/orders/")
        for method, operation in methods.items()
        if method != "parameters"
    }

    token = [{"Token": []}]
    token_or_nothing = [{"Token": []}, {}]
    assert security == {
        ("/orders/", "get"): token_or_nothing,
        ("/orders/", "post"): token,
        ("/orders/{id}/", "get"): token_or_nothing,
        ("/orders/{id}/", "put"): token,
        ("/orders/{id}/", "patch"): token,
        ("/orders/{id}/", "delete"): token,
    }
    assert schema["securityDefinitions"]["Token"]["in"] == "header"


def test_schema_documents_the_page_size_range_and_a_patch_of_at_least_one_field(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/orders/"]["get"]["parameters"]}
    patch = schema["paths"]["/orders/{id}/"]["patch"]

    assert parameters["page_size"]["minimum"] == 1
    assert "more than 500 is 500" in parameters["page_size"]["description"]
    assert schema["definitions"]["OrderChanges"]["minProperties"] == 1
    assert patch["description"].startswith("Give at least one of `total` and `items_count`")


def test_schema_gives_money_and_decimal_filters_the_patterns_the_api_applies(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/orders/"]["get"]["parameters"]}

    for name in ("Order", "OrderDraft", "OrderChanges"):
        total = schema["definitions"][name]["properties"]["total"]
        assert (total["type"], total["pattern"]) == ("string", MONEY_PATTERN)
    for name in ("total_min", "total_max"):
        assert parameters[name]["pattern"] == DECIMAL_PATTERN


def test_the_facts_catalogue_lists_every_fact_of_an_order_and_its_lines(api_client):
    response = api_client.get("/facts/")

    assert response.status_code == 200
    facts = {fact["path"]: fact for fact in response.json()}
    assert list(facts)[:4] == ["total", "items_count", "created_at", "updated_at"]
    assert facts["shipping.country"] == {
        "path": "shipping.country",
        "type": "country",
        "scope": "order",
        "description": "The country the order ships to, an ISO 3166-1 alpha-2 code.",
        "example": "NO",
        "optional": True,
        "sql": True,
        "external": False,
        "provider": None,
    }
    assert facts["lines[].category"]["scope"] == "line"
    assert facts["total"]["optional"] is False
    assert {"customer.age_days", "coupons", "attributes.*", "subtotal"} <= set(facts)


def test_the_facts_catalogue_lists_what_providers_supply_last_marked_external(api_client):
    facts = api_client.get("/facts/").json()

    assert facts[-1] == {
        "path": "risk.score",
        "type": "count",
        "scope": "order",
        "description": "The order's fraud risk from the risk service, 0 (none) to 100 (certain).",
        "example": 42,
        "optional": True,
        "sql": False,
        "external": True,
        "provider": "risk",
    }
    assert not any(fact["external"] for fact in facts[:-1])


# Orders with lines and a customer

LINES = [
    {
        "sku": "WINE-12",
        "name": "Rioja 2019",
        "category": "alcohol",
        "quantity": 2,
        "unit_price": "25.00",
    },
    {"sku": "CHEESE-3", "category": "food", "quantity": 1, "unit_price": "110.00"},
]
FULL = {
    "total": "160.00",
    "currency": "NOK",
    "customer": {"id": "C-7", "segment": "vip", "country": "NO"},
    "shipping": {"country": "NO", "region": "Oslo", "postal_code": "0150"},
    "billing": {"country": "SE"},
    "payment_method": "card",
    "channel": "web",
    "coupons": ["WELCOME10"],
    "lines": LINES,
    "attributes": {"gift_wrap": True, "loyalty_tier": "3"},
}


def _full_body(order: Order) -> dict:
    """Return ``FULL`` stored as *order*, as the API shows it."""
    return {
        **_body(order),
        **{key: value for key, value in FULL.items() if key != "lines"},
        "items_count": 3,
        "subtotal": "160.00",
        "lines_count": 2,
        "shipping": {"country": "NO", "region": "Oslo", "postal_code": "0150"},
        "lines": [
            {**LINES[0], "line_total": "50.00"},
            {**LINES[1], "line_total": "110.00"},
        ],
    }


def _nothing_stored() -> bool:
    return not (Order.objects.exists() or OrderLine.objects.exists() or Customer.objects.exists())


def test_create_stores_the_order_with_its_lines_and_a_new_customer(writer):
    response = writer.post(LIST, FULL, format="json")

    assert response.status_code == 201
    order = Order.objects.get()
    assert response.json() == _full_body(order)
    assert (order.items_count, order.subtotal, order.lines_count) == (3, Decimal("160.00"), 2)
    assert list(order.lines.order_by("position").values_list("position", "sku")) == [
        (1, "WINE-12"),
        (2, "CHEESE-3"),
    ]
    customer = Customer.objects.get()
    assert (customer.external_id, customer.segment, customer.country) == ("C-7", "vip", "NO")
    assert order.customer == customer
    assert writer.get(_detail(order.pk)).json() == response.json()


def test_create_finds_the_customer_by_its_id_and_updates_the_facts_given(writer):
    signed_up = datetime(2024, 1, 1, tzinfo=UTC)
    Customer.objects.create(external_id="C-7", segment="new", country="DK", created_at=signed_up)

    response = writer.post(
        LIST, {**FULL, "customer": {"id": "C-7", "segment": "vip"}}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["customer"] == {"id": "C-7", "segment": "vip", "country": "DK"}
    customer = Customer.objects.get()
    assert (customer.segment, customer.country, customer.created_at) == ("vip", "DK", signed_up)


def test_create_gives_the_customer_its_sign_up_time(writer):
    customer = {"id": "C-8", "created_at": "2024-05-01T10:00:00Z"}

    response = writer.post(LIST, {**FULL, "customer": customer}, format="json")

    assert response.status_code == 201
    assert response.json()["customer"] == {"id": "C-8"}
    assert Customer.objects.get().created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_create_with_lines_and_the_matching_items_count_is_stored(writer):
    response = writer.post(LIST, {**FULL, "items_count": 3}, format="json")

    assert response.status_code == 201
    assert Order.objects.get().items_count == 3


def test_create_with_an_items_count_the_lines_disagree_with_stores_nothing(writer):
    response = writer.post(LIST, {**FULL, "items_count": 5}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "inconsistent_order",
        {
            "message": "items_count is 5, but the lines' quantities add up to 3.",
            "items_count": 5,
            "lines_quantity": 3,
        },
    )
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {**FULL, "lines": [LINES[0], {**LINES[1], "quantity": 0}]},
            {"lines[1].quantity": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {**FULL, "lines": [{**LINES[0], "unit_price": 25}]},
            {"lines[0].unit_price": ['Enter the amount as a string such as "75.50".']},
        ),
        (
            {**FULL, "lines": [{**LINES[0], "category": "Wine & Spirits"}]},
            {"lines[0].category": ["This value does not match the required pattern."]},
        ),
        (
            {**FULL, "lines": [LINES[0], {"sku": "X", "category": "food", "qty": 1}]},
            {
                "lines[1].qty": ["Unknown field: an order has no such fact."],
            },
        ),
        (
            {**FULL, "customer": {"id": "C-7", "tier": "gold"}},
            {"customer.tier": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**FULL, "shipping": {"country": "NO", "street": "Karl Johans gate 1"}},
            {"shipping.street": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**FULL, "giftwrap": True},
            {"giftwrap": ["Unknown field: an order has no such fact."]},
        ),
        (
            {**FULL, "shipping": {"country": "XX"}, "currency": "EURO"},
            {
                "shipping.country": ['"XX" is not a valid choice.'],
                "currency": ['"EURO" is not a valid choice.'],
            },
        ),
        ({**FULL, "customer": {"segment": "vip"}}, {"customer.id": ["This field is required."]}),
        (
            {**FULL, "lines": [{**LINES[0], "category": 0, "sku": 12}], "coupons": [10]},
            {
                "lines[0].category": ["Not a valid string."],
                "lines[0].sku": ["Not a valid string."],
                "coupons[0]": ["Not a valid string."],
            },
        ),
    ],
)
def test_create_with_an_invalid_part_stores_nothing_and_names_its_path(writer, body, detail):
    response = writer.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == _error("Bad Request", "invalid_request", detail)
    assert _nothing_stored()


def test_create_with_lines_whose_subtotal_overflows_stores_nothing(writer):
    line = {"sku": "GOLD", "category": "metal", "quantity": 2, "unit_price": "99999999.00"}

    response = writer.post(LIST, {"total": "1.00", "lines": [line]}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "invalid_request",
        {"subtotal": ["Ensure that there are no more than 10 digits in total."]},
    )
    assert _nothing_stored()


def test_create_with_more_lines_than_allowed_is_refused(writer, settings):
    settings.MAX_ORDER_LINES = 1

    response = writer.post(LIST, FULL, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request", "too_many_lines", "The order has 2 lines; at most 1 are allowed."
    )
    assert _nothing_stored()


def test_put_replaces_the_whole_order_and_its_lines(writer):
    order = Order.objects.get(pk=writer.post(LIST, FULL, format="json").json()["id"])
    line = {"sku": "BREAD", "category": "food", "quantity": 4, "unit_price": "2.50"}

    response = writer.put(_detail(order.pk), {"total": "10.00", "lines": [line]}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        **_body(order),
        "total": "10.00",
        "items_count": 4,
        "subtotal": "10.00",
        "lines_count": 1,
        "lines": [{**line, "line_total": "10.00"}],
    }
    assert list(OrderLine.objects.values_list("order_id", "position", "sku")) == [
        (order.pk, 1, "BREAD")
    ]
    assert Customer.objects.count() == 1


def test_put_without_lines_removes_them(writer):
    order_id = writer.post(LIST, FULL, format="json").json()["id"]

    response = writer.put(_detail(order_id), {"total": "10.00", "items_count": 2}, format="json")

    assert response.status_code == 200
    order = Order.objects.get()
    assert response.json() == {**_body(order), "total": "10.00", "items_count": 2}
    assert (order.subtotal, order.lines_count, OrderLine.objects.count()) == (None, 0, 0)


def test_put_of_an_order_as_the_api_shows_it_changes_nothing_but_its_time(writer):
    shown = writer.post(LIST, FULL, format="json").json()

    response = writer.put(_detail(shown["id"]), shown, format="json")

    assert response.status_code == 200
    assert {**response.json(), "updated_at": None} == {**shown, "updated_at": None}


def test_patch_with_lines_replaces_them_and_derives_the_items_count(writer):
    shown = writer.post(LIST, FULL, format="json").json()
    line = {"sku": "BREAD", "category": "food", "quantity": 4, "unit_price": "2.50"}

    response = writer.patch(_detail(shown["id"]), {"lines": [line, line]}, format="json")

    assert response.status_code == 200
    assert {**response.json(), "updated_at": None} == {
        **shown,
        "updated_at": None,
        "items_count": 8,
        "subtotal": "20.00",
        "lines_count": 2,
        "lines": [{**line, "line_total": "10.00"}] * 2,
    }
    assert list(OrderLine.objects.values_list("position", flat=True)) == [1, 2]


def test_patch_of_an_items_count_the_kept_lines_disagree_with_changes_nothing(writer):
    shown = writer.post(LIST, FULL, format="json").json()

    response = writer.patch(
        _detail(shown["id"]), {"items_count": 4, "total": "1.00"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "inconsistent_order"
    assert writer.get(_detail(shown["id"])).json() == shown


def test_patch_of_the_items_count_the_kept_lines_add_up_to_is_stored(writer):
    shown = writer.post(LIST, FULL, format="json").json()

    response = writer.patch(_detail(shown["id"]), {"items_count": 3}, format="json")

    assert response.status_code == 200
    assert response.json()["lines"] == shown["lines"]


def test_patch_with_null_removes_the_customer_and_an_address(writer):
    shown = writer.post(LIST, FULL, format="json").json()

    response = writer.patch(
        _detail(shown["id"]),
        {"customer": None, "shipping": None, "payment_method": None},
        format="json",
    )

    assert response.status_code == 200
    assert {**response.json(), "updated_at": None} == {
        **shown,
        "updated_at": None,
        "customer": None,
        "shipping": None,
        "payment_method": None,
    }
    assert Customer.objects.count() == 1


def test_patch_with_an_invalid_line_changes_nothing(writer):
    shown = writer.post(LIST, FULL, format="json").json()

    response = writer.patch(
        _detail(shown["id"]), {"lines": [LINES[0], {"sku": "X"}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == _error(
        "Bad Request",
        "invalid_request",
        {
            "lines[1].category": ["This field is required."],
            "lines[1].quantity": ["This field is required."],
            "lines[1].unit_price": ["This field is required."],
        },
    )
    assert writer.get(_detail(shown["id"])).json() == shown


def test_delete_removes_the_order_and_its_lines_but_not_its_customer(writer):
    order_id = writer.post(LIST, FULL, format="json").json()["id"]

    response = writer.delete(_detail(order_id))

    assert response.status_code == 204
    assert (Order.objects.count(), OrderLine.objects.count(), Customer.objects.count()) == (
        0,
        0,
        1,
    )


def test_the_list_reads_lines_and_customers_in_one_query_each(
    writer, api_client, django_assert_num_queries
):
    for _ in range(5):
        writer.post(LIST, FULL, format="json")
    _order("1.00")

    # The page, its customers, its lines; no count, no query per order.
    with django_assert_num_queries(3):
        response = api_client.get(LIST)

    assert response.status_code == 200
    assert [order["lines_count"] for order in response.json()["results"]] == [2, 2, 2, 2, 2, 0]


# Filters on the order's parts and lines


def _stored(**changes) -> int:
    order = Order.objects.create(total=Decimal("1.00"), items_count=1)
    order_update(order=order, **changes)
    return order.pk


@pytest.fixture
def three_orders():
    """Return ids of: a NOK order to NO by C-1 with wine twice; EUR to DE by C-2; a bare one."""
    wine = {"sku": "WINE-12", "category": "alcohol", "quantity": 1, "unit_price": "1.00"}
    bread = {"sku": "BREAD", "category": "food", "quantity": 1, "unit_price": "1.00"}
    return (
        _stored(
            currency="NOK",
            customer={"id": "C-1"},
            shipping={"country": "NO"},
            lines=[wine, bread, wine],
        ),
        _stored(customer={"id": "C-2"}, shipping={"country": "DE"}, lines=[bread]),
        _stored(),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"customer": "C-1"}, [0]),
        ({"customer": "C-3"}, []),
        ({"shipping_country": "DE"}, [1]),
        ({"currency": "EUR"}, [1, 2]),
        ({"sku": "WINE-12"}, [0]),
        ({"category": "food"}, [0, 1]),
        ({"category": "alcohol", "shipping_country": "NO", "currency": "NOK"}, [0]),
        ({"category": "alcohol", "shipping_country": "DE"}, []),
    ],
)
def test_list_filters_by_customer_destination_currency_and_lines(
    api_client, three_orders, query, expected
):
    response = api_client.get(LIST, query)

    assert response.status_code == 200
    assert sorted(order["id"] for order in response.json()["results"]) == [
        three_orders[index] for index in expected
    ]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"shipping_country": "no"}, ["Enter an ISO 3166-1 alpha-2 country code, such as NO."]),
        ({"shipping_country": "XX"}, ["Enter an ISO 3166-1 alpha-2 country code, such as NO."]),
        ({"currency": "EURO"}, ["Enter an ISO 4217 currency code, such as EUR."]),
        ({"category": "Wine & Spirits"}, ["Enter a slug: lower-case letters, digits, - and _."]),
        ({"category": "a" * 51}, ["Ensure this value has at most 50 characters (it has 51)."]),
        ({"customer": ""}, ["Enter a value."]),
        ({"sku": "x" * 65}, ["Ensure this value has at most 64 characters (it has 65)."]),
    ],
)
def test_list_answers_an_invalid_part_filter_with_a_400(api_client, query, detail):
    response = api_client.get(LIST, query)

    assert response.status_code == 400
    assert response.json() == _error("Bad Request", "invalid_request", {next(iter(query)): detail})


def test_schema_closes_every_part_of_an_order_to_other_keys(schema):
    definitions = schema["definitions"]

    for name in ("Order", "OrderChanges", "OrderDraft", "OrderLine", "CartCustomer"):
        assert definitions[name]["additionalProperties"] is False
    assert definitions["OrderChanges"]["minProperties"] == 1


def test_schema_documents_the_part_filters_with_what_they_take(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/orders/"]["get"]["parameters"]}

    assert parameters["category"]["pattern"] == "^[a-z0-9][a-z0-9_-]*$"
    assert parameters["category"]["maxLength"] == 50
    assert "NO" in parameters["shipping_country"]["enum"]
    assert "NOK" in parameters["currency"]["enum"]
    assert (parameters["customer"]["minLength"], parameters["customer"]["maxLength"]) == (1, 100)
    assert parameters["sku"]["description"] == "Orders with a line of this article (its SKU)."


def test_the_part_filters_work_in_json_bodies_too(three_orders):
    filterset = OrderFiltersField().to_internal_value({"category": "alcohol", "currency": "NOK"})

    assert list(filterset.qs.values_list("pk", flat=True)) == [three_orders[0]]
    with pytest.raises(ValidationError) as refused:
        OrderFiltersField().to_internal_value({"shipping_country": 47})
    assert refused.value.detail == {"shipping_country": ["Enter the value as a string."]}

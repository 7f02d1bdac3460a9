"""The built-in order rules: threshold templates, a calendar rule, three presets, real-order rules.

Each template declares its parameters once, as DRF serializer fields, which
validate requests and document them; a threshold rule's check, SQL filter
and explanation come from its ``threshold`` declaration. A template's class
names what it compares (``MinItemsRule``: ``min_items(count)``); a preset's
class names its template and the value it fixes (``MinItems2Rule``:
``min_items_2``, ``preset`` ``count=2``), and takes no parameters from
callers. Amounts are
Decimals with two places (the model and the parameter fields quantize them),
so ``str`` shows them as money.

The rules of real orders read lines, addresses, the customer, payment and
coupons. Those that test one code against a list are membership rules
(``Membership``: ``ship_to_countries``, ``currency_in``); the others say
their check, SQL filter and explanation themselves. Every one has a SQL
form over stored orders (a line condition is an ``EXISTS`` subquery over the
order's lines, never a join that repeats orders) and, when it reads a fact
some orders lack, the SQL of the orders it errs on (``as_error_q``). Lines
are numbered from 1 in messages, as the order lists them.

``risk_score_at_most`` reads a fact a provider supplies (``needs``): the
check asks the risk service before it runs, and it has no SQL form.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import F, Func, IntegerField, Q, QuerySet, Sum
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from rest_framework import serializers

from orders.facts import (
    BILLING_COUNTRY,
    CURRENCY,
    CUSTOMER_AGE_DAYS,
    LINE_CATEGORY,
    PAYMENT_METHOD,
    SHIPPING_COUNTRY,
    Fact,
    LineFacts,
    OrderFacts,
)
from orders.models import OrderLine
from orders.serializers import MAX_COUPONS, code_field
from rules.engine import (
    AT_LEAST,
    AT_MOST,
    CENT,
    GREATER_THAN,
    ITEMS_COUNT,
    MULTIPLE_OF,
    TOTAL,
    BaseRule,
    Membership,
    MembershipRule,
    Reason,
    RuleExample,
    Threshold,
    ThresholdRule,
)
from rules.engine.base import Judgement
from rules.providers import RISK_SCORE

MAX_COUNT = 2**31 - 1
# The most codes (countries, currencies, categories) a rule's list parameter takes.
MAX_CODES = 300
# The longest a "new customer" can be: 100 years, in days.
MAX_DAYS = 36_500


def _money(**kwargs: object) -> serializers.DecimalField:
    """Return a field for an amount with two decimal places."""
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


def _codes(fact: Fact, **kwargs: Any) -> serializers.ListField:
    """Return a field for a list of codes of *fact*'s type (ISO codes, slugs), at least one."""
    return serializers.ListField(
        child=code_field(fact, required=True),
        min_length=1,
        max_length=MAX_CODES,
        **kwargs,
    )


def _order_lines(**lookups: Any) -> QuerySet[OrderLine]:
    """Return the ids of the orders having a line that matches *lookups*, for an ``IN``.

    An ``IN`` over the lines, not a correlated ``EXISTS``: SQLite runs an
    ``EXISTS`` once per order, an ``IN`` reads the matching lines once. A
    filter using it also reads a column of the order (``lines_count``,
    ``shipping_country``), so that over anything else (recorded decisions)
    it is a ``FieldError``, never a wrong answer.
    """
    return OrderLine.objects.filter(**lookups).values("order_id")


def _listed(words: list[str]) -> str:
    """Return words as a sentence lists them: "a", "a and b", "a, b and c"."""
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _numbers(lines: list[int]) -> str:
    """Return line numbers as a message says them: "line 2", "lines 1, 3 and 4"."""
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {_listed(list(map(str, lines)))}"


def _over(observed: Decimal, amount: Decimal) -> dict[str, Any]:
    """Return the facts of a total above *amount*: observed, required and the excess."""
    return {
        "observed": TOTAL.json(observed),
        "required": TOTAL.json(amount),
        "excess": TOTAL.json(observed - amount),
    }


class JSONArrayLength(Func):
    """The length of a JSON array column, an integer, on SQLite and on PostgreSQL (``jsonb``)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        """Return PostgreSQL's function of a ``jsonb`` array's length."""
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


class TotalGreaterThanRule(ThresholdRule):
    """Passes when the total is strictly greater than ``amount``."""

    name = "total_greater_than"
    description = "Order total is greater than `amount`."
    threshold = Threshold(
        TOTAL,
        GREATER_THAN,
        "amount",
        passed="Total {observed} is greater than {required}.",
        failed="Total {observed} is not greater than {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "250.00", "items_count": 1}, False, {"amount": "250.00"}),
        RuleExample({"total": "250.01", "items_count": 1}, True, {"amount": "250.00"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_greater_than``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total must exceed this.")


class TotalAtMostRule(ThresholdRule):
    """Passes when the total is at most ``amount``."""

    name = "total_at_most"
    description = "Order total is at most `amount`."
    threshold = Threshold(
        TOTAL,
        AT_MOST,
        "amount",
        passed="Total {observed} is at most {required}.",
        failed="Total {observed} is more than {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "500.00", "items_count": 1}, True, {"amount": "500.00"}),
        RuleExample({"total": "500.01", "items_count": 1}, False, {"amount": "500.00"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_at_most``."""

        amount = _money(min_value=Decimal("0.00"), help_text="The total may not exceed this.")


class MinItemsRule(ThresholdRule):
    """Passes when the order has at least ``count`` items."""

    name = "min_items"
    description = "Order has at least `count` items."
    threshold = Threshold(
        ITEMS_COUNT,
        AT_LEAST,
        "count",
        passed="Order has {observed}; at least {required} required.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 9}, False, {"count": 10}),
        RuleExample({"total": "10.00", "items_count": 10}, True, {"count": 10}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``min_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)


class MaxItemsRule(ThresholdRule):
    """Passes when the order has at most ``count`` items."""

    name = "max_items"
    description = "Order has at most `count` items."
    threshold = Threshold(
        ITEMS_COUNT, AT_MOST, "count", passed="Order has {observed}; at most {required} allowed."
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 20}, True, {"count": 20}),
        RuleExample({"total": "10.00", "items_count": 21}, False, {"count": 20}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``max_items``."""

        count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)


class TotalDivisibleByRule(ThresholdRule):
    """Passes when the total is an exact multiple of ``divisor``, in Decimal."""

    name = "total_divisible_by"
    description = "Order total is an exact multiple of `divisor`."
    threshold = Threshold(
        TOTAL,
        MULTIPLE_OF,
        "divisor",
        passed="Total {observed} is a multiple of {required}.",
        failed="Total {observed} is not a multiple of {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "7.50", "items_count": 1}, True, {"divisor": "2.50"}),
        RuleExample({"total": "7.51", "items_count": 1}, False, {"divisor": "2.50"}),
    )

    class Params(serializers.Serializer):
        """Parameters of ``total_divisible_by``."""

        divisor = _money(min_value=CENT, help_text="The total must be a multiple of this.")


class WeekendOrderRule(BaseRule):
    """Passes for orders placed on a Saturday or Sunday in the configured time zone."""

    name = "is_weekend_order"
    description = "Order was placed on a Saturday or Sunday (in the service's time zone)."
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "1.00", "items_count": 1, "created_at": "2026-11-21T12:00:00Z"}, True
        ),
        RuleExample(
            {"total": "1.00", "items_count": 1, "created_at": "2026-11-23T12:00:00Z"}, False
        ),
    )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order's local creation day is Saturday or Sunday."""
        return timezone.localtime(order.created_at).weekday() >= 5

    def as_q(self) -> Q:
        """Filter orders placed on ISO weekday 6 or 7 in the current time zone."""
        return Q(created_at__iso_week_day__gte=6)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the local day the order was placed on."""
        placed = timezone.localtime(order.created_at)
        day = f"{placed:%A %Y-%m-%d} ({placed.tzname()})"
        facts = {"observed": f"{placed:%A}", "required": "Saturday or Sunday"}
        verb = "was" if passed else "was not"
        return (f"Order placed on {day} {verb} placed on a weekend.", facts)


class MinTotal100Rule(TotalGreaterThanRule):
    """Passes when the order total is strictly greater than 100.00."""

    name = "min_total_100"
    description = "Order total is greater than 100.00."
    preset: ClassVar[dict[str, str]] = {"amount": "100.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "100.00", "items_count": 1}, False),
        RuleExample({"total": "100.01", "items_count": 1}, True),
    )


class MinItems2Rule(MinItemsRule):
    """Passes when the order has at least two items."""

    name = "min_items_2"
    description = "Order has at least 2 items."
    preset: ClassVar[dict[str, int]] = {"count": 2}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "10.00", "items_count": 1}, False),
        RuleExample({"total": "10.00", "items_count": 2}, True),
    )


class DivisibleBy5Rule(TotalDivisibleByRule):
    """Passes when the total is an exact multiple of 5, computed in Decimal."""

    name = "divisible_by_5"
    description = "Order total is an exact multiple of 5 (75.50 is not)."
    preset: ClassVar[dict[str, str]] = {"divisor": "5.00"}
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample({"total": "0.00", "items_count": 1}, True),
        RuleExample({"total": "75.50", "items_count": 1}, False),
        RuleExample({"total": "150.00", "items_count": 1}, True),
    )


class MaxQuantityPerSkuRule(BaseRule):
    """Passes when no article has more than ``limit`` units, over all its lines."""

    name = "max_quantity_per_sku"
    description = "No article (sku) has more than `limit` units in the order, over all its lines."
    fact_names = frozenset({"observed", "required", "excess", "sku", "lines"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {
                "total": "30.00",
                "lines": [
                    {"sku": "TEA-1", "category": "food", "quantity": 2, "unit_price": "5.00"},
                    {"sku": "CUP-2", "category": "home", "quantity": 3, "unit_price": "5.00"},
                    {"sku": "TEA-1", "category": "food", "quantity": 1, "unit_price": "5.00"},
                ],
            },
            True,
            {"limit": 3},
        ),
        RuleExample(
            {
                "total": "20.00",
                "lines": [
                    {"sku": "TEA-1", "category": "food", "quantity": 3, "unit_price": "5.00"},
                    {"sku": "TEA-1", "category": "food", "quantity": 1, "unit_price": "5.00"},
                ],
            },
            False,
            {"limit": 3},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``max_quantity_per_sku``."""

        limit = serializers.IntegerField(
            min_value=1,
            max_value=MAX_COUNT,
            help_text="The most units of one article, summed over its lines.",
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether every article's units, summed over its lines, are within the limit."""
        return max(_units(order.lines).values(), default=0) <= self.params["limit"]

    def as_q(self) -> Q:
        """Filter orders with no article whose lines' quantities add up to more than the limit.

        An order without lines passes before its lines are looked for.
        """
        over = (
            OrderLine.objects.values("order_id", "sku")
            .annotate(units=Sum("quantity"))
            .filter(units__gt=self.params["limit"])
            .values("order_id")
        )
        return Q(lines_count=0) | ~Q(pk__in=over)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Name the article with the most units, its lines, and what the limit allows."""
        limit = self.params["limit"]
        units = _units(order.lines)
        if not units:
            return "The order has no lines.", {"observed": 0, "required": limit}
        # The article with the most units; of equals, the first in the order.
        sku = max(units, key=units.__getitem__)
        lines = [number for number, line in enumerate(order.lines, 1) if line.sku == sku]
        observed = units[sku]
        facts = {"observed": observed, "required": limit, "sku": sku, "lines": lines}
        amount = f"{observed} {'unit' if observed == 1 else 'units'}"
        if passed:
            return f"No article has more than {limit}; the most is {sku}, {amount}.", facts
        others = sum(1 for total in units.values() if total > limit) - 1
        more = f" So do {others} more." if others > 1 else " So does 1 more." if others else ""
        message = f"Article {sku} has {amount} ({_numbers(lines)}); at most {limit} allowed."
        return message + more, {**facts, "excess": observed - limit}


def _units(lines: tuple[LineFacts, ...]) -> dict[str, int]:
    """Return each article's units, summed over its lines, in the order of first appearance."""
    units: dict[str, int] = defaultdict(int)
    for line in lines:
        units[line.sku] += line.quantity
    return units


# A line of the examples: two bottles of wine.
_WINE_LINE = {"sku": "WINE-12", "category": "alcohol", "quantity": 2, "unit_price": "25.00"}


class BlockedCategoriesRule(BaseRule):
    """Passes unless a line of a blocked category ships to one of the countries.

    An order with no line of those categories passes wherever it ships, even
    with no shipping address; an order that has one and no shipping country
    errs, naming ``shipping.country``.
    """

    name = "blocked_categories"
    description = "No line of one of `categories` ships to one of `countries`."
    fact_names = frozenset({"lines", "country"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {
                "total": "50.00",
                "shipping": {"country": "SE"},
                "lines": [_WINE_LINE],
            },
            True,
            {"categories": ["alcohol"], "countries": ["NO"]},
        ),
        RuleExample(
            {
                "total": "60.00",
                "shipping": {"country": "NO"},
                "lines": [
                    {"sku": "TEA-1", "category": "food", "quantity": 2, "unit_price": "5.00"},
                    _WINE_LINE,
                ],
            },
            False,
            {"categories": ["alcohol"], "countries": ["NO"]},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``blocked_categories``."""

        categories = _codes(LINE_CATEGORY, help_text="The categories blocked (slugs).")
        countries = _codes(
            SHIPPING_COUNTRY, help_text="Where they are blocked (ISO 3166-1 alpha-2 codes)."
        )

    def __init__(self, /, **params: Any) -> None:
        """Validate *params*, then keep the categories and countries as sets."""
        super().__init__(**params)
        self._categories = frozenset(self.params["categories"])
        self._countries = frozenset(self.params["countries"])

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether no blocked line ships to a blocked country.

        Raises ``MissingFactError`` for an order with a blocked line and no
        shipping country.
        """
        if not self._blocked(order):
            return True
        return SHIPPING_COUNTRY.require(order) not in self._countries

    def as_q(self) -> Q:
        """Filter orders that ship elsewhere, or have no line of a blocked category."""
        return ~(Q(shipping_country__in=sorted(self._countries)) & self._blocked_q())

    def as_error_q(self) -> Q:
        """Filter orders with a line of a blocked category and no shipping country."""
        return Q(shipping_country="") & self._blocked_q()

    def _blocked_q(self) -> Q:
        """Filter orders with a line of a blocked category (an ``IN``: see ``_order_lines``)."""
        return Q(pk__in=_order_lines(category__in=sorted(self._categories)))

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Name each line that broke the rule: its number, article and category."""
        blocked = self._blocked(order)
        if not blocked:
            message = f"No line is of a blocked category ({', '.join(sorted(self._categories))})."
            return message, {"lines": [], "country": SHIPPING_COUNTRY.read(order)}
        country = SHIPPING_COUNTRY.require(order)
        if passed:
            categories = sorted({line.category for _, line in blocked})
            verb = "is" if len(categories) == 1 else "are"
            message = (
                f"The order ships to {country}, where {_listed(categories)} {verb} not blocked."
            )
            return message, {"lines": [], "country": country}
        message = " ".join(
            f"Line {number} ({line.sku}, {line.category}) ships to {country},"
            f" where {line.category} is blocked."
            for number, line in blocked
        )
        return message, {"lines": [number for number, _ in blocked], "country": country}

    def _blocked(self, order: OrderFacts) -> list[tuple[int, LineFacts]]:
        """Return the lines of a blocked category, numbered from 1."""
        categories = self._categories
        return [
            (number, line)
            for number, line in enumerate(order.lines, 1)
            if line.category in categories
        ]


class ShipToCountriesRule(MembershipRule):
    """Passes when the order ships to one of ``countries``; errs without a shipping country."""

    name = "ship_to_countries"
    description = "The order ships to one of `countries`."
    membership = Membership(
        SHIPPING_COUNTRY,
        "countries",
        passed="The order ships to {observed}, one of {required}.",
        failed="The order ships to {observed}, which is not one of {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "10.00", "items_count": 1, "shipping": {"country": "DE"}},
            True,
            {"countries": ["DE", "AT"]},
        ),
        RuleExample(
            {"total": "10.00", "items_count": 1, "shipping": {"country": "NO"}},
            False,
            {"countries": ["DE", "AT"]},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``ship_to_countries``."""

        countries = _codes(
            SHIPPING_COUNTRY, help_text="The countries shipped to (ISO 3166-1 alpha-2 codes)."
        )


class CurrencyInRule(MembershipRule):
    """Passes when the order's currency is one of ``currencies``."""

    name = "currency_in"
    description = "The order's currency is one of `currencies`."
    membership = Membership(
        CURRENCY,
        "currencies",
        passed="The order's currency {observed} is one of {required}.",
        failed="The order's currency {observed} is not one of {required}.",
    )
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "10.00", "items_count": 1, "currency": "SEK"},
            True,
            {"currencies": ["EUR", "SEK"]},
        ),
        RuleExample(
            {"total": "10.00", "items_count": 1, "currency": "NOK"},
            False,
            {"currencies": ["EUR", "SEK"]},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``currency_in``."""

        currencies = _codes(CURRENCY, help_text="The currencies accepted (ISO 4217 codes).")


class BillingMatchesShippingRule(BaseRule):
    """Passes when a total above ``above`` is billed in the country it ships to.

    At or below ``above`` the addresses are not read; above it, an order
    without a billing or a shipping country errs, naming the fact.
    """

    name = "billing_matches_shipping"
    description = "Above `above` (total), the billing and shipping countries are the same."
    fact_names = frozenset({"observed", "required", "billing", "shipping"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {
                "total": "1000.00",
                "items_count": 1,
                "billing": {"country": "SE"},
                "shipping": {"country": "NO"},
            },
            True,
            {"above": "1000.00"},
        ),
        RuleExample(
            {
                "total": "1000.01",
                "items_count": 1,
                "billing": {"country": "SE"},
                "shipping": {"country": "NO"},
            },
            False,
            {"above": "1000.00"},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``billing_matches_shipping``."""

        above = _money(
            min_value=Decimal("0.00"),
            help_text="Totals above this must be billed in the country they ship to.",
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the total is at most ``above`` or the two countries are the same.

        Raises ``MissingFactError`` above ``above`` when a country is missing.
        """
        if order.total <= self.params["above"]:
            return True
        return BILLING_COUNTRY.require(order) == SHIPPING_COUNTRY.require(order)

    def as_q(self) -> Q:
        """Filter orders at most ``above``, or billed in the country they ship to."""
        return AT_MOST.q(TOTAL, self.params["above"]) | Q(billing_country=F("shipping_country"))

    def as_error_q(self) -> Q:
        """Filter orders above ``above`` without a billing or a shipping country."""
        return ~AT_MOST.q(TOTAL, self.params["above"]) & (
            Q(billing_country="") | Q(shipping_country="")
        )

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the total and, above ``above``, the two countries."""
        above = self.shown_params["above"]
        facts: dict[str, Any] = {"observed": TOTAL.json(order.total), "required": above}
        if order.total <= self.params["above"]:
            return f"Total {order.total} is not above {above}: countries not compared.", facts
        billing, shipping = BILLING_COUNTRY.require(order), SHIPPING_COUNTRY.require(order)
        facts.update(billing=billing, shipping=shipping)
        if passed:
            return f"Total {order.total} is above {above}; billed and shipped in {billing}.", facts
        message = (
            f"Total {order.total} is above {above}, but it is billed in {billing}"
            f" and ships to {shipping}."
        )
        return message, facts


class NewCustomerLimitRule(BaseRule):
    """Passes when a customer who signed up less than ``days`` days ago orders at most ``amount``.

    An order without a customer errs, naming ``customer.age_days``, as does
    a cart's customer whose sign-up is unknown: the rule cannot tell a new
    customer from an old one there, and passing would let any order past the
    limit by leaving the customer out. A shop that lets guests order freely
    says so in a condition with a default (``{"var": ["customer.age_days",
    9999]}``). In SQL a customer's age is counted in whole days up to the
    query's time: it is under ``days`` exactly when the customer signed up
    after that time less ``days`` days.
    """

    name = "new_customer_limit"
    description = (
        "A customer who signed up less than `days` days ago orders at most `amount` (total)."
    )
    fact_names = frozenset({"observed", "required", "excess", "age_days"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {
                "total": "650.00",
                "items_count": 1,
                "created_at": "2026-12-07T12:00:00Z",
                "customer": {"id": "C-1", "created_at": "2026-11-07T12:00:00Z"},
            },
            True,
            {"days": 30, "amount": "500.00"},
        ),
        RuleExample(
            {
                "total": "650.00",
                "items_count": 1,
                "created_at": "2026-12-07T12:00:00Z",
                "customer": {"id": "C-1", "created_at": "2026-11-07T12:00:01Z"},
            },
            False,
            {"days": 30, "amount": "500.00"},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``new_customer_limit``."""

        days = serializers.IntegerField(
            min_value=1,
            max_value=MAX_DAYS,
            help_text="A customer is new for this many whole days after signing up.",
        )
        amount = _money(
            min_value=Decimal("0.00"), help_text="The largest total a new customer may order."
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the customer is not new, or the total is within the amount.

        Raises ``MissingFactError`` when the order has no customer, or its
        sign-up is unknown.
        """
        age = CUSTOMER_AGE_DAYS.require(order)
        return age >= self.params["days"] or order.total <= self.params["amount"]

    def as_q(self) -> Q:
        """Filter orders of customers signed up ``days`` days ago or more, or within the amount."""
        signed_up_by = timezone.now() - timedelta(days=self.params["days"])
        return Q(customer__isnull=False) & (
            Q(customer__created_at__lte=signed_up_by) | AT_MOST.q(TOTAL, self.params["amount"])
        )

    def as_error_q(self) -> Q:
        """Filter orders without a customer (a stored customer always has its sign-up)."""
        return Q(customer__isnull=True)

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the customer's age in days and, for a new customer, the total against the amount."""
        age = CUSTOMER_AGE_DAYS.require(order)
        days, amount = self.params["days"], self.params["amount"]
        since = f"Customer signed up {CUSTOMER_AGE_DAYS.phrase(age)} ago"
        if age >= days:
            return f"{since}, not less than {days}: no limit applies.", {"age_days": age}
        if passed:
            facts = {"age_days": age, "observed": TOTAL.json(order.total)}
            facts["required"] = self.shown_params["amount"]
            return f"{since} (less than {days}); total {order.total} is at most {amount}.", facts
        message = f"{since} (less than {days}); total {order.total} is more than {amount}."
        return message, {"age_days": age, **_over(order.total, amount)}


class MaxCouponsRule(BaseRule):
    """Passes when the order carries at most ``count`` coupons."""

    name = "max_coupons"
    description = "The order has at most `count` coupons."
    fact_names = frozenset({"observed", "required", "excess", "coupons"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "10.00", "items_count": 1, "coupons": ["WELCOME10"]}, True, {"count": 1}
        ),
        RuleExample(
            {"total": "10.00", "items_count": 1, "coupons": ["WELCOME10", "XMAS"]},
            False,
            {"count": 1},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``max_coupons``."""

        count = serializers.IntegerField(
            min_value=0, max_value=MAX_COUPONS, help_text="The most coupons one order may carry."
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order has at most ``count`` coupons."""
        return len(order.coupons) <= self.params["count"]

    def as_q(self) -> Q:
        """Filter orders whose list of coupons is at most ``count`` long."""
        return Q(LessThanOrEqual(JSONArrayLength("coupons"), self.params["count"]))

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say how many coupons the order has, which, and how many are allowed."""
        count, observed = self.params["count"], len(order.coupons)
        coupons = list(order.coupons)
        facts: dict[str, Any] = {"observed": observed, "required": count, "coupons": coupons}
        has = f"Order has {observed} {'coupon' if observed == 1 else 'coupons'}"
        if coupons:
            has += f" ({', '.join(coupons)})"
        if passed:
            return f"{has}; at most {count} allowed.", facts
        return f"{has}; at most {count} allowed.", {**facts, "excess": observed - count}


class PaymentMethodLimitRule(BaseRule):
    """Passes when an order paid with ``method`` has a total of at most ``amount``.

    An order paid otherwise, or with no payment method, is not paid with
    ``method``: it passes, and no fact is missing.
    """

    name = "payment_method_limit"
    description = "An order paid with `method` has a total of at most `amount`."
    fact_names = frozenset({"observed", "required", "excess", "payment_method"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "350.00", "items_count": 1, "payment_method": "card"},
            True,
            {"method": "cash_on_delivery", "amount": "300.00"},
        ),
        RuleExample(
            {"total": "300.01", "items_count": 1, "payment_method": "cash_on_delivery"},
            False,
            {"method": "cash_on_delivery", "amount": "300.00"},
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``payment_method_limit``."""

        method = code_field(
            PAYMENT_METHOD, required=True, help_text="The payment method limited (a slug)."
        )
        amount = _money(
            min_value=Decimal("0.00"), help_text="The largest total paid with that method."
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order is paid otherwise, or its total is within the amount."""
        paid_otherwise = order.payment_method != self.params["method"]
        return paid_otherwise or order.total <= self.params["amount"]

    def as_q(self) -> Q:
        """Filter orders paid otherwise (or not at all), or within the amount."""
        return ~Q(payment_method=self.params["method"]) | AT_MOST.q(TOTAL, self.params["amount"])

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say how the order is paid and, paid with ``method``, its total against the amount."""
        method, amount = self.params["method"], self.params["amount"]
        paid = order.payment_method
        if paid != method:
            how = f"paid with {paid}" if paid else "without a payment method"
            return f"Order is {how}, not {method}: no limit applies.", {"payment_method": paid}
        facts: dict[str, Any] = {"payment_method": paid}
        if passed:
            facts.update(observed=TOTAL.json(order.total), required=self.shown_params["amount"])
            return f"Order paid with {method}: total {order.total} is at most {amount}.", facts
        message = f"Order paid with {method}: total {order.total} is more than {amount}."
        return message, {**facts, **_over(order.total, amount)}


class RiskScoreAtMostRule(BaseRule):
    """Passes when the risk service scores the order at most ``score``.

    It needs ``risk.score`` from the risk provider (``rules.providers``):
    without ``RISK_SERVICE_URL`` it is listed as not configured and a check
    naming it is refused; when the service gives no score (no answer in
    time, an error, an open breaker) it errs with ``provider_unavailable``.
    It has no SQL form: no stored order holds a score.
    """

    name = "risk_score_at_most"
    description = "The risk service scores the order at most `score` (0 to 100)."
    needs = frozenset({RISK_SCORE.path})
    fact_names = frozenset({"observed", "required", "excess"})
    examples: ClassVar[tuple[RuleExample, ...]] = (
        RuleExample(
            {"total": "250.00", "items_count": 1}, True, {"score": 70}, {"risk.score": 70}
        ),
        RuleExample(
            {"total": "250.00", "items_count": 1}, False, {"score": 70}, {"risk.score": 71}
        ),
    )

    class Params(serializers.Serializer):
        """Parameters of ``risk_score_at_most``."""

        score = serializers.IntegerField(
            min_value=0, max_value=100, help_text="The highest risk score that passes."
        )

    def evaluate(self, order: OrderFacts) -> bool:
        """Return whether the order's risk score is at most ``score``."""
        return bool(RISK_SCORE.require(order) <= self.params["score"])

    def explain(self, order: OrderFacts, passed: bool) -> Reason:
        """Say the score the service gave and the highest allowed."""
        return self._reason(RISK_SCORE.require(order), passed)

    def judge(self, order: OrderFacts) -> Judgement:
        """Evaluate and explain in one call, reading the score once."""
        observed = RISK_SCORE.require(order)
        passed = bool(observed <= self.params["score"])
        return (passed, *self._reason(observed, passed))

    def _reason(self, observed: int, passed: bool) -> Reason:
        """Say the score *observed* and the highest allowed."""
        required = self.params["score"]
        facts: dict[str, Any] = {"observed": observed, "required": required}
        if passed:
            return f"Risk score {observed} is at most {required}.", facts
        return f"Risk score {observed} is above {required}.", {
            **facts,
            "excess": observed - required,
        }

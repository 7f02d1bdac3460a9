"""The stored form of an order's facts (``orders.facts``): orders, their lines, customers."""

from django.db import models
from django.utils import timezone

from orders.facts import (
    BILLING_COUNTRY,
    CHANNEL,
    CURRENCY,
    CUSTOMER_COUNTRY,
    CUSTOMER_ID,
    CUSTOMER_SEGMENT,
    ITEMS_COUNT,
    LINE_CATEGORY,
    LINE_NAME,
    LINE_QUANTITY,
    LINE_SKU,
    LINE_UNIT_PRICE,
    LINES_COUNT,
    PAYMENT_METHOD,
    SHIPPING_COUNTRY,
    SHIPPING_POSTAL_CODE,
    SHIPPING_REGION,
    SUBTOTAL,
    TOTAL,
    default_currency,
)


class Customer(models.Model):
    """A customer of the shop, known by its own id there; orders name it."""

    external_id = CUSTOMER_ID.model_field(
        unique=True, blank=False, help_text=CUSTOMER_ID.description
    )
    segment = CUSTOMER_SEGMENT.model_field(help_text=CUSTOMER_SEGMENT.description)
    country = CUSTOMER_COUNTRY.model_field(help_text=CUSTOMER_COUNTRY.description)
    created_at = models.DateTimeField(
        default=timezone.now, help_text="When the customer signed up."
    )

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        """Return the customer's id in the shop."""
        return self.external_id


class Order(models.Model):
    """An order whose facts rules are checked against; its limits are its facts'.

    ``subtotal`` and ``lines_count`` are derived from the lines and kept
    with the order by the service that writes both, so SQL reads them as
    columns and a check of an order without lines reads one row.
    """

    total = TOTAL.model_field(help_text=TOTAL.description)
    items_count = ITEMS_COUNT.model_field(help_text=ITEMS_COUNT.description)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The database's own default is for rows written by SQL that names only the
    # seed's columns (a bulk load, a tool): the code's default currency, EUR.
    currency = CURRENCY.model_field(
        default=default_currency, db_default="EUR", help_text=CURRENCY.description
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    shipping_country = SHIPPING_COUNTRY.model_field(help_text=SHIPPING_COUNTRY.description)
    shipping_region = SHIPPING_REGION.model_field(help_text=SHIPPING_REGION.description)
    shipping_postal_code = SHIPPING_POSTAL_CODE.model_field(
        help_text=SHIPPING_POSTAL_CODE.description
    )
    billing_country = BILLING_COUNTRY.model_field(help_text=BILLING_COUNTRY.description)
    payment_method = PAYMENT_METHOD.model_field(help_text=PAYMENT_METHOD.description)
    channel = CHANNEL.model_field(help_text=CHANNEL.description)
    coupons = models.JSONField(
        default=list, db_default=[], blank=True, help_text="Coupon codes, a list."
    )
    attributes = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text="The shop's own facts: slug keys, flat values.",
    )
    subtotal = SUBTOTAL.model_field(editable=False, help_text=SUBTOTAL.description)
    lines_count = LINES_COUNT.model_field(
        default=0, db_default=0, editable=False, help_text=LINES_COUNT.description
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="order_created_at_desc_idx"),
            models.Index(fields=["total"], name="order_total_idx"),
            models.Index(fields=["shipping_country"], name="order_shipping_country_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=TOTAL.minimum),
                name="order_total_non_negative",
                violation_error_message="Total must be at least 0.00.",
            ),
            models.CheckConstraint(
                condition=models.Q(items_count__gte=ITEMS_COUNT.minimum),
                name="order_items_count_positive",
                violation_error_message="An order has at least one item.",
            ),
            models.CheckConstraint(
                condition=models.Q(lines_count=0, subtotal__isnull=True)
                | models.Q(lines_count__gte=1, subtotal__gte=SUBTOTAL.minimum),
                name="order_subtotal_with_lines",
                violation_error_message="An order with lines has a subtotal; without, none.",
            ),
        ]

    def __str__(self) -> str:
        """Return a short label for the admin and logs."""
        return f"Order {self.pk}: {self.total} / {ITEMS_COUNT.phrase(self.items_count)}"


class OrderLine(models.Model):
    """One line of an order: an article, its category, how many and at what unit price."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(help_text="The line's place in its order, from 1.")
    sku = LINE_SKU.model_field(help_text=LINE_SKU.description)
    name = LINE_NAME.model_field(help_text=LINE_NAME.description)
    category = LINE_CATEGORY.model_field(help_text=LINE_CATEGORY.description)
    quantity = LINE_QUANTITY.model_field(help_text=LINE_QUANTITY.description)
    unit_price = LINE_UNIT_PRICE.model_field(help_text=LINE_UNIT_PRICE.description)

    class Meta:
        ordering = ["order", "position"]
        indexes = [
            # The order last: a line condition's orders (an IN over the matching lines)
            # are read from this index alone, without a visit to each line's row.
            models.Index(
                fields=["category", "quantity", "order"], name="orderline_cat_qty_order_idx"
            ),
            models.Index(fields=["sku"], name="orderline_sku_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "position"], name="orderline_position_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=LINE_QUANTITY.minimum),
                name="orderline_quantity_positive",
                violation_error_message="A line has at least one unit.",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=LINE_UNIT_PRICE.minimum),
                name="orderline_unit_price_non_negative",
                violation_error_message="A unit price is at least 0.00.",
            ),
        ]

    def __str__(self) -> str:
        """Return a short label for the admin."""
        return f"{self.quantity} x {self.sku} at {self.unit_price}"

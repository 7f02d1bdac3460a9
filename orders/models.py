"""The Order model."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

MIN_TOTAL = Decimal("0.00")
MIN_ITEMS = 1


class Order(models.Model):
    """An order whose total and item count rules are checked against."""

    total = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(MIN_TOTAL)],
        help_text="Order total in the shop's currency, at least 0.00.",
    )
    items_count = models.PositiveIntegerField(
        validators=[MinValueValidator(MIN_ITEMS)],
        help_text="Number of items in the order, at least 1.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="order_created_at_desc_idx"),
            models.Index(fields=["total"], name="order_total_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=MIN_TOTAL),
                name="order_total_non_negative",
                violation_error_message="Total must be at least 0.00.",
            ),
            models.CheckConstraint(
                condition=models.Q(items_count__gte=MIN_ITEMS),
                name="order_items_count_positive",
                violation_error_message="An order has at least one item.",
            ),
        ]

    def __str__(self) -> str:
        """Return a short label for the admin and logs."""
        items = "item" if self.items_count == 1 else "items"
        return f"Order {self.pk}: {self.total} / {self.items_count} {items}"

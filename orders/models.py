"""The Order model: the stored form of an order's facts (``orders.facts``)."""

from django.db import models

from orders.facts import ITEMS_COUNT, TOTAL


class Order(models.Model):
    """An order whose facts rules are checked against; its limits are its facts'."""

    total = TOTAL.model_field(help_text=TOTAL.description)
    items_count = ITEMS_COUNT.model_field(help_text=ITEMS_COUNT.description)
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
                condition=models.Q(total__gte=TOTAL.minimum),
                name="order_total_non_negative",
                violation_error_message="Total must be at least 0.00.",
            ),
            models.CheckConstraint(
                condition=models.Q(items_count__gte=ITEMS_COUNT.minimum),
                name="order_items_count_positive",
                violation_error_message="An order has at least one item.",
            ),
        ]

    def __str__(self) -> str:
        """Return a short label for the admin and logs."""
        return f"Order {self.pk}: {self.total} / {ITEMS_COUNT.phrase(self.items_count)}"

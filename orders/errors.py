"""Errors of orders a client can act on, each with its code in the API's one error shape."""

from typing import Any

from api.errors import ServiceError


class InconsistentOrderError(ServiceError):
    """An order's ``items_count`` is not the sum of its lines' quantities."""

    code = "inconsistent_order"

    def __init__(self, items_count: int, quantities: int) -> None:
        """Name both numbers."""
        super().__init__(
            f"items_count is {items_count}, but the lines' quantities add up to {quantities}."
        )
        self.items_count = items_count
        self.quantities = quantities

    @property
    def detail(self) -> Any:
        """Return the message and both numbers."""
        return {
            "message": str(self),
            "items_count": self.items_count,
            "lines_quantity": self.quantities,
        }


class TooManyLinesError(ServiceError):
    """An order has more lines than ``MAX_ORDER_LINES``."""

    code = "too_many_lines"

    def __init__(self, count: int, limit: int) -> None:
        """Name the count and the limit."""
        super().__init__(f"The order has {count} lines; at most {limit} are allowed.")

"""Application config for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """The orders app: the Order model, its admin and its seed command."""

    name = "orders"
    verbose_name = "Orders"

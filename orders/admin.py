"""Admin for orders: every fact of an order, listed and edited (``orders.facts``)."""

from django.contrib import admin

from orders.facts import SEED_FACTS, FactType
from orders.models import Order

FACTS = tuple(fact.path for fact in SEED_FACTS)
# The order's times are set by the service, never typed in.
TIMES = tuple(fact.path for fact in SEED_FACTS if fact.type is FactType.DATETIME)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """List, filter, search and edit orders."""

    list_display = ("id", *FACTS)
    list_filter = TIMES
    search_fields = ("=id",)
    search_help_text = "Search by order id."
    readonly_fields = TIMES
    fields = FACTS
    date_hierarchy = "created_at"

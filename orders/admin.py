"""Admin for orders."""

from django.contrib import admin

from orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """List, filter, search and edit orders."""

    list_display = ("id", "total", "items_count", "created_at", "updated_at")
    list_filter = ("created_at", "updated_at")
    search_fields = ("=id",)
    search_help_text = "Search by order id."
    readonly_fields = ("created_at", "updated_at")
    fields = ("total", "items_count", "created_at", "updated_at")
    date_hierarchy = "created_at"

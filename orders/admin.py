"""Admin for orders and customers: every fact of an order, its lines inline (``orders.facts``)."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Max
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from rest_framework import serializers

from orders.facts import (
    COUNTRIES,
    CURRENCIES,
    CUSTOMER_SEGMENT,
    SEED_FACTS,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    SUBTOTAL,
    FactType,
    default_currency,
)
from orders.models import Customer, Order, OrderLine
from orders.serializers import OrderPartsSerializer, error_paths
from orders.services import order_lines_sync

FACTS = tuple(fact.path for fact in SEED_FACTS)
# The order's times are set by the service, never typed in.
TIMES = tuple(fact.path for fact in SEED_FACTS if fact.type is FactType.DATETIME)
# What the lines decide: kept by the service, shown, never typed in.
FROM_LINES = ("subtotal", "lines_count")
# What real orders add, typed in: the model's other columns, in their order.
PARTS = tuple(
    field.name
    for field in Order._meta.concrete_fields
    if not field.primary_key and field.name not in (*FACTS, *FROM_LINES)
)


# Parts typed in as JSON or text, checked by the API's own fields (``OrderPartsSerializer``).
API_CHECKED = ("payment_method", "channel", "coupons", "attributes")
# What a JSON part left empty is.
EMPTY_JSON = {"coupons": list, "attributes": dict}
NO_COUNTRY = [("", "---------")]


def _codes(codes: frozenset[str]) -> list[tuple[str, str]]:
    """Return *codes* as the choices of a select."""
    return [(code, code) for code in sorted(codes)]


class OrderAdminForm(forms.ModelForm):
    """An order's form: codes chosen from ISO lists, other parts checked as the API checks them."""

    currency = forms.ChoiceField(choices=_codes(CURRENCIES), initial=default_currency)
    shipping_country = forms.ChoiceField(choices=NO_COUNTRY + _codes(COUNTRIES), required=False)
    billing_country = forms.ChoiceField(choices=NO_COUNTRY + _codes(COUNTRIES), required=False)

    class Meta:
        model = Order
        fields = ("total", "items_count", *PARTS)

    def clean(self) -> dict[str, Any]:
        """Check the typed-in parts with the API's fields; an empty JSON part is none."""
        cleaned = super().clean() or {}
        for name, empty in EMPTY_JSON.items():
            if cleaned.get(name) is None:
                cleaned[name] = empty()
        fields = OrderPartsSerializer().fields
        for name in API_CHECKED:
            if cleaned.get(name) in (None, ""):
                continue
            value = cleaned[name]
            try:
                # A JSON string comes as a subclass of str; the API's fields name the type.
                cleaned[name] = fields[name].run_validation(
                    str(value) if isinstance(value, str) else value
                )
            except serializers.ValidationError as exc:
                problems = error_paths(exc.detail, name)
                self.add_error(
                    name,
                    [
                        f"{path}: {message}" if path != name else str(message)
                        for path, messages in problems.items()
                        for message in messages
                    ],
                )
        return cleaned


class OrderLinesFormSet(BaseInlineFormSet):
    """An order's lines in the admin: refused together when their subtotal is out of range."""

    def clean(self) -> None:
        """Refuse lines whose totals add up to more than a subtotal holds."""
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        subtotal = sum((line["quantity"] * line["unit_price"] for line in kept), Decimal("0.00"))
        if subtotal > SUBTOTAL.maximum:
            raise forms.ValidationError(
                f"The lines add up to {subtotal}; an order's subtotal is at most"
                f" {SUBTOTAL.maximum}."
            )


class OrderLineInline(admin.TabularInline):
    """The lines of an order, in their order; new lines come last."""

    model = OrderLine
    formset = OrderLinesFormSet
    fields = ("sku", "name", "category", "quantity", "unit_price")
    ordering = ("position",)
    extra = 1

    def get_max_num(self, request: HttpRequest, obj: Order | None = None, **kwargs: Any) -> int:
        """Return ``MAX_ORDER_LINES``: an order has no more lines than the API takes."""
        return int(settings.MAX_ORDER_LINES)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """List, filter, search and edit orders, their lines inline.

    Saving derives the order's subtotal, line count and, with lines, its item
    count from the lines, through the service that keeps them.
    """

    form = OrderAdminForm
    list_display = ("id", *FACTS, "currency", "customer", "shipping_country", "lines_count")
    list_filter = TIMES
    list_select_related = ("customer",)
    search_fields = ("=id", "=customer__external_id")
    search_help_text = "Search by order id, or by a customer's id in the shop."
    readonly_fields = (*TIMES, *FROM_LINES)
    fields = (*FACTS, *FROM_LINES, *PARTS)
    autocomplete_fields = ("customer",)
    date_hierarchy = "created_at"
    inlines = (OrderLineInline,)

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        """Store the lines: removed ones deleted, new ones placed after the last."""
        lines = formset.save(commit=False)
        for line in formset.deleted_objects:
            line.delete()
        last = form.instance.lines.aggregate(last=Max("position"))["last"] or 0
        for line in lines:
            if line.position is None:
                last += 1
                line.position = last
            line.save()

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        """Save the lines, then derive the order's figures from them."""
        super().save_related(request, form, formsets, change)
        order_lines_sync(order=form.instance)


class CustomerAdminForm(forms.ModelForm):
    """A customer's form: its country chosen from the ISO list, its segment a slug."""

    country = forms.ChoiceField(choices=NO_COUNTRY + _codes(COUNTRIES), required=False)
    segment = forms.RegexField(
        SLUG_PATTERN,
        max_length=SLUG_MAX_LENGTH,
        required=False,
        help_text=CUSTOMER_SEGMENT.description,
    )

    class Meta:
        model = Customer
        fields = ("external_id", "segment", "country", "created_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """List and search customers: by their id in the shop, segment or country."""

    form = CustomerAdminForm
    list_display = ("external_id", "segment", "country", "created_at")
    search_fields = ("external_id", "=segment", "=country")
    search_help_text = "Search by the customer's id in the shop, a segment or a country code."
    date_hierarchy = "created_at"

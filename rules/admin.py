"""Admin for rule sets (a set with its items inline) and condition rules.

Every change is in each object's history (django-simple-history); a rule
set's history page shows its items' changes too.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges

from rules.diffs import describe_item, item_field_changes
from rules.models import ConditionRule, RuleSet, RuleSetItem

ITEM_CHANGES_PER_PAGE = 100


@dataclass(frozen=True)
class ItemHistoryRow:
    """One recorded change to an item of a rule set, in words."""

    record: HistoricalChanges
    key: str
    details: tuple[str, ...]


class RuleSetItemFormSet(BaseInlineFormSet):
    """Items of one set, whose keys (``as``, else the rule name) must differ."""

    def clean(self) -> None:
        """Reject two items with the same key."""
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            key = form.cleaned_data.get("alias") or form.cleaned_data.get("rule")
            if key in seen:
                raise ValidationError(f"Two items have the key {key!r}; give one an 'as'.")
            seen.add(key)


class RuleSetItemInline(admin.TabularInline):
    """The ordered rules of a set."""

    model = RuleSetItem
    formset = RuleSetItemFormSet
    fields = ("position", "rule", "params", "alias", "severity")
    extra = 1


@admin.register(RuleSet)
class RuleSetAdmin(SimpleHistoryAdmin):
    """List and edit rule sets; every save publishes the set as its next version."""

    list_display = ("name", "active", "version", "rule_count", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "description")
    readonly_fields = ("version", "updated_at")
    fields = ("name", "description", "active", "version", "updated_at")
    inlines = (RuleSetItemInline,)
    object_history_template = "admin/rules/ruleset/object_history.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[RuleSet]:
        """Count each set's rules in the list query."""
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description="rules", ordering="item_count")
    def rule_count(self, obj: Any) -> int:
        """Return how many rules the set has."""
        return obj.item_count

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the items, then publish the set's content as one new version."""
        super().save_related(request, form, formsets, change)
        form.instance.publish(by=request.user.get_username())

    def render_history_view(
        self, request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any
    ) -> HttpResponse:
        """Add the changes to the set's items, a page of them, to its history page."""
        records = RuleSetItem.history.filter(ruleset_id=context["object"].pk).select_related(
            "history_user"
        )
        page = Paginator(records, ITEM_CHANGES_PER_PAGE).get_page(request.GET.get("items_page"))
        context["item_changes"] = page
        context["item_change_rows"] = [self.item_history_row(record) for record in page]
        return super().render_history_view(request, template, context, **kwargs)

    def item_history_row(self, record: Any) -> ItemHistoryRow:
        """Return one recorded change to an item: what it held, or what changed."""
        held = record.instance.content(None)
        previous = record.prev_record if record.history_type == "~" else None
        if previous is None:
            details = describe_item(held)
        else:
            details = item_field_changes(previous.instance.content(None), held)
        return ItemHistoryRow(record, str(record.instance), details)


@admin.register(ConditionRule)
class ConditionRuleAdmin(SimpleHistoryAdmin):
    """List and edit stored condition rules; a bad condition is a form error."""

    list_display = ("name", "severity", "description", "updated_at")
    list_filter = ("severity",)
    search_fields = ("name", "description")
    readonly_fields = ("updated_at",)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Refuse to delete a rule that a rule set's current version uses, naming the sets."""
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        in_use = [
            rule.in_use_message(using) for rule in objs if (using := rule.current_versions_using())
        ]
        return deleted, counts, permissions_needed, [*protected, *in_use]

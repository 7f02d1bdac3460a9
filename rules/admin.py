"""Admin for rule sets: a set with its items inline."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from rules.models import ConditionRule, RuleSet, RuleSetItem


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
class RuleSetAdmin(admin.ModelAdmin):
    """List and edit rule sets; every save publishes the set as its next version."""

    list_display = ("name", "active", "version", "rule_count", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "description")
    readonly_fields = ("version", "updated_at")
    fields = ("name", "description", "active", "version", "updated_at")
    inlines = (RuleSetItemInline,)

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


@admin.register(ConditionRule)
class ConditionRuleAdmin(admin.ModelAdmin):
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

"""Admin for rule sets (a set with its items inline, its versions) and condition rules.

Every change is in each object's history (django-simple-history); a rule
set's history page shows its items' changes too.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges

from decisions.selectors import decision_failures_by_day
from rules.charts import line_chart
from rules.diffs import ItemChange, describe_item, item_field_changes
from rules.engine import InvalidRuleParamsError, UnknownRuleError
from rules.models import ConditionRule, RuleSet, RuleSetItem, RuleSetVersion
from rules.resolver import resolver
from rules.services import condition_rule_save, ruleset_publish, ruleset_restore

VERSIONS_PER_PAGE = 20
# "Rules at a glance": the days it covers, and the most failing rules it draws.
GLANCE_DAYS = 14
GLANCE_CHART_RULES = 7
ITEM_CHANGES_PER_PAGE = 100


@dataclass(frozen=True)
class VersionRow:
    """A version on the rule set page, with how it differs from the one before."""

    version: RuleSetVersion
    changes: list[ItemChange]
    current: bool


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


class RuleSetForm(forms.ModelForm):
    """A rule set's own fields, and the state of the set that the page was opened on.

    Without it, the later of two operators editing one set would save the
    page they opened before the other's save, and silently put back all
    that the other changed. The page carries, hidden, the set's
    ``updated_at`` when it was opened; ``clean`` locks the set's row and
    refuses the save when that has moved on. The admin validates and saves
    in one transaction, so no save comes between the check and this one.
    """

    seen_updated_at = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = RuleSet
        fields = ("name", "description", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Fill the hidden field in with the state of the set being edited."""
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["seen_updated_at"].initial = self.instance.updated_at.isoformat()

    def clean(self) -> dict[str, Any]:
        """Refuse the save of a page opened on an earlier state of the set."""
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        current = (
            RuleSet.objects.select_for_update()
            .filter(pk=self.instance.pk)
            .values("updated_at", "version")
            .get()
        )
        if cleaned.get("seen_updated_at") != current["updated_at"].isoformat():
            saved_at = timezone.localtime(current["updated_at"]).strftime("%Y-%m-%d %H:%M:%S %Z")
            raise ValidationError(
                "Someone else changed this rule set since you opened this page (it is now "
                f"version {current['version']}, changed at {saved_at}). Nothing was saved: "
                "open the page again to see their change, then make yours.",
                code="stale",
            )
        return cleaned


class RuleSetItemInline(admin.TabularInline):
    """The ordered rules of a set."""

    model = RuleSetItem
    formset = RuleSetItemFormSet
    fields = ("position", "rule", "params", "alias", "severity")
    extra = 1


@admin.register(RuleSet)
class RuleSetAdmin(SimpleHistoryAdmin):
    """List and edit rule sets; every save publishes the set as its next version.

    A save from a page opened before someone else's save is refused
    (``RuleSetForm``). The change page lists the versions, each with its changes from the one
    before and a button that restores it as the next version.
    """

    form = RuleSetForm
    list_display = ("name", "active", "version", "rule_count", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "description")
    readonly_fields = ("version", "updated_at")
    fields = ("name", "description", "active", "version", "updated_at", "seen_updated_at")
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
        ruleset_publish(ruleset=form.instance, by=request.user.get_username())

    def get_urls(self) -> list[URLPattern]:
        """Add the URLs that restore a version and show the rules at a glance.

        They come before the catch-all of the set's own pages.
        """
        restore = self.admin_site.admin_view(require_POST(self.restore_view))
        return [
            path("glance/", self.admin_site.admin_view(self.glance_view), name="rules_glance"),
            path(
                "<path:object_id>/versions/<int:number>/restore/",
                restore,
                name="rules_ruleset_restore",
            ),
            *super().get_urls(),
        ]

    def glance_view(self, request: HttpRequest) -> TemplateResponse:
        """Show the rules at a glance: failures and errors per rule and day, recently.

        A chart of the rules that failed or errored most over the last
        ``GLANCE_DAYS`` days, and a table of every rule that did.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        days = [today - timedelta(days=back) for back in range(GLANCE_DAYS - 1, -1, -1)]
        rules = [info.name for info in resolver.describe()]
        failing = [row for row in decision_failures_by_day(rules=rules, days=days) if row.total]
        lines = [
            (row.rule, [f + e for f, e in zip(row.failed, row.errored, strict=True)])
            for row in failing[:GLANCE_CHART_RULES]
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Rules at a glance",
            "days": days,
            "failing": failing,
            "chart": line_chart(days, lines) if lines else None,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rules/glance.html", context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: RuleSet | None = None,
    ) -> TemplateResponse:
        """Add the set's versions, a page of them, to its change page."""
        if obj is not None:
            page = Paginator(obj.versions.all(), VERSIONS_PER_PAGE).get_page(
                request.GET.get("versions_page")
            )
            context["versions"] = page
            context["version_rows"] = self.version_rows(obj, page)
            context["can_restore"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def version_rows(self, ruleset: RuleSet, page: Page) -> list[VersionRow]:
        """Return the versions of *page*, each with its changes from the one before."""
        versions = list(page.object_list)
        if not versions:
            return []
        before = ruleset.versions.filter(number__lt=versions[-1].number).first()
        return [
            VersionRow(version, version.changes_since(previous), version.number == ruleset.version)
            for version, previous in zip(versions, [*versions[1:], before], strict=True)
        ]

    def restore_view(self, request: HttpRequest, object_id: str, number: int) -> HttpResponse:
        """Restore version *number* of the set as its next version; back to the set's page.

        Staff with the permission to change the set only; a version that
        names a rule that no longer exists is refused with a message.
        """
        ruleset = self.get_object(request, unquote(object_id))
        if ruleset is None:
            raise Http404("No such rule set.")
        if not self.has_change_permission(request, ruleset):
            raise PermissionDenied
        version = get_object_or_404(ruleset.versions, number=number)
        current = ruleset.version
        try:
            restored = ruleset_restore(
                ruleset=ruleset, version=version, by=request.user.get_username()
            )
        except UnknownRuleError as exc:
            self.message_user(
                request,
                f"Version {number} was not restored: it uses rule(s) that no longer exist: "
                f"{', '.join(exc.unknown)}.",
                messages.ERROR,
            )
        except InvalidRuleParamsError as exc:
            self.message_user(
                request, f"Version {number} was not restored: {exc}.", messages.ERROR
            )
        else:
            self.message_user(request, *self.restore_message(version, restored, current))
            if restored.number != current:
                self.log_change(
                    request, ruleset, f"Restored version {number} as version {restored.number}."
                )
        return HttpResponseRedirect(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))

    def restore_message(
        self, version: RuleSetVersion, restored: RuleSetVersion, current: int
    ) -> tuple[str, int]:
        """Say what restoring *version* did, and how loudly."""
        if restored.number == current:
            return (
                f"Version {current}, the current one, already holds the items of version "
                f"{version.number}; nothing changed.",
                messages.INFO,
            )
        message = f"Version {version.number} restored as version {restored.number}."
        changed = version.conditions_changed_in(restored)
        if not changed:
            return message, messages.SUCCESS
        return (
            f"{message} The stored condition rule(s) {', '.join(changed)} changed since "
            f"version {version.number}: version {restored.number} holds them as they are now.",
            messages.WARNING,
        )

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

    def save_model(
        self, request: HttpRequest, obj: ConditionRule, form: Any, change: bool
    ) -> None:
        """Save the rule, publishing the rule sets whose current version uses it."""
        condition_rule_save(rule=obj, by=request.user.get_username())

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Refuse to delete a rule that a rule set's current version uses, naming the sets."""
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        in_use = [
            rule.in_use_message(using) for rule in objs if (using := rule.current_versions_using())
        ]
        return deleted, counts, permissions_needed, [*protected, *in_use]

"""Admin for the decision log: read-only, a list with filters and a page per decision."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from decisions.models import Decision


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    """Decisions as they were recorded: listed, filtered and shown, never changed."""

    list_display = (
        "id",
        "decided_at",
        "order_id",
        "ruleset",
        "ruleset_version",
        "caller",
        "passed",
    )
    list_filter = ("passed", "ruleset", "ruleset_version", "caller", "decided_at")
    search_fields = ("=id", "=order_id", "=request_id")
    search_help_text = "Search by decision id, order id or request id."
    # Counting a million decisions on every page is not worth it.
    show_full_result_count = False
    fields = (
        "decided_at",
        "caller",
        "request_id",
        "order_id",
        "order_facts",
        "ruleset",
        "ruleset_version",
        "rules",
        "fail_fast",
        "passed",
        "result_table",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: decisions are made by checks only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Refuse: a decision is never changed."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Refuse: decisions leave by ``purge_decisions`` only."""
        return False

    @admin.display(description="order")
    def order_facts(self, obj: Decision) -> str:
        """Return the order's facts as the rules read them: ``total=75.50, items_count=1, ...``."""
        return _pairs(obj.snapshot)

    @admin.display(description="results")
    def result_table(self, obj: Decision) -> SafeString:
        """Return the per-rule results as a table: key, rule, params, outcome, why."""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    result["rule"],
                    result["name"],
                    _pairs(result["params"]),
                    result["outcome"],
                    result["severity"],
                    result["message"],
                    _pairs(result["facts"]),
                )
                for result in obj.results
            ),
        )
        return format_html(
            '<table class="decision-results"><thead><tr><th>rule</th><th>name</th>'
            "<th>params</th><th>outcome</th><th>severity</th><th>message</th><th>facts</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _pairs(values: dict[str, Any]) -> str:
    """Return ``name=value`` pairs, comma-separated, for a table cell."""
    return ", ".join(f"{name}={value}" for name, value in values.items())

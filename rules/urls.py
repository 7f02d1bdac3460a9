"""URLs of the rules API: rules, checks and rule sets."""

from django.urls import path

from rules.views import (
    RuleBatchCheckView,
    RuleCheckView,
    RuleListView,
    RuleSetDetailView,
    RuleSetListView,
)

app_name = "rules"

urlpatterns = [
    path("rules/", RuleListView.as_view(), name="rule-list"),
    path("rules/check/", RuleCheckView.as_view(), name="rule-check"),
    path("rules/check/batch/", RuleBatchCheckView.as_view(), name="rule-check-batch"),
    path("rulesets/", RuleSetListView.as_view(), name="ruleset-list"),
    path("rulesets/<slug:name>/", RuleSetDetailView.as_view(), name="ruleset-detail"),
]

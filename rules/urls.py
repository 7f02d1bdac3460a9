"""URLs of the rules API: rules, checks, analysis, condition rules and rule sets; replays.

Replaying a decision is routed with the decision log's own URLs, under
``decisions/`` (``config/urls.py``): the decision log knows nothing of rules.
"""

from django.urls import path

from rules.views import (
    ConditionRuleDetailView,
    ConditionRuleListView,
    DecisionReplayView,
    RuleBatchCheckView,
    RuleCheckView,
    RuleListView,
    RuleQueryView,
    RuleReportView,
    RuleSetBacktestView,
    RuleSetDetailView,
    RuleSetListView,
    RuleSetPreviewView,
    RuleSetVersionDetailView,
    RuleSetVersionListView,
)

app_name = "rules"

urlpatterns = [
    path("rules/", RuleListView.as_view(), name="rule-list"),
    path("rules/check/", RuleCheckView.as_view(), name="rule-check"),
    path("rules/check/batch/", RuleBatchCheckView.as_view(), name="rule-check-batch"),
    path("rules/query/", RuleQueryView.as_view(), name="rule-query"),
    path("rules/report/", RuleReportView.as_view(), name="rule-report"),
    path("condition-rules/", ConditionRuleListView.as_view(), name="condition-rule-list"),
    path(
        "condition-rules/<slug:name>/",
        ConditionRuleDetailView.as_view(),
        name="condition-rule-detail",
    ),
    path("rulesets/", RuleSetListView.as_view(), name="ruleset-list"),
    path("rulesets/<slug:name>/", RuleSetDetailView.as_view(), name="ruleset-detail"),
    path("rulesets/<slug:name>/preview/", RuleSetPreviewView.as_view(), name="ruleset-preview"),
    path("rulesets/<slug:name>/backtest/", RuleSetBacktestView.as_view(), name="ruleset-backtest"),
    path(
        "rulesets/<slug:name>/versions/",
        RuleSetVersionListView.as_view(),
        name="ruleset-version-list",
    ),
    path(
        "rulesets/<slug:name>/versions/<int:number>/",
        RuleSetVersionDetailView.as_view(),
        name="ruleset-version-detail",
    ),
]

# Under the decision log's `decisions/`, beside its own URLs.
decision_urlpatterns = [
    path("<int:pk>/replay/", DecisionReplayView.as_view(), name="decision-replay"),
]

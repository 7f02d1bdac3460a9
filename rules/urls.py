"""URLs of the rules API."""

from django.urls import path

from rules.views import RuleCheckView, RuleListView

app_name = "rules"

urlpatterns = [
    path("", RuleListView.as_view(), name="rule-list"),
    path("check/", RuleCheckView.as_view(), name="rule-check"),
]

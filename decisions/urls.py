"""URLs of the decision log's API; ``config/urls.py`` adds replaying a decision beside them."""

from django.urls import path

from decisions.views import DecisionDetailView, DecisionListView

app_name = "decisions"

urlpatterns = [
    path("", DecisionListView.as_view(), name="decision-list"),
    path("<int:pk>/", DecisionDetailView.as_view(), name="decision-detail"),
]

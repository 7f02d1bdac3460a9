"""Application config for decisions."""

from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    """The decision log: every check on the record, its API, admin and purge command."""

    name = "decisions"
    verbose_name = "Decisions"

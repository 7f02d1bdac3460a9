"""Application config for decisions."""

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate

from decisions.partitions import partitions_create


class DecisionsConfig(AppConfig):
    """The decision log: every check on the record, its API, admin and purge command."""

    name = "decisions"
    verbose_name = "Decisions"

    def ready(self) -> None:
        """Make the days' partitions after every ``migrate``, not only the first."""
        post_migrate.connect(_partitions_ahead, sender=self)


def _partitions_ahead(sender: AppConfig, using: str, **kwargs: Any) -> None:
    """Make today's decision partitions and the next ones (PostgreSQL; nothing on SQLite)."""
    partitions_create(connections[using], ahead=settings.DECISION_PARTITIONS_AHEAD)

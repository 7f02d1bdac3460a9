"""``manage.py decision_partitions``: make the decision log's daily partitions ahead."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from api.metrics import count_command_run
from decisions.models import Decision
from decisions.partitions import PartitionError, is_partitioned, partitions_create


class Command(BaseCommand):
    """Make today's partitions and the next days', as many as missing; run daily from cron."""

    help = (
        "On PostgreSQL, make the decision log's partitions of today (UTC) and of the --ahead "
        "days after it (default DECISION_PARTITIONS_AHEAD) that do not exist yet. Idempotent."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare how many days ahead to make."""
        parser.add_argument(
            "--ahead",
            type=int,
            help="Days after today to make partitions for (default DECISION_PARTITIONS_AHEAD).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Make the missing partitions, a line each, and a summary."""
        ahead = options["ahead"]
        if ahead is None:
            ahead = settings.DECISION_PARTITIONS_AHEAD
        if ahead < 1:
            raise CommandError("--ahead must be at least 1.")
        connection = connections[Decision.objects.db]
        if not is_partitioned(connection):
            self.stdout.write("The decision log is not partitioned here (only on PostgreSQL).")
            return
        try:
            result = partitions_create(connection, ahead=ahead)
        except PartitionError as error:
            raise CommandError(str(error)) from error
        for name in result.made:
            self.stdout.write(f"Made partition {name}.")
        count_command_run("decision_partitions", rows=len(result.made))
        if result.stranded:
            days = ", ".join(str(day) for day in result.stranded)
            raise CommandError(
                f"Made {len(result.made)} partitions, but the DEFAULT partition holds decisions "
                f"of {days}: those days have no partition of their own."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Made {len(result.made)} partitions; today and {ahead} days ahead exist."
            )
        )

"""``manage.py purge_decisions``: remove the decisions older than the retention period."""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.metrics import count_command_run
from decisions.partitions import PartitionError
from decisions.services import PURGE_BATCH_SIZE, decisions_purge


class Command(BaseCommand):
    """Drop old daily partitions, delete the other old decisions in short transactions."""

    help = (
        "Remove the decisions made more than DECISION_LOG_RETENTION_DAYS days ago (or --days): "
        "on PostgreSQL, drop each daily partition wholly older; delete the rest --batch-size "
        "at a time, each batch in its own short transaction."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the retention and batch options."""
        parser.add_argument(
            "--days",
            type=int,
            help="Keep the decisions of this many days (default DECISION_LOG_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=PURGE_BATCH_SIZE,
            help=f"Decisions deleted per transaction (default {PURGE_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Purge, writing one progress line per partition or batch and a summary."""
        days = options["days"]
        if days is None:
            days = settings.DECISION_LOG_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        before = timezone.now() - timedelta(days=days)
        total = 0
        try:
            for step in decisions_purge(before=before, batch_size=options["batch_size"]):
                total += step.count
                if step.partition:
                    self.stdout.write(
                        f"Dropped partition {step.partition} "
                        f"(about {step.count} decisions; {total} so far)."
                    )
                else:
                    self.stdout.write(f"Deleted {step.count} decisions ({total} so far).")
        except PartitionError as error:
            raise CommandError(f"{error}; nothing of it was removed, run again.") from error
        count_command_run("purge_decisions", rows=total)
        self.stdout.write(
            self.style.SUCCESS(f"Purged {total} decisions made before {before.isoformat()}.")
        )

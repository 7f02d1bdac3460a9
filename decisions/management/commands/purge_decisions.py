"""``manage.py purge_decisions``: delete the decisions older than the retention period."""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from decisions.services import PURGE_BATCH_SIZE, decisions_purge


class Command(BaseCommand):
    """Delete old decisions in short transactions, with a line per batch."""

    help = (
        "Delete the decisions made more than DECISION_LOG_RETENTION_DAYS days ago (or --days), "
        "--batch-size at a time, each batch in its own short transaction."
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
        """Purge, writing one progress line per batch and a summary."""
        days = options["days"]
        if days is None:
            days = settings.DECISION_LOG_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        before = timezone.now() - timedelta(days=days)
        total = 0
        for deleted in decisions_purge(before=before, batch_size=options["batch_size"]):
            total += deleted
            self.stdout.write(f"Deleted {deleted} decisions ({total} so far).")
        self.stdout.write(
            self.style.SUCCESS(f"Purged {total} decisions made before {before.isoformat()}.")
        )

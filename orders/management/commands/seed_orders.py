"""``manage.py seed_orders``: the three sample orders once, or N realistic orders."""

from argparse import ArgumentParser
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from api.metrics import count_command_run
from orders.facts import SEED_SPAN
from orders.seeding import (
    DEMO_COUNT,
    DEMO_SEED,
    SEED_BATCH_SIZE,
    orders_seed,
    orders_seed_demo,
    orders_seed_random,
)


class Command(BaseCommand):
    """Create the sample orders on an empty table, or add realistic orders in bulk."""

    help = (
        "Without --count: create three sample orders if the orders table is empty. "
        "With --count N: add N realistic orders (lines, customers, countries, payment, "
        "coupons), in batches, with a progress bar on a terminal. With --demo: the three "
        f"sample orders, then {DEMO_COUNT} realistic ones (seed {DEMO_SEED}) if the table "
        "holds just the three."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the options of the bulk mode."""
        parser.add_argument(
            "--count", type=int, help="Add this many realistic orders (at least 1)."
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help=(
                f"The sample orders, then {DEMO_COUNT} realistic orders once: "
                "only while the table holds just the three sample orders."
            ),
        )
        parser.add_argument(
            "--seed",
            type=int,
            help="Seed of the random generator: the same seed gives the same orders.",
        )
        parser.add_argument(
            "--until",
            help=(
                "ISO date-time: orders are placed in the year before it (default: now). "
                "Give it with --seed to make created_at repeatable too."
            ),
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=SEED_BATCH_SIZE,
            help=f"Orders written per transaction (default {SEED_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed and report what was done."""
        if options["count"] is None:
            if options["seed"] is not None or options["until"] is not None:
                raise CommandError("--seed and --until only apply with --count.")
            written = self._seed_samples()
            if options["demo"]:
                written += self._seed_demo()
            count_command_run("seed_orders", rows=written)
            return
        if options["demo"]:
            raise CommandError("--demo does not take --count.")
        count, batch_size = options["count"], options["batch_size"]
        if count < 1:
            raise CommandError("--count must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        until = _parse_until(options["until"])
        # tqdm draws on stderr only when it is a terminal (disable=None).
        with tqdm(total=count, unit="orders", disable=None) as bar:
            written = orders_seed_random(
                count=count,
                seed=options["seed"],
                until=until,
                batch_size=batch_size,
                progress=bar.update,
            )
        count_command_run("seed_orders", rows=written)
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Seeded {written} realistic orders."))

    def _seed_samples(self) -> int:
        """Create the three sample orders unless the table has orders; return how many."""
        created = orders_seed()
        if not created:
            self.stdout.write("Orders already exist; nothing seeded.")
            return 0
        for order in created:
            self.stdout.write(f"Created {order}")
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(created)} orders."))
        return len(created)

    def _seed_demo(self) -> int:
        """Add the demo's realistic orders if the table holds just the sample orders."""
        written = orders_seed_demo()
        if written:
            self.stdout.write(self.style.SUCCESS(f"Seeded {written} realistic orders."))
        else:
            self.stdout.write("More than the sample orders exist; no realistic orders added.")
        return written


def _parse_until(text: str | None) -> datetime | None:
    """Return the aware date-time *text* gives (naive means the current time zone)."""
    if text is None:
        return None
    try:
        until = parse_datetime(text)
    except ValueError:
        until = None
    if until is None:
        raise CommandError(f"--until must be an ISO date-time, not {text!r}.")
    until = until if timezone.is_aware(until) else timezone.make_aware(until)
    try:
        until.astimezone(UTC) - SEED_SPAN  # the earliest order it can give
    except OverflowError:
        raise CommandError(f"--until is too close to year 1 or 9999: {text!r}.") from None
    return until

"""``manage.py seed_orders``: create the three sample orders once."""

from typing import Any

from django.core.management.base import BaseCommand

from orders.services import orders_seed


class Command(BaseCommand):
    """Create the sample orders on an empty table, or say that none were needed."""

    help = "Create three sample orders if the orders table is empty."

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed and report what was done."""
        created = orders_seed()
        if not created:
            self.stdout.write("Orders already exist; nothing seeded.")
            return
        for order in created:
            self.stdout.write(f"Created {order}")
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(created)} orders."))

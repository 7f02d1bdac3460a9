"""The replica's router, on its own: migrations and writes go to the primary.

Which reads go to the replica is tested on a real one (``test_replica.py``).
"""

from config.replica import REPLICA, ReplicaRouter
from orders.models import Order


def test_migrations_run_on_the_primary_only():
    router = ReplicaRouter()

    assert router.allow_migrate("default", "orders") is True
    assert router.allow_migrate(REPLICA, "orders") is False


def test_an_object_read_from_the_replica_is_written_to_the_primary():
    order = Order(pk=1)
    order._state.db = REPLICA

    assert ReplicaRouter().db_for_write(Order, instance=order) == "default"

"""Several processes writing one SQLite file, as several gunicorn workers do."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.tests.servers import REPO_ROOT, manage

pytestmark = pytest.mark.server

PROCESSES = 8
TRANSACTIONS = 200

# One worker process: wait for the common start, then run read-then-write
# transactions through the ORM and record how each one ended.
WORKER = """
import json, sys, time
import django
django.setup()
from django.db import OperationalError, transaction
from orders.models import Order

out, start_at, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
pk = Order.objects.order_by("pk").values_list("pk", flat=True).first()
time.sleep(max(0.0, start_at - time.time()))
errors = []
for _ in range(count):
    try:
        with transaction.atomic():
            order = Order.objects.get(pk=pk)
            order.items_count += 1
            order.save(update_fields=["items_count"])
    except OperationalError as exc:
        errors.append(str(exc))
with open(out, "w") as fh:
    json.dump(errors, fh)
"""


def _env(db_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "LOG_LEVEL": "WARNING",
    }


def _first_order_items(db_path: Path) -> int:
    with sqlite3.connect(db_path) as connection:
        (items,) = connection.execute(
            "SELECT items_count FROM orders_order ORDER BY id LIMIT 1"
        ).fetchone()
    return int(items)


def test_eight_processes_of_read_then_write_transactions_never_hit_database_is_locked(
    tmp_path,
):
    db_path = tmp_path / "shared.sqlite3"
    env = _env(db_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_orders")
    items_before = _first_order_items(db_path)
    start_at = time.time() + 3.0
    outputs = [tmp_path / f"worker-{n}.json" for n in range(PROCESSES)]

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(out), str(start_at), str(TRANSACTIONS)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for out in outputs
    ]
    logs = [worker.communicate(timeout=300)[0].decode(errors="replace") for worker in workers]

    assert [worker.returncode for worker in workers] == [0] * PROCESSES, logs
    errors = [error for out in outputs for error in json.loads(out.read_text())]
    assert errors == []
    assert _first_order_items(db_path) == items_before + PROCESSES * TRANSACTIONS

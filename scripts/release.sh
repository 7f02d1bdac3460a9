#!/usr/bin/env bash
# A release step, run once per deploy before new web processes take traffic:
# migrate, then seed the three sample orders and 500 realistic ones only for a demo deploy
# (SEED_DEMO_ORDERS=1). A real deploy starts with no orders. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

python manage.py migrate --noinput
if [ "${SEED_DEMO_ORDERS:-0}" = "1" ]; then
    python manage.py seed_orders --demo
fi

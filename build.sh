#!/usr/bin/env bash
# Render's build step (render.yaml): install, collect static files, migrate,
# seed the sample orders. Safe to run again: migrate and seed_orders do
# nothing the second time.
set -euo pipefail
cd "$(dirname "$0")"

python -m pip install --quiet --requirement requirements.txt
python manage.py collectstatic --noinput
python manage.py migrate --noinput
python manage.py seed_orders

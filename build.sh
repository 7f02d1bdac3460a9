#!/usr/bin/env bash
# Render's build step (render.yaml): install, collect static files, then the
# release step (migrate; the sample orders only when SEED_DEMO_ORDERS=1).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

python -m pip install --quiet --requirement requirements.txt
python manage.py collectstatic --noinput
bash scripts/release.sh

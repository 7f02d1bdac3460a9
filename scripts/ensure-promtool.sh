#!/usr/bin/env bash
# Install promtool (Debian's prometheus package) for the alert rules' tests, if missing.
set -euo pipefail

if command -v promtool >/dev/null; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" prometheus

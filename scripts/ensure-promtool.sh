#!/usr/bin/env bash
# Install promtool (Debian's prometheus package) for the alert rules' tests, if missing.
set -euo pipefail

if command -v promtool >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends prometheus

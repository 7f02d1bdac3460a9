#!/usr/bin/env bash
# Install Debian packages for a test dependency: `bash scripts/apt-install.sh PACKAGE...`.
# The ensure-*.sh scripts call it when what they look for is missing. It runs
# apt-get update first (a fresh machine has no package lists), with sudo when not
# root, then stops any system-wide service a package started (redis-server, nginx,
# prometheus): the tests start throw-away servers of their own and need none.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
for package in "$@"; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$package" 2>/dev/null; then
        $SUDO systemctl stop "$package" || true
    elif [ -x "/etc/init.d/$package" ]; then
        $SUDO "/etc/init.d/$package" stop >/dev/null 2>&1 || true
    fi
done

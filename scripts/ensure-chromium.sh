#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the browser tests, if missing.
set -euo pipefail

# A runner with its own Chrome names it in CHROMIUM_BINARY and CHROMEDRIVER.
if [ -x "${CHROMIUM_BINARY:-/usr/bin/chromium}" ] && [ -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ]; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" chromium chromium-driver

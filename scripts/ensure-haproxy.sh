#!/usr/bin/env bash
# Install Debian's haproxy for the scale tests (marker `scale`, `make test-scale`), if
# missing. They start and stop haproxy processes of their own, each in a temporary
# folder; none is left running.
set -euo pipefail

if [ -x "${HAPROXY:-/usr/sbin/haproxy}" ]; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" haproxy

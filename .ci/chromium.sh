#!/usr/bin/env bash
# Install headless Chromium and its driver (Debian's chromium, chromium-driver) for the dashboard's
# end-to-end test, only when missing; without them that test skips with a reason.
# Usage: .ci/chromium.sh
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >&2

#!/usr/bin/env bash
# The browser test (test/browser/swagger-ui.test.ts) drives Debian's Chromium through
# playwright-core, which never downloads a browser of its own. Install it when missing.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null

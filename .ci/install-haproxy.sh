#!/usr/bin/env bash
# test/cluster/haproxy.test.ts runs deploy/haproxy.cfg with Debian's haproxy. Install it when missing.
set -euo pipefail
if ! command -v haproxy >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq haproxy >/dev/null
fi
haproxy -v | head -n 1

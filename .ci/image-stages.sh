#!/usr/bin/env bash
# CI: no registry serves node images here, and no container engine runs (podman installs, but
# crun may not set the container's rlimits). So the Dockerfile's stages run in plain folders:
# production install, start as the image's USER, HEALTHCHECK, GET /health. Needs `npm ci` first (tsx).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/image-stages.ts Dockerfile

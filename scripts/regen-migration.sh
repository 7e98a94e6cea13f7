#!/usr/bin/env bash
# The project has not shipped yet: keep ONE initial migration, regenerated from the models.
# Run after changing models. (Once deployed, switch to normal incremental `saas db migrate`.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/*.py
SAAS_INSTANCE_PATH="$tmp" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}" .venv/bin/saas db migrate -m "initial schema" >/dev/null
ls migrations/versions

#!/usr/bin/env bash
# Debian's chromium for the report's browser tests (tests/test_html_report.py), from apt.
# Nothing else is downloaded: the tests drive it over the DevTools pipe with the standard
# library. Idempotent; needs root (or sudo) the first time.
set -euo pipefail
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "chromium: $(command -v "$name")"
    exit 0
  fi
done
run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run_as_root apt-get update -qq
run_as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $(command -v chromium)"

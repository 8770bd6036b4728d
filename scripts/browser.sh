#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/demo). Playwright
# drives it at /usr/bin/chromium; `playwright install` is never run, because it downloads a
# browser build of its own, which a network limited to package registries refuses.
# Installs from Debian's packages when missing (needs root or sudo, as in CI). Idempotent.
set -euo pipefail

log() { printf 'browser: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium from Debian's packages"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
log "$(/usr/bin/chromium --version 2>/dev/null | head -n 1) ready at /usr/bin/chromium"

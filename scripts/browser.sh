#!/usr/bin/env bash
# Make sure a Chromium is there for the browser tests (tests/demo): $CHROMIUM when set (any
# Chromium or Chrome binary, e.g. the one `python -m playwright install chromium` fetched),
# else Debian's at /usr/bin/chromium, installed from Debian's packages when missing (root or
# sudo; a held apt lock is waited for, at most APT_LOCK_WAIT seconds). `playwright install` is
# never run here: it downloads a browser build of its own, which a network limited to package
# registries refuses. Idempotent; never hangs.
set -euo pipefail

log() { printf 'browser: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
lock_wait=${APT_LOCK_WAIT:-300}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
  if [ -n "${CHROMIUM:-}" ] || ! command -v apt-get >/dev/null; then
    log "no Chromium at $chromium. Install one and point CHROMIUM at it, e.g."
    log "  .venv/bin/python -m playwright install chromium"
    log "  export CHROMIUM=\$(.venv/bin/python -c 'from playwright.sync_api import sync_playwright as s; p = s().start(); print(p.chromium.executable_path); p.stop()')"
    exit 1
  fi
  log "installing chromium from Debian's packages (waiting up to ${lock_wait} s for another apt to finish)"
  as_root apt-get -o DPkg::Lock::Timeout="$lock_wait" update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout="$lock_wait" install -y -qq chromium >/dev/null
fi
log "$("$chromium" --version 2>/dev/null | head -n 1) ready at $chromium"

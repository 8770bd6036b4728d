#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432 (user postgres,
# database `test`, or TEST_POSTGRES_DSN) and Redis on 127.0.0.1:6379. Starts them when
# installed but stopped, installs them from Debian's packages when missing (root or sudo;
# a held apt lock is waited for, at most APT_LOCK_WAIT seconds). A machine without apt-get
# (macOS, a locked-down box) gets told exactly what to start. Idempotent; never hangs.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
lock_wait=${APT_LOCK_WAIT:-300}
apt_install() {
  if ! command -v apt-get >/dev/null; then
    log "$1 is not running and this machine has no apt-get to install it. $2"
    exit 1
  fi
  shift 2
  log "installing $* (waiting up to ${lock_wait} s for another apt to finish)"
  # Unattended upgrades on a fresh VM often hold the dpkg lock: wait for it, within bounds.
  as_root apt-get -o DPkg::Lock::Timeout="$lock_wait" update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout="$lock_wait" install -y -qq "$@" >/dev/null
}

# Probes that need no client tools: bash's /dev/tcp, with a timeout.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
redis_up() {
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && read -r reply <&3 && [[ $reply == +PONG* ]]' \
    2>/dev/null
}

if [ -n "${TEST_POSTGRES_DSN:-}" ]; then
  log "using the PostgreSQL of TEST_POSTGRES_DSN"
elif ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install PostgreSQL \
    "Start one on 127.0.0.1:5432 with a superuser postgres and a database test (e.g. macOS: brew install postgresql@16 && brew services start postgresql@16 && createuser -s postgres && createdb -O postgres test), or set TEST_POSTGRES_DSN to yours." \
    postgresql postgresql-client
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || { log "no PostgreSQL cluster found in /etc/postgresql"; exit 1; }
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do port_open 5432 && break; sleep 1; done
  port_open 5432 || { log "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
fi
# The tests connect as postgres to database `test` (trust auth on loopback). A server in a
# container (CI) creates it itself (POSTGRES_DB=test); a Debian cluster gets it here.
if [ -z "${TEST_POSTGRES_DSN:-}" ] && command -v psql >/dev/null \
  && ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
  as_root runuser -u postgres -- psql -qc 'create database test' >/dev/null
fi
log "PostgreSQL ready"

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install Redis \
    "Start one on 127.0.0.1:6379 (e.g. macOS: brew install redis && brew services start redis)." redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 20); do redis_up && break; sleep 0.5; done
  redis_up || { log "Redis did not start on 127.0.0.1:6379"; exit 1; }
fi
log "Redis ready on 127.0.0.1:6379"

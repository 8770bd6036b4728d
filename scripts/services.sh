#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432
# and Redis on 127.0.0.1:6379. Starts them when installed but stopped, installs
# them from Debian's packages when missing (needs root, as in CI). Idempotent.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing $*"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || { log "no PostgreSQL cluster found in /etc/postgresql"; exit 1; }
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || { log "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
fi
# The tests connect as postgres to database `test` (trust auth on this machine's loopback).
if ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
  as_root runuser -u postgres -- psql -qc 'create database test' >/dev/null
fi
log "PostgreSQL ready on 127.0.0.1:5432"

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 20); do redis_up && break; sleep 0.5; done
  redis_up || { log "Redis did not start on 127.0.0.1:6379"; exit 1; }
fi
log "Redis ready on 127.0.0.1:6379"

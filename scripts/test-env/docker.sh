#!/usr/bin/env bash
# Make a Docker engine reachable on this machine (test/CI only). Idempotent and safe to run
# concurrently: a flock serialises installers/starters; callers that lose the race just wait.
#
#   RF_DOCKER_WAIT_S  bound on waiting for `docker info` (default 60)
set -euo pipefail

LOCK=/run/runner-fleet-test-docker.lock
LOG=/var/log/runner-fleet-dockerd.log
WAIT_S=${RF_DOCKER_WAIT_S:-60}

log() { echo "[test-env/docker] $*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "Docker is not reachable and this is not root: start dockerd or run scripts/test-env/docker.sh as root"
  exit 1
fi

exec 9>"$LOCK"
flock -w "$((WAIT_S + 300))" 9 || { log "timed out waiting for the setup lock $LOCK"; exit 1; }

# Another caller may have finished while we waited for the lock.
if command -v docker >/dev/null 2>&1 && engine_up; then
  exit 0
fi

# Either half may be missing: a docker client alone (e.g. in /usr/local/bin, talking to a remote
# engine) is not an engine, and dockerd without a client cannot be asked whether it is up.
# iproute2: test/helpers/dockerd.ts gives private test engines their own bridge.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  log "installing docker.io (dockerd: $(command -v dockerd || echo missing), docker: $(command -v docker || echo missing))"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io iptables iproute2 >/dev/null
fi

# Only start a daemon when the default one is not running (its pid file names a live process):
# never kill or restart one that others use. Private test daemons have their own pid files.
pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
  log "starting dockerd (log: $LOG)"
  # setsid: the daemon must outlive this script and the test process that called it.
  # 9>&-: it must not inherit the setup lock, or every later caller waits for it forever.
  setsid dockerd >>"$LOG" 2>&1 </dev/null 9>&- &
fi

start=$SECONDS
until engine_up; do
  if (( SECONDS - start > WAIT_S )); then
    log "dockerd did not answer within ${WAIT_S}s; last log lines:"
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done
log "engine ready after $((SECONDS - start))s"

#!/usr/bin/env bash
# Prints `systemd-analyze security --offline=yes` exposure for every shipped unit (alone, with
# the systemd-backend drop-in, with the process-user drop-in) and for a generated runner unit, then checks the
# daemon's Docker-host unit stays <= 3.0. Needs systemd-analyze (apt: systemd) and node + tsx.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
limit=${RF_EXPOSURE_LIMIT:-3.0}

last=''
score() { # unit-file label; prints a line, leaves the number in $last
  local s
  s=$(cd "$(dirname "$1")" && systemd-analyze security --offline=yes --no-pager "./$(basename "$1")" 2>/dev/null \
        | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  printf '%-48s %s\n' "$2" "${s:-?}"
  last=$s
}

mkdir -p "$work/docker" "$work/systemd/runner-fleet.service.d" "$work/process/runner-fleet.service.d"
cp "$repo/systemd/runner-fleet.service" "$work/docker/"
cp "$repo/systemd/runner-fleet.service" "$work/systemd/"
cp "$repo/systemd/runner-fleet.service.d/systemd-backend.conf" "$work/systemd/runner-fleet.service.d/"
cp "$repo/systemd/runner-fleet.service" "$work/process/"
cp "$repo/systemd/runner-fleet.service.d/process-user.conf" "$work/process/runner-fleet.service.d/"

score "$work/docker/runner-fleet.service" 'runner-fleet.service (docker host)'
docker_score=$last
score "$work/systemd/runner-fleet.service" 'runner-fleet.service + systemd-backend.conf'
score "$work/process/runner-fleet.service" 'runner-fleet.service + process-user.conf'
(cd "$repo" && node --import tsx scripts/systemd-runner-unit.ts "$work/runner") >/dev/null
score "$work/runner/runner-fleet-build-01-cd-abc123.service" 'runner-fleet-{runner}.service (generated)'

if awk -v s="$docker_score" -v l="$limit" 'BEGIN { exit !(s != "" && s + 0 <= l + 0) }'; then
  echo "ok: docker-host exposure $docker_score <= $limit"
else
  echo "FAIL: docker-host exposure $docker_score > $limit" >&2
  exit 1
fi

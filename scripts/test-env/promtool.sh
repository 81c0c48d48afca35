#!/usr/bin/env bash
# promtool for the monitoring suite (test/CI only): Debian's prometheus package. Idempotent.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "[test-env/promtool] promtool missing and this is not root: apt-get install -y prometheus" >&2
  exit 1
fi
echo "[test-env/promtool] installing prometheus (promtool)" >&2
export DEBIAN_FRONTEND=noninteractive
# A package's own service start fails harmlessly where there is no init system.
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null

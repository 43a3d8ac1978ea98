# Go builds into the shared cache (${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain): the offline
# toolchain's components and the tests' Go tools use the same module and build caches, flags and
# locks. .ci/run builds them all in the background while npm test asks for its tools, so two
# processes may want the same entry: whoever comes second waits for the first build.
# shellcheck shell=bash

TOOLCHAIN_DIR=${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain
export GOMODCACHE=$TOOLCHAIN_DIR/go/mod
export GOCACHE=$TOOLCHAIN_DIR/go/build
export GOPROXY=${GOPROXY_OVERRIDE:-https://proxy.golang.org}
# No DWARF from the compiler either: the linker strips it anyway (-s -w), and skipping it
# shortens every compile.
export GOFLAGS="-trimpath -buildvcs=false -mod=mod -gcflags=all=-dwarf=false"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0

# Takes the lock of the cache entry DIR (file DIR.lock) on file descriptor 9, waiting while another
# process builds it; the caller checks the entry again once this returns. WHO prefixes the message.
build_lock() {
  local dir=$1 who=$2
  mkdir -p "$(dirname "$dir")"
  exec 9>"$dir.lock"
  if ! flock -n 9; then
    printf '[%s] waiting: another process is building %s\n' "$who" "$(basename "$dir")" >&2
    flock 9
  fi
}

build_unlock() { exec 9>&-; }

# cached_build WHO DIR FILE COMMAND...: unless DIR/FILE exists, runs COMMAND with a new temporary
# folder as its last argument, under DIR's lock, then renames that folder DIR, with the wall
# seconds the build took in DIR/.build-seconds (npm run bench:cluster reports them). A failed or
# interrupted build never looks complete; a failed one exits with the build's status.
cached_build() {
  local who=$1 dir=$2 file=$3
  shift 3
  [[ -e $dir/$file ]] && return 0
  build_lock "$dir" "$who"
  if [[ ! -e $dir/$file ]]; then
    if ! command -v go >/dev/null; then
      printf '[%s] go is needed to build %s (see GO_MINIMUM_VERSION in local-cluster/versions.env)\n' "$who" "$(basename "$dir")" >&2
      exit 1
    fi
    printf '[%s] building %s from the Go module proxy (once; cached in %s)\n' "$who" "$(basename "$dir")" "$dir" >&2
    local partial started=$SECONDS
    partial=$(mktemp -d "$dir.partial.XXXXXX")
    chmod 755 "$partial"
    # In the background so that errexit holds inside the build (an "if" would lift it).
    local status=0
    "$@" "$partial" >&2 &
    wait $! || status=$?
    if ((status != 0)); then
      rm -rf "$partial"
      printf '[%s] FAILED: %s (exit status %d)\n' "$who" "$(basename "$dir")" "$status" >&2
      exit "$status"
    fi
    echo "$((SECONDS - started))" >"$partial/.build-seconds"
    rm -rf "$dir"
    mv -T "$partial" "$dir"
    printf '[%s] built %s in %d s\n' "$who" "$(basename "$dir")" "$((SECONDS - started))" >&2
  fi
  build_unlock
}

# What every part uses: logging, the toolchain and kubectl, and running components as host processes.
# shellcheck shell=bash

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# TODO_TOOLCHAIN_BIN: use an already built bin directory as is.
toolchain_bin() {
  local bin=${TODO_TOOLCHAIN_BIN:-}
  [[ -n $bin ]] ||
    bin=$("$LOCAL_CLUSTER_DIR/toolchain" etcd kubernetes coredns metrics-server crictl buildkitd traefik kube-router pause | tail -n 1)
  export PATH="$bin:$PATH"
}

kubectl_admin() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

pid_of() {
  local pid_file=$RUN_DIR/$1.pid
  [[ -f $pid_file ]] || return 1
  local pid
  pid=$(<"$pid_file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# Starts a component in its own session (so it survives this shell) unless it already runs.
start_component() {
  local name=$1
  shift
  if pid_of "$name" >/dev/null; then
    return 0
  fi
  log "starting $name"
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

# Polls COMMAND until it succeeds, for at most SECONDS; shows the component's log on failure.
wait_for() {
  local what=$1 seconds=$2 component=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! pid_of "$component" >/dev/null; then
      tail -n 30 "$LOG_DIR/$component.log" >&2 || true
      die "$component exited while waiting for $what"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOG_DIR/$component.log" >&2 || true
      die "timed out after ${seconds}s waiting for $what"
    fi
    sleep 1
  done
}

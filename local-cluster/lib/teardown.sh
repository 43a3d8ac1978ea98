# Teardown: pods and components stopped, then the mounts, iptables chains and ipsets they leave removed.
# shellcheck shell=bash

stop_pid() {
  local pid=$1 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
    sleep 0.5
    waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# Pods first (through the CRI, so their network is released), then every component.
stop_everything() {
  local pid
  if pid_of kubelet >/dev/null; then
    stop_pid "$(pid_of kubelet)"
  fi
  if pid_of containerd >/dev/null && command -v crictl >/dev/null; then
    local crictl=(crictl --runtime-endpoint "unix://$CONTAINERD_SOCKET" --timeout 30s)
    local pods
    pods=$("${crictl[@]}" pods -q 2>/dev/null || true)
    if [[ -n $pods ]]; then
      # shellcheck disable=SC2086 # one pod id per word
      "${crictl[@]}" stopp $pods >/dev/null || true
      # shellcheck disable=SC2086
      "${crictl[@]}" rmp -f $pods >/dev/null || true
    fi
  fi
  local index
  for ((index = ${#COMPONENTS[@]} - 1; index >= 0; index--)); do
    if pid=$(pid_of "${COMPONENTS[index]}"); then
      log "stopping ${COMPONENTS[index]}"
      stop_pid "$pid"
    fi
    rm -f "$RUN_DIR/${COMPONENTS[index]}.pid"
  done
  # Shims of this containerd that outlived their containers (matched by its socket, by pid).
  local shim
  for shim in $(pgrep -f -- "-address $CONTAINERD_SOCKET" || true); do
    stop_pid "$shim"
  done
  # Components whose pid file was overwritten (two `up`s at once) still name this cluster's
  # files on their command line.
  # Traefik names them in its environment only.
  local stray strays
  strays=$(pgrep -f -- "$CONF_DIR/|$RUN_DIR/" || true)
  for stray in $(pgrep -x traefik || true); do
    grep -qz "^KUBECONFIG=$CONF_DIR/" "/proc/$stray/environ" 2>/dev/null && strays+=" $stray"
  done
  for stray in $strays; do
    log "stopping a stray component: $(tr '\0' ' ' <"/proc/$stray/cmdline" 2>/dev/null | cut -c1-80)"
    stop_pid "$stray"
  done
}

unmount_under() {
  local prefix=$1 mount_point
  # Deepest first.
  while read -r mount_point; do
    umount -l "$mount_point" 2>/dev/null || true
  done < <(awk -v p="$prefix" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# The pods' network namespaces, which outlive their pods as files under /run/netns.
remove_pod_netns() {
  local netns
  for netns in /run/netns/cni-*; do
    [[ -e $netns ]] || continue
    umount "$netns" 2>/dev/null || true
    rm -f "$netns"
  done
  # containerd bind-mounts /run/netns onto itself; undo that once nobody else has a netns there.
  if mountpoint -q /run/netns && [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns
  fi
}

OUR_CHAINS='^(KUBE-|CNI-|TODO-K8S)'

# Removes every rule that jumps into one of our chains (by rule number, last first), then the
# chains themselves; Docker's and anyone else's rules stay.
clean_iptables() {
  local tool table builtin number chain
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      for builtin in INPUT OUTPUT FORWARD PREROUTING POSTROUTING; do
        for number in $("$tool" -w -t "$table" -L "$builtin" -n --line-numbers 2>/dev/null |
          awk -v re="$OUR_CHAINS" 'NR > 2 && $2 ~ re { print $1 }' | sort -rn); do
          "$tool" -w -t "$table" -D "$builtin" "$number"
        done
      done
      local chains
      chains=$("$tool" -w -t "$table" -S 2>/dev/null | awk -v re="$OUR_CHAINS" '$1 == "-N" && $2 ~ re { print $2 }')
      for chain in $chains; do "$tool" -w -t "$table" -F "$chain"; done
      for chain in $chains; do "$tool" -w -t "$table" -X "$chain"; done
    done
  done
}

# kube-router's sets, once no rule refers to them.
clean_ipsets() {
  command -v ipset >/dev/null || return 0
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E '^KUBE-' || true); do
    ipset destroy "$set" 2>/dev/null || true
  done
}

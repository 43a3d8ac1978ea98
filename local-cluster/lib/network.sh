# Host network: the node's bridge and address, the pods' forward chain, the CNI config; and their removal.
# shellcheck shell=bash

# kube-proxy turns on route_localnet (NodePorts on 127.0.0.1); "down" puts the old value back.
SAVED_ROUTE_LOCALNET=$CLUSTER_DIR/route_localnet.saved

setup_host_network() {
  [[ -f $SAVED_ROUTE_LOCALNET ]] || sysctl -n net.ipv4.conf.all.route_localnet >"$SAVED_ROUTE_LOCALNET"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
    ip addr add "$NODE_IP/32" dev "$NODE_BRIDGE"
    ip link set "$NODE_BRIDGE" up
  fi
  # Pods may talk to each other (through the bridge) and to this host, never beyond it.
  if ! iptables -w -nL "$FORWARD_CHAIN" >/dev/null 2>&1; then
    iptables -w -N "$FORWARD_CHAIN"
    iptables -w -A "$FORWARD_CHAIN" -i "$POD_BRIDGE" -o "$POD_BRIDGE" -j ACCEPT
    iptables -w -A "$FORWARD_CHAIN" -i "$POD_BRIDGE" -j REJECT --reject-with icmp-net-prohibited
    iptables -w -A "$FORWARD_CHAIN" -o "$POD_BRIDGE" -j REJECT --reject-with icmp-net-prohibited
  fi
  iptables -w -C FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$FORWARD_CHAIN"
}

write_cni_config() {
  mkdir -p "$CONF_DIR/cni"
  write_if_changed "$CONF_DIR/cni/10-todo-k8s.conflist" config/cni.conflist \
    POD_BRIDGE POD_CIDR POD_GATEWAY RUN_DIR
}

# The bridges go (the forward chain goes with the other iptables chains), route_localnet is put back.
remove_host_network() {
  local link
  for link in "$POD_BRIDGE" "$NODE_BRIDGE"; do
    ip link del "$link" 2>/dev/null || true
  done
  if [[ -f $SAVED_ROUTE_LOCALNET ]]; then
    sysctl -qw "net.ipv4.conf.all.route_localnet=$(<"$SAVED_ROUTE_LOCALNET")"
    rm -f "$SAVED_ROUTE_LOCALNET"
  fi
}

# The node: its own containerd (and the images built or loaded into it), the kubelet and kube-proxy.
# shellcheck shell=bash

start_containerd() {
  mkdir -p "$DATA_DIR/containerd" "$RUN_DIR/containerd"
  write_if_changed "$CONF_DIR/containerd.toml" config/containerd.toml \
    DATA_DIR RUN_DIR CONTAINERD_SOCKET SANDBOX_IMAGE CONF_DIR
  # Both local registries speak plain http.
  local address
  for address in "$REGISTRY_ADDRESS" "$HUB_ADDRESS"; do
    mkdir -p "$CONF_DIR/registries/$address"
    write_if_changed "$CONF_DIR/registries/$address/hosts.toml" config/registry-hosts.toml ADDRESS="$address"
  done
  start_component containerd containerd --config "$CONF_DIR/containerd.toml"
  wait_for "containerd" 60 containerd ctr --address "$CONTAINERD_SOCKET" version
  # Registries with the official images are out of reach: both are built here.
  ensure_binary_image "$SANDBOX_IMAGE" pause 65535
  ensure_binary_image "$COREDNS_IMAGE" coredns 65532
}

# ensure_binary_image IMAGE BINARY UID: a one-file image of a static toolchain binary, built and
# loaded into the node unless the node has it already.
ensure_binary_image() {
  local image=$1 binary=$2 uid=$3
  ctr --address "$CONTAINERD_SOCKET" -n k8s.io images check "name==$image" | grep -q complete && return 0
  log "building $image from the static $binary binary"
  local context
  context=$(mktemp -d)
  cp "$(command -v "$binary")" "$context/$binary"
  printf 'FROM scratch\nCOPY %s /%s\nUSER %s:%s\nENTRYPOINT ["/%s"]\n' "$binary" "$binary" "$uid" "$uid" "$binary" >"$context/Dockerfile"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$image" "$context" >/dev/null
  rm -rf "$context"
  load_images "$image"
}

# The name containerd gives an image that Docker names IMAGE: Docker Hub's are fully qualified
# (todo-backend:1 is docker.io/library/todo-backend:1).
containerd_name() {
  local image=$1 first=${1%%/*}
  if [[ $image != */* ]]; then
    echo "docker.io/library/$image"
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then
    echo "$image"
  else
    echo "docker.io/$image"
  fi
}

# load_images IMAGE...: copies each image from the local Docker into the node's containerd,
# unless the node already holds that very image (same name, same Docker image ID): a dev loop
# that changed one image then copies that one, not both.
load_images() {
  local image id loaded=$DATA_DIR/loaded-images
  touch "$loaded"
  for image in "$@"; do
    id=$("$DOCKER" image inspect --format '{{.Id}}' "$image")
    if grep -qxF "$image $id" "$loaded" \
      && ctr --address "$CONTAINERD_SOCKET" -n k8s.io images check "name==$(containerd_name "$image")" | grep -q complete; then
      log "$image is on the node already"
      continue
    fi
    log "loading $image into the node"
    "$DOCKER" save "$image" | ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import - >/dev/null
    awk -v name="$image" '$1 != name' "$loaded" >"$loaded.new"
    printf '%s %s\n' "$image" "$id" >>"$loaded.new"
    mv "$loaded.new" "$loaded"
  done
}

start_kubelet() {
  mkdir -p "$DATA_DIR/kubelet"
  write_if_changed "$CONF_DIR/kubelet.yaml" config/kubelet.yaml \
    NODE_IP PKI_DIR CONTAINERD_SOCKET DNS_SERVICE_IP POD_CIDR
  # --containerd: cAdvisor asks containerd (at /run/containerd by default) which container a
  # cgroup holds; without it the kubelet's container CPU and memory series carry no container,
  # pod or namespace label, and the dashboard's panels are empty.
  start_component kubelet kubelet --config="$CONF_DIR/kubelet.yaml" \
    --kubeconfig="$CONF_DIR/kubelet.kubeconfig" --root-dir="$DATA_DIR/kubelet" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --containerd="$CONTAINERD_SOCKET"
}

start_kube_proxy() {
  write_if_changed "$CONF_DIR/kube-proxy.yaml" config/kube-proxy.yaml CONF_DIR NODE_NAME CLUSTER_CIDR NODE_IP
  start_component kube-proxy kube-proxy --config="$CONF_DIR/kube-proxy.yaml"
}

node_ready() {
  [[ $(kubectl_admin get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

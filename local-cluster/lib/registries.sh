# Image registries on loopback (plain, and a Docker Hub stand-in with a password) and the BuildKit daemon.
# shellcheck shell=bash

start_registry() {
  command -v docker-registry >/dev/null || die "missing docker-registry: apt-get install -y docker-registry"
  mkdir -p "$DATA_DIR/registry"
  write_if_changed "$CONF_DIR/registry.yml" config/registry.yml DATA_DIR REGISTRY_ADDRESS
  start_component registry docker-registry serve "$CONF_DIR/registry.yml"
  wait_for "the registry" 30 registry curl -fsS "http://$REGISTRY_ADDRESS/v2/"
}

start_hub_registry() {
  command -v htpasswd >/dev/null || die "missing htpasswd: apt-get install -y apache2-utils"
  mkdir -p "$DATA_DIR/hub-registry"
  local password
  if [[ ! -f $HUB_CREDENTIALS || ! -f $CONF_DIR/hub-htpasswd ]]; then
    password=$(openssl rand -hex 16)
    (umask 077 && echo "$HUB_USER:$password" >"$HUB_CREDENTIALS")
    htpasswd -Bbn "$HUB_USER" "$password" >"$CONF_DIR/hub-htpasswd"
  fi
  password=$(cut -d: -f2- "$HUB_CREDENTIALS")
  write_if_changed "$CONF_DIR/hub-registry.yml" config/hub-registry.yml DATA_DIR HUB_ADDRESS CONF_DIR
  start_component hub-registry docker-registry serve "$CONF_DIR/hub-registry.yml"
  wait_for "the password-protected registry" 30 hub-registry \
    curl -fsS -u "$HUB_USER:$password" "http://$HUB_ADDRESS/v2/"
}

# Image builds: the docker-build provider will not use the Docker daemon's built-in builder and
# would otherwise create one from an image on Docker Hub. With DOCKER_CONFIG set to
# DOCKER_CONFIG_DIR it finds this BuildKit daemon instead (host network: RUN steps reach the
# package registries; FROM images come from a registry, not from the local Docker).
start_buildkitd() {
  mkdir -p "$BUILDKIT_ROOT" "$DOCKER_CONFIG_DIR/buildx/instances"
  write_if_changed "$CONF_DIR/buildkitd.toml" config/buildkitd.toml REGISTRY_ADDRESS HUB_ADDRESS
  start_component buildkitd buildkitd --config "$CONF_DIR/buildkitd.toml" \
    --addr "unix://$BUILDKIT_SOCKET" --root "$BUILDKIT_ROOT" \
    --oci-worker=true --oci-worker-net=host --oci-worker-snapshotter=overlayfs \
    --containerd-worker=false
  write_if_changed "$DOCKER_CONFIG_DIR/buildx/instances/todo-k8s" config/buildx-instance.json BUILDKIT_SOCKET
  wait_for "buildkitd" 60 buildkitd test -S "$BUILDKIT_SOCKET"
}

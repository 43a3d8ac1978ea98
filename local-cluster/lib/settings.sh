# Where the cluster keeps its files, its addresses and names, and its components in start order.
# shellcheck shell=bash disable=SC2034 # the files that source this one use them

CACHE_DIR=${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}
CLUSTER_DIR=$CACHE_DIR/cluster
PKI_DIR=$CLUSTER_DIR/pki
CONF_DIR=$CLUSTER_DIR/conf
LOG_DIR=$CLUSTER_DIR/logs
DATA_DIR=$CLUSTER_DIR/data
# BuildKit's cache outlives the cluster (its own garbage collection bounds it): an image whose
# code did not change builds from cache after `down` and `up`, as it would on a developer's Docker.
BUILDKIT_ROOT=$CACHE_DIR/buildkit
KUBECONFIG_PATH=$CLUSTER_DIR/kubeconfig
# Sockets and pid files: short paths (unix socket names are limited to 108 bytes).
RUN_DIR=/run/todo-k8s
CONTAINERD_SOCKET=$RUN_DIR/containerd/containerd.sock
BUILDKIT_SOCKET=$RUN_DIR/buildkitd.sock
# A Docker client config whose only content is a buildx "remote" builder pointing at buildkitd.
DOCKER_CONFIG_DIR=$CLUSTER_DIR/docker-config
# A plain-http image registry on loopback (Debian's docker-registry): BuildKit resolves FROM
# lines against a registry, never against the local Docker, so base images are pushed here.
REGISTRY_ADDRESS=127.0.0.1:5000
# A second one with basic auth (htpasswd), standing in for Docker Hub: pushed images and the pull
# Secret the prod settings make are checked against it. Plain http on loopback as well.
HUB_ADDRESS=127.0.0.1:5001
HUB_USER=todo-e2e
HUB_CREDENTIALS=$CLUSTER_DIR/hub-credentials
# The ingress controller (Traefik, IngressClass "traefik") answers here, on loopback only; it
# writes 127.0.0.1 into the status of the Ingresses it serves.
INGRESS_HTTP_ADDRESS=127.0.0.1:8081
INGRESS_HTTPS_ADDRESS=127.0.0.1:8444

NODE_NAME=todo-node
NODE_BRIDGE=todo-k8s0
NODE_IP=10.200.0.1
POD_BRIDGE=todo-cni0
CLUSTER_CIDR=10.244.0.0/16
POD_CIDR=10.244.0.0/24
POD_GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
API_PORT=6443
API_URL=https://$NODE_IP:$API_PORT
SANDBOX_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION
# Built here from the toolchain's static binary (no registry has it), never pulled.
COREDNS_IMAGE=todo-k8s.local/coredns:$COREDNS_VERSION
FORWARD_CHAIN=TODO-K8S-FORWARD
# Debian's Docker client: the machine may have a newer one first on PATH.
DOCKER=${DOCKER:-/usr/bin/docker}

# Started in this order, stopped in the reverse one.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy
  kube-router metrics-server registry hub-registry buildkitd traefik)

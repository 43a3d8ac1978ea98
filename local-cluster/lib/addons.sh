# Add-ons and their objects (addons.yaml): CoreDNS, metrics-server, kube-router, Traefik, hostPath volumes.
# shellcheck shell=bash

# RBAC for the host-process add-ons and the Services that front them.
apply_addons() {
  render addons.yaml NODE_IP COREDNS_IMAGE DNS_SERVICE_IP CA_BUNDLE="$(base64 -w0 "$PKI_DIR/ca.crt")" |
    kubectl_admin apply -f - >/dev/null
}

# CoreDNS: a Deployment of kube-system behind the kube-dns Service (addons.yaml).
dns_ready() {
  [[ $(kubectl_admin -n kube-system get deployment coredns -o 'jsonpath={.status.readyReplicas}' 2>/dev/null) == 1 ]]
}

start_metrics_server() {
  local kubeconfig=$CONF_DIR/metrics-server.kubeconfig
  start_component metrics-server metrics-server \
    --bind-address="$NODE_IP" --secure-port=4443 \
    --tls-cert-file="$PKI_DIR/metrics-server-serving.crt" \
    --tls-private-key-file="$PKI_DIR/metrics-server-serving.key" \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
    --authorization-kubeconfig="$kubeconfig" \
    --kubelet-certificate-authority="$PKI_DIR/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --metric-resolution=15s
}

metrics_available() {
  kubectl_admin get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$NODE_NAME" >/dev/null 2>&1
}

# kube-router's NetworkPolicy controller alone: pod routing stays with the bridge CNI and Services
# with kube-proxy. It enforces policies with iptables chains and ipsets on this host (the pod
# bridge is filtered through br_netfilter); its health and metrics ports stay closed.
start_kube_router() {
  command -v ipset >/dev/null || die "missing ipset: apt-get install -y ipset"
  start_component kube-router kube-router --kubeconfig="$CONF_DIR/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" --run-firewall=true --run-router=false \
    --run-service-proxy=false --enable-cni=false --enable-ipv6=false \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --health-port=0 --metrics-port=0
  wait_for "kube-router's firewall chains" 60 kube-router iptables -w -nL KUBE-ROUTER-FORWARD
}

# Traefik with the Kubernetes Ingress provider, as a host process like CoreDNS: it reads Ingresses,
# Services, EndpointSlices and TLS Secrets with its own client certificate and sends traffic to
# the pods' addresses. The in-cluster variables are unset so that it takes the kubeconfig.
start_traefik() {
  start_component traefik env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
    KUBECONFIG="$CONF_DIR/traefik.kubeconfig" traefik \
    --global.checknewversion=false --global.sendanonymoususage=false --log.level=WARN \
    --entrypoints.web.address="$INGRESS_HTTP_ADDRESS" \
    --entrypoints.websecure.address="$INGRESS_HTTPS_ADDRESS" --entrypoints.websecure.http.tls=true \
    --providers.kubernetesingress=true --providers.kubernetesingress.ingressclass=traefik \
    --providers.kubernetesingress.ingressendpoint.ip=127.0.0.1
  # Any HTTP answer (404 for an unknown host) means it listens.
  wait_for "the ingress controller" 30 traefik curl -s -o /dev/null "http://$INGRESS_HTTP_ADDRESS/"
}

VOLUME_COUNT=6
VOLUME_SIZE=5Gi
# The kube-controller-manager's hostPath deleter removes only folders under /tmp; Minikube's
# provisioner keeps its volumes there too.
VOLUME_ROOT=/tmp/todo-k8s-volumes

# hostPath volumes of the default class, reclaimed with Delete as Minikube's are: when a claim
# goes, the controller manager deletes its volume and the folder. `up` makes the missing ones
# again, so every start offers VOLUME_COUNT empty volumes.
ensure_volumes() {
  local index name dir
  for ((index = 1; index <= VOLUME_COUNT; index++)); do
    name=local-volume-$index
    dir=$VOLUME_ROOT/$index
    kubectl_admin get pv "$name" >/dev/null 2>&1 && continue
    rm -rf "$dir"
    mkdir -p "$dir"
    # World-writable with the sticky bit: the kubelet applies no fsGroup to hostPath volumes.
    chmod 1777 "$dir"
    render config/persistent-volume.yaml NAME="$name" DIR="$dir" SIZE="$VOLUME_SIZE" NODE_NAME |
      kubectl_admin apply -f - >/dev/null
  done
}

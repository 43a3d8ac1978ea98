# The control plane as host processes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.
# shellcheck shell=bash

start_etcd() {
  mkdir -p "$DATA_DIR/etcd"
  chmod 700 "$DATA_DIR/etcd"
  # Loopback only and no fsync: a throwaway test cluster's store.
  start_component etcd etcd --name todo-k8s --data-dir "$DATA_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster todo-k8s=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --unsafe-no-fsync --snapshot-count 10000 --log-level warn
  wait_for "etcd health" 60 etcd curl -fsS http://127.0.0.1:2381/health
}

start_kube_apiserver() {
  start_component kube-apiserver kube-apiserver \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address="$NODE_IP" --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,PodSecurity \
    --allow-privileged=true \
    --client-ca-file="$PKI_DIR/ca.crt" \
    --tls-cert-file="$PKI_DIR/kube-apiserver.crt" --tls-private-key-file="$PKI_DIR/kube-apiserver.key" \
    --kubelet-certificate-authority="$PKI_DIR/ca.crt" \
    --kubelet-client-certificate="$PKI_DIR/kube-apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI_DIR/kube-apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI_DIR/sa.pub" \
    --service-account-signing-key-file="$PKI_DIR/sa.key" \
    --requestheader-client-ca-file="$PKI_DIR/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI_DIR/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI_DIR/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false
  wait_for "the API server" 120 kube-apiserver kubectl_admin get --raw=/readyz
}

start_kube_controller_manager() {
  local kubeconfig=$CONF_DIR/kube-controller-manager.kubeconfig
  start_component kube-controller-manager kube-controller-manager \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
    --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --cluster-signing-cert-file="$PKI_DIR/ca.crt" --cluster-signing-key-file="$PKI_DIR/ca.key" \
    --root-ca-file="$PKI_DIR/ca.crt" --service-account-private-key-file="$PKI_DIR/sa.key" \
    --use-service-account-credentials=true \
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --horizontal-pod-autoscaler-sync-period=10s \
    --horizontal-pod-autoscaler-downscale-stabilization=30s \
    --profiling=false
}

start_kube_scheduler() {
  local kubeconfig=$CONF_DIR/kube-scheduler.kubeconfig
  start_component kube-scheduler kube-scheduler \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
    --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

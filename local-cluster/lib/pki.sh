# Certificates (openssl): a cluster CA, a front-proxy CA (aggregation layer); each client's kubeconfig.
# shellcheck shell=bash

issue_cert() {
  local name=$1 subject=$2 ca=$3 usage=$4 sans=${5:-}
  [[ -f $PKI_DIR/$name.crt ]] && return 0
  local ext=$PKI_DIR/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI_DIR/$name.key" -subj "$subject" \
    -out "$PKI_DIR/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/$ca.crt" -CAkey "$PKI_DIR/$ca.key" \
    -CAcreateserial -days 365 -sha256 -extfile "$ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr" "$ext"
}

issue_ca() {
  local name=$1 subject=$2
  [[ -f $PKI_DIR/$name.crt ]] && return 0
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI_DIR/$name.key" -subj "$subject" \
    -days 365 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI_DIR/$name.crt" 2>/dev/null
}

write_kubeconfig() {
  local file=$1 cert=$2
  [[ -f $file ]] && return 0
  render config/kubeconfig.yaml API_URL USER="$cert" \
    CA_DATA="$(base64 -w0 "$PKI_DIR/ca.crt")" \
    CERT_DATA="$(base64 -w0 "$PKI_DIR/$cert.crt")" \
    KEY_DATA="$(base64 -w0 "$PKI_DIR/$cert.key")" >"$file"
  chmod 600 "$file"
}

make_pki() {
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  issue_ca ca "/CN=todo-k8s-ca"
  issue_ca front-proxy-ca "/CN=todo-k8s-front-proxy-ca"
  issue_cert kube-apiserver "/CN=kube-apiserver" ca serverAuth \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$API_SERVICE_IP,IP:$NODE_IP,IP:127.0.0.1"
  issue_cert kube-apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca clientAuth
  issue_cert front-proxy-client "/CN=front-proxy-client" front-proxy-ca clientAuth
  issue_cert admin "/O=system:masters/CN=todo-k8s-admin" ca clientAuth
  issue_cert kube-controller-manager "/CN=system:kube-controller-manager" ca clientAuth
  issue_cert kube-scheduler "/CN=system:kube-scheduler" ca clientAuth
  issue_cert kube-proxy "/CN=system:kube-proxy" ca clientAuth
  issue_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" ca clientAuth
  issue_cert kubelet-serving "/CN=$NODE_NAME" ca serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
  issue_cert kube-router "/CN=system:kube-router" ca clientAuth
  issue_cert metrics-server "/CN=system:metrics-server" ca clientAuth
  issue_cert traefik "/CN=system:traefik" ca clientAuth
  issue_cert metrics-server-serving "/CN=metrics-server" ca serverAuth \
    "DNS:metrics-server.kube-system.svc,IP:$NODE_IP"
  if [[ ! -f $PKI_DIR/sa.key ]]; then
    openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
  fi
  local user
  for user in admin kube-controller-manager kube-scheduler kube-proxy kubelet kube-router metrics-server traefik; do
    write_kubeconfig "$CONF_DIR/$user.kubeconfig" "$user"
  done
  cp "$CONF_DIR/admin.kubeconfig" "$KUBECONFIG_PATH"
}

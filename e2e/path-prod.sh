# The prod path: Pulumi.prod.yaml's settings, with a password-protected registry (PROD_REPOSITORY;
# on the offline cluster its own) standing in for Docker Hub and a TLS Postgres in its own
# namespace for Neon. Sourced by e2e/suite.
# shellcheck shell=bash

PROD_NAMESPACE=todo-prod
PROD_PORT=18080
NEON_NAMESPACE=neon-standin
NEON_HOST=postgres.$NEON_NAMESPACE.svc.cluster.local
NEON_USER=neon
NEON_DATABASE=neondb
INGRESS_HOST=todo.e2e.test
INGRESS_TLS_SECRET=todo-tls

# Postgres with TLS on (a self-signed certificate, as `sslmode=require` does not verify it), and
# the same restricted security context as the app.
start_neon_standin() {
  local password
  password=$(openssl rand -hex 16)
  kubectl create namespace "$NEON_NAMESPACE" >/dev/null || return 1
  # The certificate folder also tells the teardown that this run made the namespace.
  self_signed_tls_secret "$NEON_NAMESPACE" postgres-tls "$NEON_HOST" "$WORK/neon" || return 1
  kubectl -n "$NEON_NAMESPACE" create secret generic postgres-password --from-literal "password=$password" >/dev/null
  kubectl -n "$NEON_NAMESPACE" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: postgres }
spec:
  replicas: 1
  selector: { matchLabels: { app: postgres } }
  template:
    metadata: { labels: { app: postgres } }
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 70
        runAsGroup: 70
        fsGroup: 70
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: postgres
          image: $POSTGRES_IMAGE
          command: [docker-entrypoint.sh]
          args: [-c, ssl=on, -c, ssl_cert_file=/tls/tls.crt, -c, ssl_key_file=/tls/tls.key]
          env:
            - { name: POSTGRES_USER, value: $NEON_USER }
            - { name: POSTGRES_DB, value: $NEON_DATABASE }
            - { name: PGDATA, value: /var/lib/postgresql/data/pgdata }
            - name: POSTGRES_PASSWORD
              valueFrom: { secretKeyRef: { name: postgres-password, key: password } }
          ports: [{ name: postgres, containerPort: 5432 }]
          readinessProbe:
            exec: { command: [pg_isready, -h, 127.0.0.1, -U, $NEON_USER, -d, $NEON_DATABASE] }
            periodSeconds: 2
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }
          volumeMounts:
            - { name: data, mountPath: /var/lib/postgresql/data }
            - { name: run, mountPath: /var/run/postgresql }
            - { name: tls, mountPath: /tls, readOnly: true }
      volumes:
        - { name: data, emptyDir: {} }
        - { name: run, emptyDir: {} }
        # Owned by root, group 70 (fsGroup), no access for others: what Postgres accepts for a key.
        - { name: tls, secret: { secretName: postgres-tls, defaultMode: 0440 } }
---
apiVersion: v1
kind: Service
metadata: { name: postgres }
spec:
  selector: { app: postgres }
  ports: [{ name: postgres, port: 5432, targetPort: postgres }]
EOF
  kubectl -n "$NEON_NAMESPACE" rollout status deployment/postgres --timeout=120s || return 1
  # The form Neon's console hands out: no port, sslmode=require.
  NEON_URL="postgresql://$NEON_USER:$password@$NEON_HOST/$NEON_DATABASE?sslmode=require"
}

# Every connection of the app's database user that came over the network is encrypted.
backend_uses_tls() {
  local counts
  counts=$(kubectl -n "$NEON_NAMESPACE" exec deployment/postgres -- psql -U "$NEON_USER" -d "$NEON_DATABASE" -At -c \
    "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
     WHERE a.usename = '$NEON_USER' AND a.client_addr IS NOT NULL") || return 1
  echo "network connections of $NEON_USER (TLS|all): $counts"
  [[ $counts =~ ^([0-9]+)\|([0-9]+)$ ]] && ((BASH_REMATCH[2] > 0 && BASH_REMATCH[1] == BASH_REMATCH[2]))
}

# Both images: <repository>/todo-<name>:<tag>@sha256:<digest> in the Deployment, and each running
# pod's image ID is that digest.
images_pulled_by_digest() {
  local name image digest ids status=0
  for name in backend frontend; do
    image=$(deployment_image "$PROD_NAMESPACE" "$name")
    echo "$name image: $image"
    [[ $image =~ ^$PROD_REPOSITORY/todo-$name:[^@]+@(sha256:[0-9a-f]{64})$ ]] || {
      status=1
      continue
    }
    digest=${BASH_REMATCH[1]}
    ids=$(kubectl -n "$PROD_NAMESPACE" get pods -l "app.kubernetes.io/component=$name" \
      -o 'jsonpath={range .items[*]}{.status.containerStatuses[0].imageID}{"\n"}{end}' | sort -u)
    echo "$name pods' image IDs: $ids"
    [[ -n $ids && $(grep -cv "@$digest$" <<<"$ids") == 0 ]] || status=1
  done
  return "$status"
}

# The registry refuses the backend's manifest without credentials and serves it with them (basic
# auth on its v2 API; plain http on 127.0.0.1 and localhost, as Docker allows): the node could only
# pull through the pods' image pull Secret.
pull_needs_the_secret() {
  local image registry scheme=https repository digest anonymous authorised secrets
  image=$(deployment_image "$PROD_NAMESPACE" backend)
  registry=${PROD_REPOSITORY%%/*}
  [[ $registry != 127.0.0.1:* && $registry != localhost:* ]] || scheme=http
  repository=${image#"$registry"/}
  repository=${repository%%:*}
  digest=${image##*@}
  anonymous=$(curl -s -o /dev/null -w '%{http_code}' "$scheme://$registry/v2/$repository/manifests/$digest")
  authorised=$(curl -s -o /dev/null -w '%{http_code}' -u "$(<"$PROD_CREDENTIALS")" \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "$scheme://$registry/v2/$repository/manifests/$digest")
  secrets=$(kubectl -n "$PROD_NAMESPACE" get deployment backend -o 'jsonpath={.spec.template.spec.imagePullSecrets[*].name}')
  echo "manifest without credentials: $anonymous, with: $authorised; pods' pull Secrets: ${secrets:-none}"
  [[ $anonymous == 401 && $authorised == 200 && -n $secrets ]] || return 1
  local secret_type
  secret_type=$(kubectl -n "$PROD_NAMESPACE" get secret "$secrets" -o 'jsonpath={.type}')
  echo "Secret $secrets: $secret_type"
  [[ $secret_type == kubernetes.io/dockerconfigjson ]]
}

# The stack's settings for the Ingress, when the target has a controller (INGRESS_ADDRESS).
ingress_settings() {
  [[ -z $INGRESS_ADDRESS ]] ||
    printf '%s\n' "todo:ingressHost=$INGRESS_HOST" "todo:ingressClassName=$INGRESS_CLASS" \
      "todo:ingressTlsSecret=$INGRESS_TLS_SECRET"
}

# The Ingress carries the controller's address; once the TLS Secret it names exists (made here,
# as cert-manager or an operator would), the controller serves the app over https with that
# certificate: curl trusts only it, and reaches the backend through the frontend's /api/ready.
ingress_serves_the_app_over_tls() {
  local dir=$WORK/ingress-tls address host=${INGRESS_ADDRESS%:*} port=${INGRESS_ADDRESS##*:}
  address=$(kubectl -n "$PROD_NAMESPACE" get ingress todo \
    -o 'jsonpath={.spec.ingressClassName} {.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')
  echo "Ingress todo (class, address): $address"
  [[ $address == "$INGRESS_CLASS "?* ]] || return 1
  self_signed_tls_secret "$PROD_NAMESPACE" "$INGRESS_TLS_SECRET" "$INGRESS_HOST" "$dir" || return 1
  local curl_args=(-sS -o /dev/null -w '%{http_code}' --cacert "$dir/tls.crt" --resolve "$INGRESS_HOST:$port:$host")
  eventually 60 curl -f "${curl_args[@]}" "https://$INGRESS_HOST:$port/api/health" >/dev/null || {
    echo "https://$INGRESS_HOST:$port/api/health: no answer with the Secret's certificate within 60 s"
    return 1
  }
  local status
  status=$(curl "${curl_args[@]}" "https://$INGRESS_HOST:$port/api/ready")
  echo "https://$INGRESS_HOST:$port/api/ready (via $INGRESS_ADDRESS, the Secret's certificate): $status"
  [[ $status == 200 ]]
}

frontend_service_is_cluster_ip() {
  local type
  type=$(kubectl -n "$PROD_NAMESPACE" get service frontend -o 'jsonpath={.spec.type}')
  echo "frontend Service: $type"
  [[ $type == ClusterIP ]]
}

# `kubectl rollout undo` puts the image from before the rollout back, and the data written before
# is still served.
rollback_with_kubectl() {
  local image
  kubectl -n "$PROD_NAMESPACE" rollout undo deployment/backend || return 1
  kubectl -n "$PROD_NAMESPACE" rollout status deployment/backend --timeout=180s || return 1
  image=$(deployment_image "$PROD_NAMESPACE" backend)
  echo "backend image after the undo: $image"
  [[ $image == "$ROLLED_FROM" ]] && pods_run_image "$PROD_NAMESPACE" backend "$ROLLED_FROM"
}

backend_replicas() { kubectl -n "$PROD_NAMESPACE" get deployment backend -o 'jsonpath={.spec.replicas}'; }

# Records the highest backend replica count seen in HPA_MAX_SEEN; true once above MIN.
backend_above() {
  local min=$1 replicas
  replicas=$(backend_replicas)
  ((replicas > HPA_MAX_SEEN)) && HPA_MAX_SEEN=$replicas
  ((replicas > min))
}

backend_at() { [[ $(backend_replicas) == "$1" ]]; }

# Bounded CPU load (logins) until the backend's HPA scales above its minimum, then none until it
# is back at the minimum.
hpa_scales_up_and_down() {
  local min started=$SECONDS scaled_up=true
  kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes >/dev/null || {
    echo "the metrics API does not answer: the HPA needs metrics-server (minikube addons enable metrics-server)"
    return 1
  }
  min=$(kubectl -n "$PROD_NAMESPACE" get hpa backend -o 'jsonpath={.spec.minReplicas}')
  HPA_MAX_SEEN=0
  start_load logins load_from_frontend_pod "$PROD_NAMESPACE" cpu 240 4
  eventually 210 backend_above "$min" || scaled_up=false
  stop_load logins || true
  echo "HPA: $(kubectl -n "$PROD_NAMESPACE" get hpa backend --no-headers)"
  echo "scaled to $HPA_MAX_SEEN replicas (minimum $min) after $((SECONDS - started)) s of load"
  $scaled_up || return 1
  started=$SECONDS
  eventually "$HPA_DOWN_SECONDS" backend_at "$min" || {
    echo "still $(backend_replicas) replicas $((SECONDS - started)) s after the load stopped"
    return 1
  }
  echo "back to $min replicas $((SECONDS - started)) s after the load stopped"
}

path_prod() {
  require "its namespaces do not exist yet" namespaces_free "$PROD_NAMESPACE" "$NEON_NAMESPACE"
  # shellcheck disable=SC2034 # read by require (lib.sh)
  E2E_NAMESPACE=$PROD_NAMESPACE
  require "a TLS Postgres stands in for Neon" timed neon-standin start_neon_standin
  local user password ingress
  IFS=: read -r user password <"$PROD_CREDENTIALS"
  mapfile -t ingress < <(ingress_settings)
  init_stack prod "${STACK_SETTINGS[@]}" \
    "todo:namespace=$PROD_NAMESPACE" \
    "todo:imageRepository=$PROD_REPOSITORY" \
    "todo:registryUsername=$user" \
    "todo:registryPassword=secret:$password" \
    "todo:imagePullSecret=true" \
    "todo:databaseUrl=secret:$NEON_URL" \
    "todo:jwtSecret=secret:$(openssl rand -base64 48)" \
    "${ingress[@]}"
  require "pulumi up pushes both images and deploys with the prod settings" timed up pulumi_up
  check "the migration Job completed" migration_job_completed "$PROD_NAMESPACE"
  # The Deployments leave their replica count to the HPAs, which raise it to the minimum of 2 on
  # their first sync after the create.
  check "backend and frontend reach 2 ready replicas (the HPAs' minimum)" \
    eventually 90 deployments_ready "$PROD_NAMESPACE" 2
  check "both images are pulled by digest from the registry" images_pulled_by_digest
  check "the registry refuses anonymous pulls; the pods pull with the image pull Secret" pull_needs_the_secret
  check "the frontend Service is ClusterIP" frontend_service_is_cluster_ip
  if [[ -n $INGRESS_ADDRESS ]]; then
    check "the Ingress serves the app over https with its TLS Secret" ingress_serves_the_app_over_tls
  fi
  check "the backend reaches the external database over TLS (sslmode=require)" backend_uses_tls
  require "the frontend answers through a port-forward on 127.0.0.1" start_port_forward "$PROD_NAMESPACE" "$PROD_PORT"
  require "sign up, add a todo and list it" \
    node "$E2E_DIR/app-check.mjs" "http://127.0.0.1:$PROD_PORT" --save "$WORK/prod-account.json"
  check "a second pulumi up changes nothing" timed second-up up_changes_nothing
  rollout_under_load "$PROD_NAMESPACE" "http://127.0.0.1:$PROD_PORT" ""
  check "kubectl rollout undo restores the previous backend image" timed rollback rollback_with_kubectl
  check "the data written before is still served after the undo" \
    node "$E2E_DIR/app-check.mjs" "http://127.0.0.1:$PROD_PORT" --verify "$WORK/prod-account.json"
  stop_port_forward
  check "under CPU load the backend scales above its minimum, and back after" timed hpa hpa_scales_up_and_down
}

teardown_prod() {
  stop_port_forward
  if pulumi stack select prod >/dev/null 2>&1; then
    teardown_stack "$PROD_NAMESPACE"
  fi
  # Only a stand-in this run made (its certificate folder tells).
  if [[ -d $WORK/neon ]]; then
    kubectl delete namespace "$NEON_NAMESPACE" --ignore-not-found --wait=false >/dev/null
  fi
}

# The dev path: the dev stack as checked in (local images, in-cluster Postgres, NodePort), plus
# the base images this machine needs. Sourced by e2e/suite.
# shellcheck shell=bash

DEV_NAMESPACE=todo-dev
DEV_NODE_PORT=30000

# type::name of every resource the dev stack creates on its first preview.
DEV_EXPECTED_CREATES=(
  docker-build:index:Image::backend docker-build:index:Image::frontend
  kubernetes:core/v1:Namespace::namespace
  kubernetes:core/v1:Secret::postgres-credentials kubernetes:core/v1:Service::postgres
  kubernetes:apps/v1:StatefulSet::postgres
  kubernetes:core/v1:ServiceAccount::service-account kubernetes:core/v1:ConfigMap::config
  kubernetes:core/v1:Secret::secrets kubernetes:batch/v1:Job::migrate
  kubernetes:apps/v1:Deployment::backend kubernetes:apps/v1:Deployment::frontend
  kubernetes:core/v1:Service::backend kubernetes:core/v1:Service::frontend
  kubernetes:autoscaling/v2:HorizontalPodAutoscaler::backend
  kubernetes:autoscaling/v2:HorizontalPodAutoscaler::frontend
  kubernetes:policy/v1:PodDisruptionBudget::backend kubernetes:policy/v1:PodDisruptionBudget::frontend
  kubernetes:networking.k8s.io/v1:NetworkPolicy::default-deny
  kubernetes:networking.k8s.io/v1:NetworkPolicy::allow-dns
  kubernetes:networking.k8s.io/v1:NetworkPolicy::frontend
  kubernetes:networking.k8s.io/v1:NetworkPolicy::backend
  kubernetes:networking.k8s.io/v1:NetworkPolicy::postgres
  pulumi-nodejs:dynamic/todo:GeneratedSecret::jwt-secret
  pulumi-nodejs:dynamic/todo:GeneratedSecret::postgres-password
)

dev_preview_lists_expected_creates() {
  local creates missing=0 expected
  # type::name of every planned create; URNs read urn:pulumi:STACK::PROJECT::PARENT$...$TYPE::NAME.
  # shellcheck disable=SC2016 # JavaScript, expanded by node
  creates=$(preview_json | node -e '
    const steps = JSON.parse(require("fs").readFileSync(0, "utf8")).steps ?? [];
    for (const s of steps.filter((s) => s.op === "create")) {
      const [, , typePath, name] = s.urn.split("::");
      console.log(`${typePath.split("$").pop()}::${name}`);
    }
  ') || return 1
  echo "preview creates $(wc -l <<<"$creates") resources"
  for expected in "${DEV_EXPECTED_CREATES[@]}"; do
    grep -qxF -- "$expected" <<<"$creates" || {
      echo "  missing from the preview: $expected"
      missing=1
    }
  done
  return "$missing"
}

# From a frontend pod (the NetworkPolicies let only the frontend reach the backend), by the
# backend Service's cluster DNS name.
backend_ready_in_cluster() {
  local namespace=$1
  # shellcheck disable=SC2016 # JavaScript, run in the pod
  kubectl -n "$namespace" exec deployment/frontend -- node -e '
    fetch(`http://backend.${process.argv[1]}.svc.cluster.local:8000/ready`)
      .then(async (r) => { console.log(`backend /ready: ${r.status} ${await r.text()}`); process.exit(r.status === 200 ? 0 : 1); })
      .catch((e) => { console.error(e); process.exit(1); });
  ' "$namespace"
}

namespace_enforces_restricted() {
  [[ $(kubectl get namespace "$1" -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}') == restricted ]]
}

# Each running pod's main process, as the kernel sees it.
pods_run_as_non_root() {
  local namespace=$1 pod uid status=0
  for pod in $(kubectl -n "$namespace" get pods --field-selector=status.phase=Running -o 'jsonpath={.items[*].metadata.name}'); do
    uid=$(kubectl -n "$namespace" exec "$pod" -- cat /proc/1/status | awk '/^Uid:/ { print $2 }')
    echo "pod $pod: uid $uid"
    [[ $uid =~ ^[0-9]+$ && $uid != 0 ]] || status=1
  done
  return "$status"
}

path_dev() {
  require "its namespaces do not exist yet" namespaces_free "$DEV_NAMESPACE"
  # shellcheck disable=SC2034 # read by require (lib.sh)
  E2E_NAMESPACE=$DEV_NAMESPACE
  init_stack dev "${STACK_SETTINGS[@]}" "todo:postgresImage=$POSTGRES_IMAGE" "todo:namespace=$DEV_NAMESPACE"
  require "pulumi preview lists the expected creates" timed preview dev_preview_lists_expected_creates
  require "pulumi up builds both images into the local Docker, loaded into the node" \
    timed build-images build_and_load_images
  require "pulumi up deploys everything, Deployments ready" timed up pulumi_up
  check "the migration Job completed" migration_job_completed "$DEV_NAMESPACE"
  check "both Deployments have ready pods" deployments_ready "$DEV_NAMESPACE" 1
  check "the images are the local builds, not pushed anywhere" dev_images_are_local
  check "sign up, add a todo and list it through the NodePort" \
    node "$E2E_DIR/app-check.mjs" "http://$NODE_ADDRESS:$DEV_NODE_PORT"
  check "the backend's /ready answers 200 inside the cluster" backend_ready_in_cluster "$DEV_NAMESPACE"
  check "the namespace enforces PSA restricted" namespace_enforces_restricted "$DEV_NAMESPACE"
  check "every pod runs as non-root" pods_run_as_non_root "$DEV_NAMESPACE"
  check "a second pulumi up changes nothing" timed second-up up_changes_nothing
}

# Dev images are named by content (todo-backend:<hash>), with no registry and no digest.
dev_images_are_local() {
  local name image status=0
  for name in backend frontend; do
    image=$(deployment_image "$DEV_NAMESPACE" "$name")
    echo "$name image: $image"
    [[ $image =~ ^todo-$name:[0-9a-f]{12}$ ]] || status=1
  done
  return "$status"
}

teardown_dev() {
  pulumi stack select dev >/dev/null 2>&1 || return 0
  teardown_stack "$DEV_NAMESPACE"
}

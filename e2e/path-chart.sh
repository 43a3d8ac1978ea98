# The chart path: the dev stack with `todo:deployMethod chart`, so the app is the Helm release
# `todo` of helm/todo-app, installed by Pulumi and checked with the helm CLI. Sourced by e2e/suite.
# shellcheck shell=bash

CHART_NAMESPACE=todo-chart
CHART_NODE_PORT=30001
RELEASE=todo

# The release's history, one line per revision: "revision status description".
release_history() {
  # shellcheck disable=SC2016 # JavaScript, expanded by node
  helm history "$RELEASE" -n "$CHART_NAMESPACE" -o json | node -e '
    for (const r of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(`${r.revision} ${r.status} ${r.description}`);
  '
}

# The history has REVISIONS revisions and the last one is deployed.
history_shows() {
  local revisions=$1 history
  history=$(release_history) || return 1
  echo "helm history $RELEASE:"
  awk '{ print "  " $0 }' <<<"$history"
  [[ $(wc -l <<<"$history") == "$revisions" && $(tail -n 1 <<<"$history") == "$revisions deployed "* ]]
}

# `helm rollback` to the first revision puts the image from before the rollout back.
rollback_with_helm() {
  helm rollback "$RELEASE" 1 -n "$CHART_NAMESPACE" --wait --timeout 180s || return 1
  kubectl -n "$CHART_NAMESPACE" rollout status deployment/backend --timeout=180s || return 1
  local image
  image=$(deployment_image "$CHART_NAMESPACE" backend)
  echo "backend image after the rollback: $image"
  [[ $image == "$ROLLED_FROM" ]] && pods_run_image "$CHART_NAMESPACE" backend "$ROLLED_FROM" &&
    history_shows 3 && [[ $(release_history | tail -n 1) == *"Rollback to 1"* ]]
}

release_gone() {
  local releases
  releases=$(helm list -A -q --filter "^$RELEASE\$" -a)
  echo "releases named $RELEASE: ${releases:-none}"
  [[ -z $releases ]]
}

path_chart() {
  require "its namespaces do not exist yet" namespaces_free "$CHART_NAMESPACE"
  # shellcheck disable=SC2034 # read by require (lib.sh)
  E2E_NAMESPACE=$CHART_NAMESPACE
  init_stack chart "${STACK_SETTINGS[@]}" "todo:postgresImage=$POSTGRES_IMAGE" \
    "todo:deployMethod=chart" "todo:namespace=$CHART_NAMESPACE" "todo:frontendNodePort=$CHART_NODE_PORT"
  require "pulumi up builds both images into the local Docker, loaded into the node" \
    timed build-images build_and_load_images
  require "pulumi up installs the chart, Deployments ready" timed up pulumi_up
  check "both Deployments have ready pods" deployments_ready "$CHART_NAMESPACE" 1
  check "helm test passes" timed helm-test helm test "$RELEASE" -n "$CHART_NAMESPACE" --timeout 180s
  check "helm history shows the release, revision 1 deployed" history_shows 1
  require "sign up, add a todo and list it through the NodePort" \
    node "$E2E_DIR/app-check.mjs" "http://$NODE_ADDRESS:$CHART_NODE_PORT" --save "$WORK/chart-account.json"
  check "a second pulumi up changes nothing" timed second-up up_changes_nothing
  rollout_under_load "$CHART_NAMESPACE" "http://$NODE_ADDRESS:$CHART_NODE_PORT" build_and_load_images
  check "the rollout is revision 2 of the release" history_shows 2
  check "helm rollback restores the previous backend image" timed rollback rollback_with_helm
  check "the data written before is still served after the rollback" \
    node "$E2E_DIR/app-check.mjs" "http://$NODE_ADDRESS:$CHART_NODE_PORT" --verify "$WORK/chart-account.json"
}

teardown_chart() {
  pulumi stack select chart >/dev/null 2>&1 || return 0
  teardown_stack "$CHART_NAMESPACE"
  check "no Helm release is left" release_gone
}

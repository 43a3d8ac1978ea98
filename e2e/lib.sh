# Helpers of the end-to-end suite (e2e/suite), sourced by it and by the path files.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# Results: one line per check in $RESULTS ("ok|FAILED<TAB>path<TAB>name"), so that paths can run
# in subshells (a failed `require` ends only its own path) and still be counted at the end.

check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok: [$E2E_PATH] $name"
    printf 'ok\t%s\t%s\n' "$E2E_PATH" "$name" >>"$RESULTS"
  else
    echo "FAILED: [$E2E_PATH] $name"
    printf 'FAILED\t%s\t%s\n' "$E2E_PATH" "$name" >>"$RESULTS"
    return 1
  fi
}

# The rest of the path makes no sense once this fails: end the path (its subshell), with what
# the path's namespace holds (E2E_NAMESPACE) to tell why.
require() {
  check "$@" || {
    echo "[$E2E_PATH] stopped early: the steps after this one need it"
    if [[ -n ${E2E_NAMESPACE:-} ]]; then
      kubectl -n "$E2E_NAMESPACE" get pods,deployments,jobs -o wide 2>&1 || true
      kubectl -n "$E2E_NAMESPACE" get events --sort-by=.lastTimestamp 2>&1 | tail -n 30 || true
    fi
    exit 1
  }
}

# Runs a command and records how long it took ("time: path label seconds") in $TIMES.
timed() {
  local label=$1 started=$SECONDS status=0
  shift
  "$@" || status=$?
  echo "time: [$E2E_PATH] $label $((SECONDS - started)) s"
  printf '%s\t%s\t%s\n' "$E2E_PATH" "$label" "$((SECONDS - started))" >>"$TIMES"
  return "$status"
}

# Polls COMMAND until it succeeds, for at most SECONDS.
eventually() {
  local seconds=$1 deadline
  shift
  deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

# ---------------------------------------------------------------------------------------------
# Pulumi.

# Starts stack STACK of the project copy with KEY=VALUE settings (values starting with "secret:"
# are set with --secret).
init_stack() {
  local stack=$1 setting key value
  shift
  pulumi stack init "$stack" --non-interactive >/dev/null
  for setting in "$@"; do
    key=${setting%%=*}
    value=${setting#*=}
    if [[ $value == secret:* ]]; then
      pulumi config set --secret "$key" "${value#secret:}"
    else
      pulumi config set "$key" "$value"
    fi
  done
}

pulumi_up() { timeout "$UP_TIMEOUT" pulumi up --yes --non-interactive --skip-preview "$@"; }

# A second `up` of an unchanged program: --expect-no-changes fails the update on any change.
up_changes_nothing() { pulumi_up --expect-no-changes; }

# The path's first `pulumi preview --json`, kept for the path: the URNs it names stay the same
# through code changes.
preview_json() {
  local file=$WORK/preview-$E2E_PATH.json
  if [[ ! -s $file ]]; then
    pulumi preview --non-interactive --json >"$file" || {
      rm -f "$file"
      return 1
    }
  fi
  cat "$file"
}

# URNs of the stack's image resources (and their component).
image_urns() {
  preview_json | node -e '
    const steps = JSON.parse(require("fs").readFileSync(0, "utf8")).steps ?? [];
    for (const s of steps) {
      if (s.urn.endsWith("::images") || s.urn.includes("docker-build:index:Image::")) console.log(s.urn);
    }
  '
}

# Stacks that build into the local Docker (`load: true`): the images are built first (a targeted
# up) and handed to load_images (e2e/suite), which gets them onto the node where they are not
# there already (the offline cluster's containerd imports them; Minikube's Docker has them).
build_and_load_images() {
  local targets=() urn images
  while read -r urn; do targets+=(--target "$urn"); done < <(image_urns)
  ((${#targets[@]} > 0)) || return 1
  pulumi_up "${targets[@]}" || return 1
  mapfile -t images < <(state_resources | awk '$1 == "docker-build:index:Image" { for (i = 2; i <= NF; i++) print $i }')
  ((${#images[@]} == 2)) || return 1
  load_images "${images[@]}"
}

# The resources the stack's state holds, one line each: the type, then its image tags if any.
state_resources() {
  pulumi stack export | node -e '
    const state = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of state.deployment.resources ?? []) console.log([r.type, ...(r.outputs?.tags ?? [])].join(" "));
  '
}

# A code change in the backend: one more line in its package's sources, so its content tag and
# image change and nothing else does.
change_backend_code() {
  echo "# e2e: $1" >>"$PROJECT/apps/backend/src/todo_api/__init__.py"
}

# ---------------------------------------------------------------------------------------------
# Kubernetes.

migration_job_completed() {
  local namespace=$1 job
  job=$(pulumi stack output migrationJob)
  echo "migration Job $job: $(kubectl -n "$namespace" get job "$job" -o 'jsonpath={.status.succeeded}') succeeded"
  [[ $(kubectl -n "$namespace" get job "$job" -o 'jsonpath={.status.conditions[?(@.type=="Complete")].status}') == True ]]
}

# Every Deployment has MIN ready replicas or more, none unavailable.
deployments_ready() {
  local namespace=$1 min=$2 name ready
  for name in backend frontend; do
    ready=$(kubectl -n "$namespace" get deployment "$name" -o 'jsonpath={.status.readyReplicas}')
    echo "deployment $name: ${ready:-0} ready"
    ((${ready:-0} >= min)) || return 1
  done
}

# The image of a Deployment's first container.
deployment_image() { kubectl -n "$1" get deployment "$2" -o 'jsonpath={.spec.template.spec.containers[0].image}'; }

# Every pod of COMPONENT that is not shutting down runs IMAGE, and is ready.
pods_run_image() {
  local namespace=$1 component=$2 image=$3
  # shellcheck disable=SC2016 # JavaScript, expanded by node
  kubectl -n "$namespace" get pods -l "app.kubernetes.io/component=$component" -o json | node -e '
    const [image, component] = process.argv.slice(1);
    const pods = JSON.parse(require("fs").readFileSync(0, "utf8")).items.filter((p) => !p.metadata.deletionTimestamp);
    let ok = pods.length > 0;
    for (const pod of pods) {
      const ready = (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
      console.log(`${component} pod ${pod.metadata.name}: ${pod.spec.containers[0].image}${ready ? "" : " (not ready)"}`);
      ok &&= ready && pod.spec.containers[0].image === image;
    }
    process.exit(ok ? 0 : 1);
  ' "$image" "$component"
}

no_volume_bound() {
  local namespace=$1 bound
  bound=$(kubectl get pv -o "jsonpath={range .items[?(@.spec.claimRef.namespace == \"$namespace\")]}{.metadata.name} {.status.phase}{\"\\n\"}{end}" | grep -c ' Bound$' || true)
  echo "volumes still bound to claims of $namespace: $bound"
  ((bound == 0))
}

# A TLS Secret NAME in NAMESPACE holding a self-signed certificate for HOST, whose files
# (tls.crt, tls.key) stay in DIR for clients to trust.
self_signed_tls_secret() {
  local namespace=$1 name=$2 host=$3 dir=$4
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$host" \
    -addext "subjectAltName=DNS:$host" -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null || return 1
  kubectl -n "$namespace" create secret tls "$name" --cert "$dir/tls.crt" --key "$dir/tls.key" >/dev/null
}

# The suite deploys into namespaces of its own; one that already exists (an earlier run that
# was killed, or someone's own app) would be adopted by `pulumi up` and deleted by the teardown.
namespaces_free() {
  local namespace taken=0
  for namespace in "$@"; do
    if kubectl get namespace "$namespace" >/dev/null 2>&1; then
      echo "namespace $namespace already exists in this cluster: delete it (kubectl delete namespace $namespace) or run the suite on a fresh cluster (e2e/cluster down)"
      taken=1
    fi
  done
  ((taken == 0))
}

namespace_gone() {
  local namespace=$1
  eventually 180 bash -c "! kubectl get namespace '$namespace' >/dev/null 2>&1"
}

# `pulumi destroy` and what it must leave: no namespace, no claimed volume, an empty state.
teardown_stack() {
  local namespace=$1 count
  check "pulumi destroy succeeds" timed destroy \
    timeout "$UP_TIMEOUT" pulumi destroy --yes --non-interactive --skip-preview
  check "the namespace $namespace is gone, with everything in it" namespace_gone "$namespace"
  check "no volume stays bound to the namespace's claims" no_volume_bound "$namespace"
  count=$(state_resources | wc -l) || count="unknown (pulumi stack export failed)"
  echo "resources left in the stack's state: $count"
  check "the stack's state holds no resource" test "$count" -eq 0
  pulumi stack rm --yes --non-interactive >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Bounded loads (e2e/load.cjs), several at once if need be, each under a NAME. One runs until
# stop_load closes its stdin, or its MAX_SECONDS at most.
declare -A LOAD_PIDS LOAD_STOP_FDS

# start_load NAME COMMAND...: COMMAND runs e2e/load.cjs, its JSON summary goes to the NAME file.
start_load() {
  local name=$1 stop_fifo=$WORK/load-$E2E_PATH-$1.stop fd
  shift
  rm -f "$stop_fifo"
  mkfifo "$stop_fifo"
  # The stop FIFOs of the other loads stay out of this one: their writers must be ours alone.
  (
    for fd in "${LOAD_STOP_FDS[@]}"; do eval "exec $fd>&-"; done
    "$@"
  ) <"$stop_fifo" >"$WORK/load-$E2E_PATH-$name.json" 2>"$WORK/load-$E2E_PATH-$name.log" &
  LOAD_PIDS[$name]=$!
  exec {fd}>"$stop_fifo"
  LOAD_STOP_FDS[$name]=$fd
}

# The backend modes of load.cjs, in a frontend pod of NAMESPACE.
load_from_frontend_pod() {
  local namespace=$1 mode=$2 max_seconds=$3 workers=$4
  kubectl -n "$namespace" exec -i deployment/frontend -- \
    node -e "$(<"$E2E_DIR/load.cjs")" "$mode" "$max_seconds" "$workers"
}

# Stops load NAME and prints its summary; fails when the load itself could not run.
stop_load() {
  local name=$1 status=0
  eval "exec ${LOAD_STOP_FDS[$name]}>&-"
  wait "${LOAD_PIDS[$name]}" || status=$?
  cat "$WORK/load-$E2E_PATH-$name.log" >&2
  echo "load $name: $(<"$WORK/load-$E2E_PATH-$name.json")"
  return "$status"
}

# Field FIELD of load NAME's summary.
load_summary() {
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]])' \
    "$WORK/load-$E2E_PATH-$1.json" "$2"
}

# Both the content tag and, for pushed images (tag@digest), the digest differ.
image_changed() {
  local old=$1 new=$2 old_tag new_tag
  old_tag=${old%%@*}
  new_tag=${new%%@*}
  [[ $old_tag != "$new_tag" ]] || return 1
  [[ $old != *@* ]] || [[ ${old##*@} != "${new##*@}" ]]
}

# Load NAME made requests, and none of them failed.
no_failed_requests() {
  local name=$1 requests failed
  requests=$(load_summary "$name" requests)
  failed=$(load_summary "$name" failed)
  echo "$name requests during the rollout: $requests, failed: $failed"
  ((requests > 0 && failed == 0))
}

# ---------------------------------------------------------------------------------------------
# Rollout of a backend code change with two bounded loads running through it: reads on the
# backend Service from a frontend pod, and the frontend's /api/ready from here (FRONTEND_URL),
# which goes through the frontend's own backend client. BEFORE_UP runs after the change and
# before the loads (the local-image stacks build and load there).
rollout_under_load() {
  local namespace=$1 frontend_url=$2 before_up=$3 old_image new_image
  old_image=$(deployment_image "$namespace" backend)
  change_backend_code "rollout on the $E2E_PATH path"
  if [[ -n $before_up ]]; then
    require "the changed backend builds into a new image" timed rebuild "$before_up"
  fi
  start_load backend-reads load_from_frontend_pod "$namespace" read 900 4
  start_load frontend-ready node "$E2E_DIR/load.cjs" ready 900 2 "$frontend_url"
  local up_status=0 rollout_status=0
  timed rollout pulumi_up || up_status=$?
  # Pulumi's Deployment await can report success while old pods still run (the HPA resizing the
  # Deployment mid-rollout is one way): the loads run on until the Deployment says it is done.
  echo "backend pods when pulumi up returned:"
  kubectl -n "$namespace" get pods -l app.kubernetes.io/component=backend --no-headers 2>&1 | awk '{ print "  " $0 }'
  kubectl -n "$namespace" rollout status deployment/backend --timeout=180s || rollout_status=$?
  stop_load backend-reads || true
  stop_load frontend-ready || true
  require "pulumi up rolls the changed backend out" test "$up_status" -eq 0
  check "the rolling update completes" test "$rollout_status" -eq 0
  new_image=$(deployment_image "$namespace" backend)
  echo "backend image: $old_image -> $new_image"
  # The rollback steps of the path files restore this one.
  # shellcheck disable=SC2034
  ROLLED_FROM=$old_image
  check "the code change gives the backend a new image (content tag, and digest where pushed)" \
    image_changed "$old_image" "$new_image"
  check "every backend pod runs the new image" pods_run_image "$namespace" backend "$new_image"
  check "zero failed requests on the backend Service during the rolling update" \
    no_failed_requests backend-reads
  check "zero failed requests through the frontend during the rolling update" \
    no_failed_requests frontend-ready
}

# ---------------------------------------------------------------------------------------------
# Through a port-forward to the frontend Service on 127.0.0.1 (ClusterIP stacks). Its pid is
# kept in a file: the path's teardown runs in another subshell.
start_port_forward() {
  local namespace=$1 port=$2
  kubectl -n "$namespace" port-forward --address 127.0.0.1 service/frontend "$port:http" \
    >"$WORK/port-forward-$E2E_PATH.log" 2>&1 &
  echo $! >"$WORK/port-forward-$E2E_PATH.pid"
  eventually 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/api/health"
}

stop_port_forward() {
  local pid_file=$WORK/port-forward-$E2E_PATH.pid
  [[ -f $pid_file ]] || return 0
  kill "$(<"$pid_file")" 2>/dev/null || true
  rm -f "$pid_file"
}

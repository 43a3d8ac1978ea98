{{/*
Labels every object carries. Call with (dict "root" $ "component" "backend").
*/}}
{{- define "todo-app.labels" -}}
{{ include "todo-app.stableLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | quote }}
{{- end }}

{{/*
Labels that never change with the chart's version. Call with (dict "root" $ "component" "backend").
*/}}
{{- define "todo-app.stableLabels" -}}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/*
Labels that select one component's pods. Call with (dict "root" $ "component" "backend").
*/}}
{{- define "todo-app.selectorLabels" -}}
{{ include "todo-app.appLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels shared by every pod of the release, whatever its component.
*/}}
{{- define "todo-app.appLabels" -}}
app.kubernetes.io/name: todo-app
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Image reference from {repository, tag, digest}: repo@digest, repo:tag@digest or repo:tag,
the tag defaulting to the chart's appVersion. Call with (dict "image" .Values.x.image "root" $).
*/}}
{{- define "todo-app.image" -}}
{{- $image := .image -}}
{{- if $image.digest -}}
{{- if $image.tag -}}
{{ printf "%s:%s@%s" $image.repository $image.tag $image.digest }}
{{- else -}}
{{ printf "%s@%s" $image.repository $image.digest }}
{{- end -}}
{{- else -}}
{{ printf "%s:%s" $image.repository (default .root.Chart.AppVersion $image.tag) }}
{{- end -}}
{{- end }}

{{- define "todo-app.backendImage" -}}
{{ include "todo-app.image" (dict "image" .Values.backend.image "root" .) }}
{{- end }}

{{- define "todo-app.frontendImage" -}}
{{ include "todo-app.image" (dict "image" .Values.frontend.image "root" .) }}
{{- end }}

{{- define "todo-app.testImage" -}}
{{- if .Values.tests.image.repository -}}
{{ include "todo-app.image" (dict "image" .Values.tests.image "root" .) }}
{{- else -}}
{{ include "todo-app.backendImage" . }}
{{- end -}}
{{- end }}

{{/*
Name of the migration Job: it changes with the backend image, as in the native deploy path.
*/}}
{{- define "todo-app.migrationJobName" -}}
{{ printf "migrate-%s" (include "todo-app.backendImage" . | sha256sum | trunc 10) }}
{{- end }}

{{/*
Secret the backend reads DATABASE_URL and JWT_SECRET from.
*/}}
{{- define "todo-app.secretName" -}}
{{ default "todo-secrets" .Values.secrets.existingSecret }}
{{- end }}

{{/*
Hook events of the migration Job (see README, "Database migrations"). With an external
database everything the Job needs exists before the release, so it runs before install;
an in-cluster PostgreSQL only exists once the release is installed.
*/}}
{{- define "todo-app.migrationHook" -}}
{{- if .Values.database.inCluster.enabled -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end }}

{{/*
Secret the migration Job reads: the existing Secret, or a hook-scoped copy rendered from the
values of this very upgrade (todo-secrets itself still holds the previous values at
pre-upgrade time, and does not exist yet at pre-install time).
*/}}
{{- define "todo-app.migrationSecretName" -}}
{{ default "todo-migrate-secrets" .Values.secrets.existingSecret }}
{{- end }}

{{/*
Fully qualified DNS name of a Service of the release.
*/}}
{{- define "todo-app.serviceHost" -}}
{{ printf "%s.%s.svc.cluster.local" .name .root.Release.Namespace }}
{{- end }}

{{/*
Data of the ConfigMap todo-config (never a secret in it).
*/}}
{{- define "todo-app.configData" -}}
BACKEND_URL: {{ printf "http://%s:%d" (include "todo-app.serviceHost" (dict "name" "backend" "root" .)) (int .Values.backend.port) | quote }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
API_DOCS: {{ .Values.config.apiDocs | toString | quote }}
CORS_ORIGINS: {{ join "," .Values.config.corsOrigins | quote }}
WEB_CONCURRENCY: {{ .Values.config.webConcurrency | toString | quote }}
JWT_EXPIRE_MINUTES: {{ .Values.config.jwtExpireMinutes | toString | quote }}
DB_POOL_SIZE: {{ .Values.config.dbPoolSize | toString | quote }}
{{- end }}

{{/*
The backend's settings given as container variables rather than todo-config keys: scanners read
a ConfigMap key that names a password as a stored credential (Trivy KSV-0109), though this one is
a thread count.
*/}}
{{- define "todo-app.backendSettingsEnv" -}}
- name: PASSWORD_HASH_CONCURRENCY
  value: {{ .Values.config.passwordHashConcurrency | toString | quote }}
{{- end }}

{{/*
The http port (and the metrics port, where the workload has one of its own) and the startup,
liveness and readiness probes of a workload's container, from its values. Call with the
workload's values, e.g. .Values.backend.
*/}}
{{- define "todo-app.servingFacts" -}}
ports:
  - name: http
    containerPort: {{ .port }}
    protocol: TCP
{{- with .metricsPort }}
  - name: metrics
    containerPort: {{ . }}
    protocol: TCP
{{- end }}
{{- range $kind, $probe := .probes }}
{{ $kind }}Probe:
  httpGet:
    path: {{ $probe.path }}
    port: http
  {{- toYaml (omit $probe "path") | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Annotations that roll a workload's pods when todo-config or the app's Secret changes.
*/}}
{{- define "todo-app.checksumAnnotations" -}}
checksum/config: {{ include "todo-app.configData" . | sha256sum }}
checksum/secrets: {{ include "todo-app.secretsChecksum" . }}
{{- end }}

{{/*
A hash of the app Secret's values. For an existing Secret: secrets.checksum when given (the
Pulumi program passes the one its native path uses), else what the cluster holds at install or
upgrade time. For the chart's own Secret: the values it is made from (generated values are
read back on upgrade, so they never change it).
*/}}
{{- define "todo-app.secretsChecksum" -}}
{{- $secrets := .Values.secrets -}}
{{- if $secrets.existingSecret -}}
{{- $secrets.checksum | default ((lookup "v1" "Secret" .Release.Namespace $secrets.existingSecret).data | toJson | sha256sum) -}}
{{- else -}}
{{- list $secrets.databaseUrl $secrets.jwtSecret .Values.database.inCluster.password | toJson | sha256sum -}}
{{- end -}}
{{- end }}

{{/*
Spreads a workload's replicas over nodes and zones where there are several; ScheduleAnyway lets
a single-node cluster schedule them all. Call with (dict "root" $ "component" "backend").
*/}}
{{- define "todo-app.topologySpread" -}}
topologySpreadConstraints:
{{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "todo-app.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
    # Each ReplicaSet spreads on its own, so a rollout's new pods spread too.
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}

{{/*
Pod-level security context of the app's pods (Pod Security Standard "restricted").
*/}}
{{- define "todo-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container-level security context of the app's containers.
*/}}
{{- define "todo-app.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/*
imagePullSecrets of a pod spec, or nothing. Use as:
{{- with include "todo-app.imagePullSecrets" . }}{{ . | nindent 6 }}{{ end }}
*/}}
{{- define "todo-app.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end }}

{{/*
DATABASE_URL and JWT_SECRET by key reference. Call with the Secret's name.
*/}}
{{- define "todo-app.secretEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: DATABASE_URL
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: JWT_SECRET
{{- end }}

{{/*
FORWARDED_ADDRESS_SECRET, shared by the backend and the frontend (not the migration Job).
Call with the Secret's name.
*/}}
{{- define "todo-app.forwardedAddressEnv" -}}
- name: FORWARDED_ADDRESS_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: FORWARDED_ADDRESS_SECRET
{{- end }}

{{/*
Refuses values that the schema cannot express.
*/}}
{{- define "todo-app.validate" -}}
{{- range $component := list "frontend" "backend" }}
{{- $scaling := get (get $.Values $component) "autoscaling" }}
{{- if gt (int $scaling.minReplicas) (int $scaling.maxReplicas) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) must not be above %s.autoscaling.maxReplicas (%d)" $component (int $scaling.minReplicas) $component (int $scaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- range $path, $image := dict "frontend.image" .Values.frontend.image "backend.image" .Values.backend.image "database.inCluster.image" .Values.database.inCluster.image "tests.image" .Values.tests.image }}
{{- if eq $image.tag "latest" }}
{{- fail (printf "%s.tag must not be \"latest\": deploy a content tag or a digest, so that a release always runs the image it names" $path) }}
{{- end }}
{{- end }}
{{- $secrets := .Values.secrets }}
{{- if $secrets.existingSecret }}
{{- if or $secrets.jwtSecret $secrets.databaseUrl }}
{{- fail "secrets.existingSecret is set: leave secrets.jwtSecret and secrets.databaseUrl empty (the existing Secret provides DATABASE_URL, JWT_SECRET and FORWARDED_ADDRESS_SECRET)" }}
{{- end }}
{{- else }}
{{- if and $secrets.jwtSecret (lt (len $secrets.jwtSecret) 32) }}
{{- fail "secrets.jwtSecret must be at least 32 characters long (the backend refuses shorter ones)" }}
{{- end }}
{{- if .Values.database.inCluster.enabled }}
{{- if $secrets.databaseUrl }}
{{- fail "secrets.databaseUrl must stay empty with database.inCluster.enabled=true (the chart builds the URL of its own PostgreSQL); set database.inCluster.enabled=false to use an external database" }}
{{- end }}
{{- else if not (and $secrets.databaseUrl $secrets.jwtSecret) }}
{{- fail "an external database (database.inCluster.enabled=false) needs its credentials: set secrets.existingSecret to a Secret holding DATABASE_URL, JWT_SECRET and FORWARDED_ADDRESS_SECRET, or set both secrets.databaseUrl and secrets.jwtSecret" }}
{{- end }}
{{- end }}
{{- if and $secrets.existingSecret .Values.database.inCluster.enabled (not .Values.database.inCluster.password) }}
{{- fail "secrets.existingSecret with the in-cluster database: set database.inCluster.password to the password inside that Secret's DATABASE_URL" }}
{{- end }}
{{- end }}

{{/*
The ingress rule that lets Prometheus's pods reach a metrics port (with monitoring). Call with
(dict "prometheus" .Values.monitoring.prometheus "port" .Values.backend.port).
*/}}
{{- define "todo-app.scrapeIngress" -}}
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .prometheus.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .prometheus.podLabels | nindent 10 }}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end }}

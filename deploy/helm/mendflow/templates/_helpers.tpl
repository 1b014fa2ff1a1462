{{/*
The prefix of every object's name: the release's name, with "-mendflow"
after it unless it already says mendflow.
*/}}
{{- define "mendflow.fullname" -}}
{{- if contains "mendflow" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mendflow" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
The labels of every object. Pods are found by app.kubernetes.io/name (ingest,
worker, poller, nats, mendsim) and the release, as in deploy/k8s; all of them
by app.kubernetes.io/part-of=mendflow.
Call with (dict "root" $ "name" "ingest").
*/}}
{{- define "mendflow.labels" -}}
{{ include "mendflow.selectorLabels" . }}
app.kubernetes.io/part-of: mendflow
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "mendflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/*
An image's reference: registry, repository and tag, the component's tag
winning over image.tag. Call with (dict "root" $ "image" .Values.ingest.image).
*/}}
{{- define "mendflow.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Values.image.tag -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
A scalar value as text (an environment variable's, a size in nats.conf).
Helm reads numbers in values files as floats, which would print 1073741824
as 1.073741824e+09.
*/}}
{{- define "mendflow.scalar" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* Whether NATS is the user's (nats.url or secret.keys.NATS_URL). */}}
{{- define "mendflow.natsExternal" -}}
{{- if and .Values.nats.url .Values.secret.keys.NATS_URL -}}
{{- fail "nats.url and secret.keys.NATS_URL both name the NATS servers: set one (the Secret's when the URL holds credentials)" -}}
{{- end -}}
{{- if or .Values.nats.url .Values.secret.keys.NATS_URL }}true{{ end -}}
{{- end -}}

{{/* The name of the chart's own NATS StatefulSet and its headless Service. */}}
{{- define "mendflow.natsName" -}}
{{- printf "%s-nats" (include "mendflow.fullname" .) -}}
{{- end -}}

{{/*
The secret variables that secret.keys gives a key, read from the Secret, as
a YAML list of env entries. Call with (dict "root" $ "vars" (dict "MEND_USER_KEY"
"MEND_USER_KEY" ...)): each variable of secret.keys and the name the
container knows it by.
*/}}
{{- define "mendflow.secretEnv" -}}
{{- $env := list -}}
{{- range $var, $as := .vars -}}
{{- $key := index $.root.Values.secret.keys $var -}}
{{- if $key -}}
{{- $env = append $env (dict "name" $as "valueFrom" (dict "secretKeyRef" (dict "name" $.root.Values.secret.name "key" $key))) -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The env entries of a config map of variables (name to value), as a YAML list.
*/}}
{{- define "mendflow.configEnv" -}}
{{- $env := list -}}
{{- range $var, $value := . -}}
{{- $env = append $env (dict "name" $var "value" (include "mendflow.scalar" $value)) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The security context of every mendflow pod and container: the images run as
user 65532 (deploy/scratch.Dockerfile), nothing needs to write to the image
or gain a privilege.
*/}}
{{- define "mendflow.podSecurityContext" -}}
runAsUser: 65532
runAsGroup: 65532
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "mendflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/*
Where a pod goes: nodeSelector, tolerations and affinity of its values.
*/}}
{{- define "mendflow.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The client URLs of every node of the chart's own NATS cluster. */}}
{{- define "mendflow.natsURLs" -}}
{{- $name := include "mendflow.natsName" . -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.nats.cluster.replicas) -}}
{{- $urls = append $urls (printf "nats://%s-%d.%s:4222" $name $i $name) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/* nats.conf of the chart's own NATS cluster. */}}
{{- define "mendflow.natsConf" -}}
{{- $name := include "mendflow.natsName" . -}}
server_name: $POD_NAME
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
jetstream {
  store_dir: /data
  max_file_store: {{ include "mendflow.scalar" .Values.nats.cluster.maxFileStore }}
}
cluster {
  name: {{ include "mendflow.fullname" . }}
  listen: 0.0.0.0:6222
  routes: [
  {{- range $i := until (int .Values.nats.cluster.replicas) }}
    nats://{{ $name }}-{{ $i }}.{{ $name }}:6222
  {{- end }}
  ]
}
lame_duck_duration: {{ .Values.nats.cluster.lameDuckDurationSeconds }}s
{{- end -}}

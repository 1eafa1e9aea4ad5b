{{/* The release's name for resources, at most 63 characters. */}}
{{- define "tally.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tally.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one role: pass (dict "ctx" $ "role" "collector"). */}}
{{- define "tally.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "tally.secretName" -}}
{{- default (printf "%s-config" (include "tally.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "tally.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The container and volumes every Tally pod shares: pass (dict "ctx" $ "role" "worker" "args" (list "worker")). */}}
{{- define "tally.podSpec" -}}
{{- $ := .ctx -}}
{{- $role := index $.Values.roles .role | default dict -}}
automountServiceAccountToken: false
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
containers:
  - name: tally
    image: {{ include "tally.image" $ }}
    imagePullPolicy: {{ $.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    envFrom:
      - secretRef:
          name: {{ include "tally.secretName" $ }}
    env:
      - name: TALLY_DATA_DIR
        value: /var/lib/tally
      - name: TALLY_DEMO
        value: "off"
      {{- if .probe }}
      - name: PORT
        value: {{ $.Values.httpPort | quote }}
      - name: TALLY_HEALTH_PORT
        value: {{ $.Values.healthPort | quote }}
      {{- end }}
      {{- if $role.transformMemory }}
      - name: TALLY_TRANSFORM_MEMORY
        value: {{ $role.transformMemory | quote }}
      {{- end }}
      {{- if and (eq .role "collector") $role.trustProxy }}
      - name: TALLY_TRUST_PROXY
        value: {{ $role.trustProxy | quote }}
      {{- end }}
    {{- if .probe }}
    ports:
      {{- if has .role (list "collector" "api") }}
      - name: http
        containerPort: {{ $.Values.httpPort }}
        protocol: TCP
      {{- end }}
      - name: health
        containerPort: {{ $.Values.healthPort }}
        protocol: TCP
    startupProbe:
      httpGet: { path: /healthz, port: health }
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: { path: /healthz, port: health }
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: { path: /readyz, port: health }
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    lifecycle:
      preStop:
        exec:
          command: ["sleep", {{ $.Values.preStopSleepSeconds | quote }}]
    {{- end }}
    {{- with $role.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml $.Values.securityContext | nindent 6 }}
    volumeMounts:
      - name: data
        mountPath: /var/lib/tally
      - name: tmp
        mountPath: /tmp
volumes:
  - name: data
    emptyDir:
      sizeLimit: {{ $.Values.dataDir.sizeLimit }}
  - name: tmp
    emptyDir:
      sizeLimit: 1Gi
{{- with $.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

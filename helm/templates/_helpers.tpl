{{/* ---------------------------------------------------------------------------------------
Names and labels
--------------------------------------------------------------------------------------- */}}

{{- define "ferret.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ferret.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ferret.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name of one component: (dict "root" $ "component" "tiler") */}}
{{- define "ferret.componentName" -}}
{{- printf "%s-%s" (include "ferret.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ferret.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferret.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Standard labels of a component: (dict "root" $ "component" "tiler") */}}
{{- define "ferret.labels" -}}
helm.sh/chart: {{ include "ferret.chart" .root }}
{{ include "ferret.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ferret-stream
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ferret.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ferret.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: (dict "root" $ "image" .Values.x.image) */}}
{{- define "ferret.image" -}}
{{- $registry := .image.registry | default .root.Values.global.imageRegistry -}}
{{- $repo := .image.repository -}}
{{- if $registry -}}{{- $repo = printf "%s/%s" $registry .image.repository -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .root.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{- define "ferret.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------------------------------
Topics: name = prefix + base name
--------------------------------------------------------------------------------------- */}}

{{/* (dict "root" $ "base" "ferret.requests") */}}
{{- define "ferret.topic" -}}
{{- printf "%s%s" .root.Values.topics.prefix .base -}}
{{- end -}}

{{/* Milliseconds of a duration value: 500ms, 90s, 5m, 1h, 3d (as Spring reads them). */}}
{{- define "ferret.durationMs" -}}
{{- $v := toString . -}}
{{- $n := regexFind "^[0-9]+" $v -}}
{{- $scale := get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000) (trimPrefix $n $v) -}}
{{- if or (not $n) (not $scale) -}}{{- fail (printf "not a duration: %q" $v) -}}{{- end -}}
{{- mul (int64 $n) $scale -}}
{{- end -}}

{{/* Bytes of a size value: 64MB, 512KB, 1GB (binary units, as Spring's DataSize), or a number. */}}
{{- define "ferret.sizeBytes" -}}
{{- $v := toString . -}}
{{- $n := regexFind "^[0-9]+" $v -}}
{{- $scale := get (dict "" 1 "B" 1 "KB" 1024 "MB" 1048576 "GB" 1073741824 "TB" 1099511627776) (trimPrefix $n $v) -}}
{{- if or (not $n) (not $scale) -}}{{- fail (printf "not a size: %q" $v) -}}{{- end -}}
{{- mul (int64 $n) $scale -}}
{{- end -}}

{{/* Base names of the topics between the stages: kept topics.bulkRetention. */}}
{{- define "ferret.bulkTopicBases" -}}
- ferret.tiles.global
- ferret.tiles.local
- ferret.features
- ferret.feature-notices
- ferret.fused
{{- end -}}

{{/* Retention settings of one topic, as the topic provisioner sets them:
(dict "root" $ "base" "ferret.fused" "deadLetter" false) */}}
{{- define "ferret.topicRetentionConfig" -}}
{{- $t := .root.Values.topics -}}
{{- $keep := $t.retention -}}
{{- if .deadLetter -}}
{{- $keep = $t.deadLetterRetention -}}
{{- else if has .base (include "ferret.bulkTopicBases" .root | fromYamlArray) -}}
{{- $keep = $t.bulkRetention -}}
{{- end -}}
{{- $ms := include "ferret.durationMs" $keep | int64 -}}
cleanup.policy: delete
retention.ms: {{ $ms }}
segment.ms: {{ max 1 (div $ms 5) }}
segment.bytes: 33554432
{{- if .deadLetter }}
retention.bytes: {{ include "ferret.sizeBytes" $t.deadLetterRetentionSize }}
{{- end }}
{{- end -}}

{{/* Base names of every pipeline topic; each also has <name>.dlt. */}}
{{- define "ferret.topicBases" -}}
- ferret.requests
- ferret.tiles.global
- ferret.tiles.local
- ferret.features
- ferret.feature-notices
- ferret.fused
- ferret.answers
- ferret.control
{{- end -}}

{{/* ---------------------------------------------------------------------------------------
The Spring Boot services. The single source of what each one consumes: the Deployments'
environment and the KEDA triggers are both rendered from this list and the service's values.
  key        values key            component   Kubernetes component name
  groupEnv   env var of its group  topic       base name of the topic its group consumes
  scaleOn    lag | cpu             role        encoder role
  inference  calls the inference backend
--------------------------------------------------------------------------------------- */}}
{{- define "ferret.services" -}}
- key: gateway
  component: gateway
  groupEnv: FERRET_GATEWAY_ANSWERS_GROUP_ID
  topic: ferret.answers
  scaleOn: cpu
  inference: false
- key: tiler
  component: tiler
  groupEnv: FERRET_TILER_GROUP_ID
  topic: ferret.requests
  scaleOn: lag
  inference: false
- key: encoderGlobal
  component: encoder-global
  groupEnv: FERRET_ENCODER_GROUP_ID
  topic: ferret.tiles.global
  role: global
  scaleOn: lag
  inference: true
- key: encoderLocal
  component: encoder-local
  groupEnv: FERRET_ENCODER_GROUP_ID
  topic: ferret.tiles.local
  role: local
  scaleOn: lag
  inference: true
- key: fusion
  component: fusion
  groupEnv: FERRET_FUSION_GROUP_ID
  topic: ferret.feature-notices
  scaleOn: lag
  inference: true
- key: llm
  component: llm
  groupEnv: FERRET_LLM_GROUP_ID
  topic: ferret.fused
  scaleOn: lag
  inference: true
{{- end -}}

{{/* ---------------------------------------------------------------------------------------
Kafka client configuration (shared by every client)
--------------------------------------------------------------------------------------- */}}

{{- define "ferret.kafka.bundledEnabled" -}}
{{- if and .Values.kafka.bundled.enabled (not .Values.kafka.bootstrapServers) -}}true{{- end -}}
{{- end -}}

{{- define "ferret.kafka.bootstrapServers" -}}
{{- if .Values.kafka.bootstrapServers -}}
{{- .Values.kafka.bootstrapServers -}}
{{- else if .Values.kafka.bundled.enabled -}}
{{- /* fully qualified: KEDA's Kafka scaler resolves it from the KEDA operator's namespace */ -}}
{{- printf "%s.%s.svc:9092" (include "ferret.componentName" (dict "root" . "component" "kafka")) .Release.Namespace -}}
{{- else -}}
{{- fail "kafka.bootstrapServers is required when kafka.bundled.enabled is false" -}}
{{- end -}}
{{- end -}}

{{- define "ferret.kafka.sasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}

{{- define "ferret.kafka.tls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/* A CA certificate is mounted (TLS with a Secret or ConfigMap holding it). */}}
{{- define "ferret.kafka.ca" -}}
{{- if and (include "ferret.kafka.tls" .) (or .Values.kafka.tls.ca.existingSecret .Values.kafka.tls.ca.existingConfigMap) -}}true{{- end -}}
{{- end -}}

{{- define "ferret.kafka.caDir" -}}/etc/ferret/kafka-ca{{- end -}}

{{/* Checks of the Kafka values that the schema cannot express. */}}
{{- define "ferret.kafka.validate" -}}
{{- if and (include "ferret.kafka.sasl" .) (not .Values.kafka.sasl.existingSecret) -}}
{{- fail (printf "kafka.securityProtocol %s needs kafka.sasl.existingSecret (a Secret with the key %s)" .Values.kafka.securityProtocol .Values.kafka.sasl.jaasConfigKey) -}}
{{- end -}}
{{- if and .Values.kafka.tls.ca.existingSecret .Values.kafka.tls.ca.existingConfigMap -}}
{{- fail "set only one of kafka.tls.ca.existingSecret and kafka.tls.ca.existingConfigMap" -}}
{{- end -}}
{{- if and .Values.kafka.bootstrapServers .Values.kafka.bundled.enabled -}}
{{- fail "kafka.bootstrapServers points at an external cluster: set kafka.bundled.enabled=false" -}}
{{- end -}}
{{- if and (include "ferret.kafka.bundledEnabled" .) (ne .Values.kafka.securityProtocol "PLAINTEXT") -}}
{{- fail "the bundled Kafka broker only speaks PLAINTEXT: use an external cluster for SASL/TLS" -}}
{{- end -}}
{{- end -}}

{{/* Environment of every Kafka client: bootstrap servers, security, topic naming. */}}
{{- define "ferret.kafka.env" -}}
{{- include "ferret.kafka.validate" . }}
- name: SPRING_KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "ferret.kafka.bootstrapServers" . | quote }}
- name: SPRING_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if include "ferret.kafka.sasl" . }}
- name: SPRING_KAFKA_PROPERTIES_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret | quote }}
      key: {{ .Values.kafka.sasl.jaasConfigKey | quote }}
{{- end }}
{{- if include "ferret.kafka.ca" . }}
- name: SPRING_KAFKA_SSL_TRUST_STORE_TYPE
  value: PEM
- name: SPRING_KAFKA_SSL_TRUST_STORE_LOCATION
  value: {{ printf "file:%s/ca.crt" (include "ferret.kafka.caDir" .) | quote }}
{{- end }}
- name: FERRET_TOPICS_PREFIX
  value: {{ .Values.topics.prefix | quote }}
- name: FERRET_TOPICS_PARTITIONS
  value: {{ .Values.topics.partitions | quote }}
- name: FERRET_TOPICS_REPLICATION
  value: {{ .Values.topics.replication | quote }}
- name: FERRET_TOPICS_BULK_RETENTION
  value: {{ .Values.topics.bulkRetention | quote }}
- name: FERRET_TOPICS_RETENTION
  value: {{ .Values.topics.retention | quote }}
- name: FERRET_TOPICS_DEAD_LETTER_RETENTION
  value: {{ .Values.topics.deadLetterRetention | quote }}
- name: FERRET_TOPICS_DEAD_LETTER_RETENTION_SIZE
  value: {{ .Values.topics.deadLetterRetentionSize | quote }}
{{- end -}}

{{- define "ferret.kafka.volumeMounts" -}}
{{- if include "ferret.kafka.ca" . }}
- name: kafka-ca
  mountPath: {{ include "ferret.kafka.caDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "ferret.kafka.volumes" -}}
{{- if include "ferret.kafka.ca" . }}
- name: kafka-ca
{{- if .Values.kafka.tls.ca.existingSecret }}
  secret:
    secretName: {{ .Values.kafka.tls.ca.existingSecret | quote }}
    items:
      - key: {{ .Values.kafka.tls.ca.key | quote }}
        path: ca.crt
{{- else }}
  configMap:
    name: {{ .Values.kafka.tls.ca.existingConfigMap | quote }}
    items:
      - key: {{ .Values.kafka.tls.ca.key | quote }}
        path: ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------------------------------
Inference target and API keys
--------------------------------------------------------------------------------------- */}}

{{/* Kubernetes component name of the inference backend, empty for an external one. */}}
{{- define "ferret.inference.component" -}}
{{- if eq .Values.inference.backend "triton" -}}triton
{{- else if eq .Values.inference.backend "dev" -}}inference-server
{{- end -}}
{{- end -}}

{{/* Values of the deployed inference backend. */}}
{{- define "ferret.inference.values" -}}
{{- if eq .Values.inference.backend "triton" -}}
{{- toYaml .Values.triton -}}
{{- else -}}
{{- toYaml .Values.inferenceServer -}}
{{- end -}}
{{- end -}}

{{- define "ferret.inference.target" -}}
{{- if eq .Values.inference.backend "external" -}}
{{- required "inference.externalTarget (host:port) is required with inference.backend=external" .Values.inference.externalTarget -}}
{{- else -}}
{{- $v := include "ferret.inference.values" . | fromYaml -}}
{{- $name := include "ferret.componentName" (dict "root" . "component" (include "ferret.inference.component" .)) -}}
{{- if eq .Values.inference.loadBalancing "round_robin" -}}
{{- printf "dns:///%s-headless:%v" $name $v.port -}}
{{- else -}}
{{- printf "%s:%v" $name $v.service.port -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ferret.apiKeys.secretName" -}}
{{- .Values.apiKeys.existingSecret | default (printf "%s-api-keys" (include "ferret.fullname" .)) -}}
{{- end -}}

{{/* ---------------------------------------------------------------------------------------
Pod building blocks
--------------------------------------------------------------------------------------- */}}

{{/* One HTTP probe: (dict "probe" $probeValues "port" "http") */}}
{{- define "ferret.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ .port }}
{{- with .probe.initialDelaySeconds }}
initialDelaySeconds: {{ . }}
{{- end }}
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 3 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end -}}

{{/* Scheduling fields shared by every pod: (dict "root" $ "v" $values) */}}
{{- define "ferret.scheduling" -}}
{{- with .v.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "ferret.podSecurityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults.podSecurityContext) (deepCopy (.v.podSecurityContext | default dict))) -}}
{{- end -}}

{{- define "ferret.securityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults.securityContext) (deepCopy (.v.securityContext | default dict))) -}}
{{- end -}}

{{/* Replicas field of a Deployment: absent when KEDA owns the count. */}}
{{- define "ferret.replicas" -}}
{{- if not .root.Values.autoscaling.enabled }}
replicas: {{ .v.replicas }}
{{- end }}
{{- end -}}

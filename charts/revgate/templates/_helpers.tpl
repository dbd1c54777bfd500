{{/*
Helpers of the revgate chart.

Every helper takes the chart's context. From a parent chart that depends on
revgate, pass the subchart's context, `.Subcharts.revgate` (or the alias):
it carries revgate's own Values, Chart and Release, so names and the
configuration come out exactly as in the subchart's ConfigMap.
*/}}

{{/* ---------------------------------------------------------------------
Names and labels
--------------------------------------------------------------------- */}}

{{- define "revgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: "<release>-<chart>", or the release name alone when it already
contains the chart name. Truncated to 63 characters (a DNS label); the admin
Service adds "-admin", so names are cut to 57 there.
*/}}
{{- define "revgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "revgate.adminServiceName" -}}
{{- printf "%s-admin" (include "revgate.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "revgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "revgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "revgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "revgate.labels" -}}
helm.sh/chart: {{ include "revgate.chart" . }}
{{ include "revgate.selectorLabels" . }}
app.kubernetes.io/version: {{ include "revgate.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: revgate
{{- end }}

{{- define "revgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "revgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "revgate.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "revgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "revgate.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Container port names. In sidecar mode they share the app's pod, whose own
ports are often called "http", so they carry a revgate- prefix (port names
are at most 15 characters).
*/}}
{{- define "revgate.proxyPortName" -}}
{{- if eq .Values.mode "sidecar" }}revgate-http{{ else }}http{{ end }}
{{- end }}

{{- define "revgate.adminPortName" -}}
{{- if eq .Values.mode "sidecar" }}revgate-admin{{ else }}admin{{ end }}
{{- end }}

{{/* Decision mode only, where the chart owns the pod. */}}
{{- define "revgate.decisionPortName" -}}decision{{- end }}
{{- define "revgate.decisionGrpcPortName" -}}decision-grpc{{- end }}

{{/* ---------------------------------------------------------------------
Files: where the configuration and the secrets appear in the container
--------------------------------------------------------------------- */}}

{{- define "revgate.configDir" -}}/etc/revgate{{- end }}
{{- define "revgate.secretsDir" -}}/var/run/secrets/revgate{{- end }}

{{/*
revgate.secretFiles: every Secret the configuration references, as a YAML
list of {secret, key, path}: path is the file name under revgate.secretsDir.
The configuration builder and the projected volume both read this list, so
a *_file key and the file it names cannot drift apart.
*/}}
{{- define "revgate.secretFiles" -}}
{{- $files := list }}
{{- with .Values.jwt.hmacSecretRef }}{{ if .name }}
{{- $files = append $files (dict "secret" .name "key" .key "path" "hmac-secret") }}
{{- end }}{{ end }}
{{- with .Values.revocation.redis.passwordSecretRef }}{{ if .name }}
{{- $files = append $files (dict "secret" .name "key" .key "path" "redis-password") }}
{{- end }}{{ end }}
{{- with .Values.revocation.redis.sentinelPasswordSecretRef }}{{ if .name }}
{{- $files = append $files (dict "secret" .name "key" .key "path" "redis-sentinel-password") }}
{{- end }}{{ end }}
{{- with .Values.revocation.redis.caSecretRef }}{{ if .name }}
{{- $files = append $files (dict "secret" .name "key" .key "path" "redis-ca.crt") }}
{{- end }}{{ end }}
{{- range .Values.admin.tokens }}
{{- if and .secretRef .secretRef.name }}
{{- $files = append $files (dict "secret" .secretRef.name "key" .secretRef.key "path" (printf "admin-token-%s" .name)) }}
{{- end }}
{{- end }}
{{- toYaml (dict "files" $files) }}
{{- end }}

{{/*
revgate.validate: checks the schema cannot express. Every template that
renders something calls it, so `helm template` fails with one clear message.
*/}}
{{- define "revgate.validate" -}}
{{- $v := .Values }}
{{- $keys := 0 }}
{{- range (list $v.jwt.jwksUrl $v.jwt.jwks $v.jwt.hmacSecretRef.name $v.jwt.hmacSecretFile) }}{{ if . }}{{ $keys = add1 $keys }}{{ end }}{{ end }}
{{- if $v.jwt.publicKeys }}{{ $keys = add1 $keys }}{{ end }}
{{- if eq $keys 0 }}
{{- fail "jwt: set at least one key source: jwksUrl, jwks, publicKeys, hmacSecretRef.name or hmacSecretFile" }}
{{- end }}
{{- if and $v.jwt.hmacSecretRef.name $v.jwt.hmacSecretFile }}
{{- fail "jwt: set hmacSecretRef.name or hmacSecretFile, not both" }}
{{- end }}
{{- $r := $v.revocation.redis }}
{{- if eq $v.revocation.store "redis" }}
{{- if and $r.url $r.addrs }}
{{- fail "revocation.redis: set url (standalone Redis) or addrs (Sentinel or Cluster), not both" }}
{{- end }}
{{- if not (or $r.url $r.addrs) }}
{{- fail "revocation.redis: set url (standalone Redis) or addrs with masterName (Sentinel) or cluster: true (Cluster)" }}
{{- end }}
{{- if and $r.masterName $r.cluster }}
{{- fail "revocation.redis: masterName (Sentinel) and cluster: true exclude each other" }}
{{- end }}
{{- if and (or $r.masterName $r.cluster) (not $r.addrs) }}
{{- fail "revocation.redis: Sentinel (masterName) and Cluster (cluster: true) need addrs" }}
{{- end }}
{{- if and $r.passwordSecretRef.name $r.passwordFile }}
{{- fail "revocation.redis: set passwordSecretRef.name or passwordFile, not both" }}
{{- end }}
{{- if and $r.sentinelPasswordSecretRef.name $r.sentinelPasswordFile }}
{{- fail "revocation.redis: set sentinelPasswordSecretRef.name or sentinelPasswordFile, not both" }}
{{- end }}
{{- if and (or $r.sentinelUsername $r.sentinelPasswordSecretRef.name $r.sentinelPasswordFile) (not $r.masterName) }}
{{- fail "revocation.redis: sentinelUsername and the Sentinel password apply only to Sentinel (masterName)" }}
{{- end }}
{{- if regexMatch "^rediss?://[^/@]*:[^/@]*@" (default "" $r.url) }}
{{- fail "revocation.redis.url must not carry a password: put it in a Secret and set revocation.redis.passwordSecretRef" }}
{{- end }}
{{- else }}
{{- if eq $v.mode "sidecar" }}
{{- fail "revocation.store memory keeps revocations inside one process: every pod's sidecar would have its own. Use redis" }}
{{- end }}
{{- if or $v.autoscaling.enabled (gt (int $v.replicaCount) 1) }}
{{- fail "revocation.store memory keeps revocations inside one process: with more than one replica a revoked token still passes the others. Use redis, or replicaCount 1 without autoscaling" }}
{{- end }}
{{- end }}
{{- if not $v.admin.tokens }}
{{- fail "admin.tokens needs at least one token: the admin listener is reachable from the network (kubelet probes need that), so revgate refuses to run it without auth" }}
{{- end }}
{{- $names := dict }}
{{- range $v.admin.tokens }}
{{- if hasKey $names .name }}
{{- fail (printf "admin.tokens: the name %q appears twice" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- $ref := and .secretRef .secretRef.name }}
{{- if and $ref .tokenFile }}
{{- fail (printf "admin.tokens[%s]: set secretRef or tokenFile, not both" .name) }}
{{- end }}
{{- if not (or $ref .tokenFile) }}
{{- fail (printf "admin.tokens[%s]: set secretRef {name, key} (an existing Secret) or tokenFile; tokens are never given inline" .name) }}
{{- end }}
{{- end }}
{{- if and (or $v.backchannelLogout.path $v.globalRevocation.path) (not $v.jwt.issuer) }}
{{- fail "jwt.issuer is required with backchannelLogout.path or globalRevocation.path: the identity provider's tokens must name it as iss" }}
{{- end }}
{{- if and $v.backchannelLogout.path (not $v.backchannelLogout.audience) }}
{{- fail "backchannelLogout.audience is required with backchannelLogout.path: the client id(s) registered with this logout URL" }}
{{- end }}
{{- if and $v.globalRevocation.path (not $v.globalRevocation.audience) }}
{{- fail "globalRevocation.audience is required with globalRevocation.path: this endpoint's public https:// URL, the bearer JWT's aud" }}
{{- end }}
{{- if and $v.globalRevocation.path (not $v.globalRevocation.clientIds) }}
{{- fail "globalRevocation.clientIds is required with globalRevocation.path: the identity provider's client id(s) allowed to call it (Okta: the app's client id)" }}
{{- end }}
{{- if and $v.networkPolicy.identityProviderFrom (not (or $v.backchannelLogout.path $v.globalRevocation.path)) }}
{{- fail "networkPolicy.identityProviderFrom admits the identity provider to backchannelLogout.path or globalRevocation.path: set one of them, or leave identityProviderFrom empty" }}
{{- end }}
{{- if eq $v.mode "decision" }}
{{- if not (or (eq $v.upstream.url "") (eq $v.upstream.url "http://upstream:8080")) }}
{{- fail (printf "upstream.url %q: mode decision has no upstream (the ingress or mesh forwards the request itself); leave upstream.url at its default or set it to \"\", or use mode standalone to proxy" $v.upstream.url) }}
{{- end }}
{{- $used := dict }}
{{- $ports := list (list "ports.admin" $v.ports.admin) (list "ports.decision" $v.ports.decision) }}
{{- if $v.decision.grpc }}
{{- $ports = append $ports (list "ports.decisionGrpc" $v.ports.decisionGrpc) }}
{{- end }}
{{- range $ports }}
{{- $key := toString (int (index . 1)) }}
{{- if hasKey $used $key }}
{{- fail (printf "%s and %s must differ (both %s)" (get $used $key) (index . 0) $key) }}
{{- end }}
{{- $_ := set $used $key (index . 0) }}
{{- end }}
{{- else }}
{{- if $v.decision.grpc }}
{{- fail (printf "decision.grpc applies to mode decision only (mode is %s)" $v.mode) }}
{{- end }}
{{- if eq (int $v.ports.proxy) (int $v.ports.admin) }}
{{- fail "ports.proxy and ports.admin must differ" }}
{{- end }}
{{- end }}
{{- if eq $v.mode "sidecar" }}
{{- range $key := list "autoscaling" "pdb" "networkPolicy" "serviceMonitor" }}
{{- if (index $v $key).enabled }}
{{- fail (printf "%s.enabled applies to modes standalone and decision only: in sidecar mode the app's own chart owns the pods (see README.md)" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}
{{- end }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetCPUUtilizationPercentage (not (and $v.resources.requests $v.resources.requests.cpu)) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu: utilization is a percentage of it" }}
{{- end }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetMemoryUtilizationPercentage (not (and $v.resources.requests $v.resources.requests.memory)) }}
{{- fail "autoscaling.targetMemoryUtilizationPercentage needs resources.requests.memory: utilization is a percentage of it" }}
{{- end }}
{{- if and $v.autoscaling.enabled (not (or $v.autoscaling.targetCPUUtilizationPercentage $v.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if and $v.serviceMonitor.enabled (not $v.adminService.enabled) }}
{{- fail "serviceMonitor.enabled needs adminService.enabled: it scrapes /metrics through the admin Service" }}
{{- end }}
{{- if and $v.pdb.enabled (kindIs "invalid" $v.pdb.minAvailable) (kindIs "invalid" $v.pdb.maxUnavailable) }}
{{- fail "pdb: set minAvailable or maxUnavailable" }}
{{- end }}
{{- $needed := include "revgate.minTerminationGraceSeconds" . | int }}
{{- if not (kindIs "invalid" $v.terminationGracePeriodSeconds) }}
{{- if lt (int $v.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "terminationGracePeriodSeconds %d is shorter than lifecycle.preStopSleepSeconds + server.drainDelay + server.shutdownTimeout = %ds: Kubernetes would kill revgate while it drains. Raise it, or leave it null to have it computed" (int $v.terminationGracePeriodSeconds) $needed) }}
{{- end }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------------
Durations and quantities
--------------------------------------------------------------------- */}}

{{/*
revgate.durationSeconds: a duration in whole h, m, s and ms units (the
schema's shutdownDuration) as whole seconds, rounded up.
*/}}
{{- define "revgate.durationSeconds" -}}
{{- $d := toString . }}
{{- if not (regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$" $d) }}
{{- fail (printf "%q: expected a duration in whole h, m, s and ms units, e.g. 5s or 1m30s" $d) }}
{{- end }}
{{- $ms := 0 }}
{{- range $part := regexFindAll "[0-9]+(ms|h|m|s)" $d -1 }}
{{- $unit := regexFind "(ms|h|m|s)$" $part }}
{{- $n := trimSuffix $unit $part | int }}
{{- $ms = add $ms (mul $n (get (dict "h" 3600000 "m" 60000 "s" 1000 "ms" 1) $unit)) }}
{{- end }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{/*
revgate.minTerminationGraceSeconds: how long the pod's shutdown lasts at
most: the preStop sleep, then SIGTERM, drainDelay and shutdownTimeout.
*/}}
{{- define "revgate.minTerminationGraceSeconds" -}}
{{- $drain := include "revgate.durationSeconds" .Values.server.drainDelay | int }}
{{- $timeout := include "revgate.durationSeconds" .Values.server.shutdownTimeout | int }}
{{- add (int .Values.lifecycle.preStopSleepSeconds) $drain $timeout }}
{{- end }}

{{/*
revgate.terminationGracePeriodSeconds: the value set, or the minimum plus a
margin for the process to exit. Public: a parent chart sets its pod's
terminationGracePeriodSeconds from it in sidecar mode.
*/}}
{{- define "revgate.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (include "revgate.minTerminationGraceSeconds" . | int) (int .Values.terminationGraceMarginSeconds) }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
revgate.goMemLimit: goMemLimitPercent of resources.limits.memory, in bytes;
empty when either is unset. Quantities use the Kubernetes suffixes (128Mi,
1Gi, 500M) or are plain bytes.
*/}}
{{- define "revgate.goMemLimit" -}}
{{- $limit := "" }}
{{- with .Values.resources }}{{ with .limits }}{{ $limit = .memory }}{{ end }}{{ end }}
{{- if and $limit .Values.goMemLimitPercent }}
{{- $bytes := 0.0 }}
{{- if kindIs "string" $limit }}
{{- $m := regexFindAll "^([0-9]+(\\.[0-9]+)?)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$" $limit 1 }}
{{- if not $m }}
{{- fail (printf "resources.limits.memory %q: expected a number with an optional k, M, G, T, Ki, Mi, Gi or Ti suffix to compute GOMEMLIMIT (or set goMemLimitPercent: 0)" $limit) }}
{{- end }}
{{- $unit := regexFind "[a-zA-Z]+$" $limit }}
{{- $num := trimSuffix $unit $limit | float64 }}
{{- $mult := get (dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0) $unit }}
{{- $bytes = mulf $num $mult }}
{{- else }}
{{- $bytes = float64 $limit }}
{{- end }}
{{- divf (mulf $bytes (int .Values.goMemLimitPercent)) 100 | floor | int64 }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------------
The configuration: revgate.yaml built from values
--------------------------------------------------------------------- */}}

{{/*
revgate.copyKeys: copies the named keys of a values group into a config
section under their snake_case names, leaving out empty strings, lists and
maps and 0 so revgate's own defaults apply. Booleans are always copied.
Call: include "revgate.copyKeys" (list $valuesGroup $section (list "keyA" "keyB"))
*/}}
{{- define "revgate.copyKeys" -}}
{{- $src := index . 0 }}
{{- $dst := index . 1 }}
{{- range $key := index . 2 }}
{{- $val := get $src $key }}
{{- if or (kindIs "bool" $val) (not (empty $val)) }}
{{- $_ := set $dst (snakecase $key) $val }}
{{- end }}
{{- end }}
{{- end }}

{{/*
revgate.config: the text of revgate.yaml. Secret material is never copied:
only the paths of the files the Secrets are mounted as.
*/}}
{{- define "revgate.config" -}}
{{- include "revgate.validate" . }}
{{- $v := .Values }}
{{- $configDir := include "revgate.configDir" . }}
{{- $secretsDir := include "revgate.secretsDir" . }}

{{- $upstream := dict }}
{{- include "revgate.copyKeys" (list $v.upstream $upstream (list "url" "timeout" "stripAuthorization" "maxIdleConnsPerHost")) }}

{{- $jwt := dict }}
{{- include "revgate.copyKeys" (list $v.jwt $jwt (list "jwksUrl" "jwksRefresh" "jwksUnknownKidCooldown" "algorithms" "issuer" "audience" "leeway" "subjectClaim" "requiredClaims" "refreshRequiredClaims" "refreshReuseDetection" "lookup" "forwardHeaders")) }}
{{- /* "" is meaningful here (session revocation off), so only null leaves the key out. */}}
{{- if not (kindIs "invalid" (index $v.jwt "sessionClaim")) }}
{{- $_ := set $jwt "session_claim" (index $v.jwt "sessionClaim") }}
{{- end }}
{{- /* 0 is meaningful here (no cache), so only null leaves the key out. */}}
{{- if not (kindIs "invalid" (index $v.jwt "verifyCacheSize")) }}
{{- $_ := set $jwt "verify_cache_size" (int64 (index $v.jwt "verifyCacheSize")) }}
{{- end }}
{{- if $v.jwt.jwks }}
{{- $_ := set $jwt "jwks_file" (printf "%s/jwks.json" $configDir) }}
{{- end }}
{{- if $v.jwt.publicKeys }}
{{- $paths := list }}
{{- range $name := keys $v.jwt.publicKeys | sortAlpha }}
{{- $paths = append $paths (printf "%s/%s" $configDir $name) }}
{{- end }}
{{- $_ := set $jwt "public_key_files" $paths }}
{{- end }}
{{- if $v.jwt.hmacSecretRef.name }}
{{- $_ := set $jwt "hmac_secret_file" (printf "%s/hmac-secret" $secretsDir) }}
{{- else if $v.jwt.hmacSecretFile }}
{{- $_ := set $jwt "hmac_secret_file" $v.jwt.hmacSecretFile }}
{{- end }}

{{- $redis := dict }}
{{- include "revgate.copyKeys" (list $v.revocation.redis $redis (list "url" "addrs" "masterName" "cluster" "username" "sentinelUsername" "db" "tls" "keyPrefix" "minReplicasAck" "minReplicasTimeout")) }}
{{- if $v.revocation.redis.passwordSecretRef.name }}
{{- $_ := set $redis "password_file" (printf "%s/redis-password" $secretsDir) }}
{{- else if $v.revocation.redis.passwordFile }}
{{- $_ := set $redis "password_file" $v.revocation.redis.passwordFile }}
{{- end }}
{{- if $v.revocation.redis.sentinelPasswordSecretRef.name }}
{{- $_ := set $redis "sentinel_password_file" (printf "%s/redis-sentinel-password" $secretsDir) }}
{{- else if $v.revocation.redis.sentinelPasswordFile }}
{{- $_ := set $redis "sentinel_password_file" $v.revocation.redis.sentinelPasswordFile }}
{{- end }}
{{- if $v.revocation.redis.caSecretRef.name }}
{{- $_ := set $redis "ca_file" (printf "%s/redis-ca.crt" $secretsDir) }}
{{- end }}
{{- $revocation := dict }}
{{- include "revgate.copyKeys" (list $v.revocation $revocation (list "store" "onStoreError" "maxTokenLifetime" "lookupTimeout")) }}
{{- if eq $v.revocation.store "redis" }}
{{- $_ := set $revocation "redis" $redis }}
{{- end }}

{{- $tokens := list }}
{{- range $v.admin.tokens }}
{{- if and .secretRef .secretRef.name }}
{{- $tokens = append $tokens (dict "name" .name "token_file" (printf "%s/admin-token-%s" $secretsDir .name)) }}
{{- else }}
{{- $tokens = append $tokens (dict "name" .name "token_file" .tokenFile) }}
{{- end }}
{{- end }}
{{- $admin := dict "listen" (printf "%s:%d" (include "revgate.hostPort" $v.admin.bindAddress) (int $v.ports.admin)) }}
{{- if $tokens }}
{{- $_ := set $admin "tokens" $tokens }}
{{- end }}

{{- $console := dict }}
{{- include "revgate.copyKeys" (list $v.console $console (list "enabled" "sessionTtl" "trailLength")) }}
{{- $backchannel := dict }}
{{- include "revgate.copyKeys" (list $v.backchannelLogout $backchannel (list "path" "audience" "maxAge")) }}
{{- $globalRevocation := dict }}
{{- include "revgate.copyKeys" (list $v.globalRevocation $globalRevocation (list "path" "audience" "clientIds" "emailClaim")) }}

{{- $server := dict }}
{{- include "revgate.copyKeys" (list $v.server $server (list "readHeaderTimeout" "readTimeout" "writeTimeout" "idleTimeout" "maxHeaderBytes" "drainDelay" "shutdownTimeout")) }}

{{- $config := dict
  "jwt" $jwt
  "revocation" $revocation
  "logout" (dict "path" $v.logout.path)
  "admin" $admin
  "console" $console
  "log" (dict "level" $v.log.level "format" $v.log.format "include_subject" $v.log.includeSubject)
  "server" $server }}
{{- /*
Decision mode: no upstream, so revgate starts no proxy listener (and
ignores listen); the ingress or mesh calls the decision listeners.
*/}}
{{- if eq $v.mode "decision" }}
{{- $decision := dict "listen" (printf ":%d" (int $v.ports.decision)) }}
{{- if $v.decision.grpc }}
{{- $_ := set $decision "grpc_listen" (printf ":%d" (int $v.ports.decisionGrpc)) }}
{{- end }}
{{- $_ := set $config "decision" $decision }}
{{- else }}
{{- $_ := set $config "listen" (printf ":%d" (int $v.ports.proxy)) }}
{{- $_ := set $config "upstream" $upstream }}
{{- end }}
{{- with $v.routes }}
{{- $_ := set $config "routes" . }}
{{- end }}
{{- with $backchannel }}
{{- $_ := set $config "backchannel_logout" . }}
{{- end }}
{{- with $globalRevocation }}
{{- $_ := set $config "global_revocation" . }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* An IPv6 bind address needs brackets before ":port". */}}
{{- define "revgate.hostPort" -}}
{{- if and (contains ":" .) (not (hasPrefix "[" .)) }}[{{ . }}]{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
revgate.configFiles: the ConfigMap's data: revgate.yaml, and the public
keys given inline. Also hashed into the checksum/config annotation.
*/}}
{{- define "revgate.configFiles" -}}
revgate.yaml: |
{{- include "revgate.config" . | nindent 2 }}
{{- with .Values.jwt.jwks }}
jwks.json: |
{{- . | trimSuffix "\n" | nindent 2 }}
{{- end }}
{{- range $name := keys .Values.jwt.publicKeys | sortAlpha }}
{{- if or (eq $name "revgate.yaml") (eq $name "jwks.json") }}
{{- fail (printf "jwt.publicKeys: %q is a reserved file name; pick another" $name) }}
{{- end }}
{{ $name }}: |
{{- get $.Values.jwt.publicKeys $name | trimSuffix "\n" | nindent 2 }}
{{- end }}
{{- end }}

{{/*
revgate.configChecksum: changes whenever the ConfigMap's content does; put
it in the pod template's annotations so a config change rolls the pods.
*/}}
{{- define "revgate.configChecksum" -}}
{{- include "revgate.configFiles" . | sha256sum }}
{{- end }}

{{/* ---------------------------------------------------------------------
The container and its volumes (standalone Deployment and sidecar)
--------------------------------------------------------------------- */}}

{{/*
revgate.sidecar: the revgate container as one item of a pod's
`containers:` list. Used by deployment.yaml, and by another chart's pod
template in sidecar mode:

  containers:
    - name: app
      ...
    {{- include "revgate.sidecar" .Subcharts.revgate | nindent 4 }}
  volumes:
    {{- include "revgate.sidecarVolumes" .Subcharts.revgate | nindent 4 }}
*/}}
{{- define "revgate.sidecar" -}}
{{- include "revgate.validate" . }}
{{- $v := .Values }}
{{- $memLimit := include "revgate.goMemLimit" . -}}
- name: revgate
  image: {{ include "revgate.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args:
    - serve
    - --config
    - {{ include "revgate.configDir" . }}/revgate.yaml
  ports:
    {{- if eq $v.mode "decision" }}
    - name: {{ include "revgate.decisionPortName" . }}
      containerPort: {{ $v.ports.decision }}
      protocol: TCP
    {{- if $v.decision.grpc }}
    - name: {{ include "revgate.decisionGrpcPortName" . }}
      containerPort: {{ $v.ports.decisionGrpc }}
      protocol: TCP
    {{- end }}
    {{- else }}
    - name: {{ include "revgate.proxyPortName" . }}
      containerPort: {{ $v.ports.proxy }}
      protocol: TCP
    {{- end }}
    - name: {{ include "revgate.adminPortName" . }}
      containerPort: {{ $v.ports.admin }}
      protocol: TCP
  {{- if or $memLimit $v.env }}
  env:
    {{- with $memLimit }}
    - name: GOMEMLIMIT
      value: {{ . | quote }}
    {{- end }}
    {{- with $v.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: {{ include "revgate.adminPortName" . }}
    {{- toYaml $v.livenessProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: {{ include "revgate.adminPortName" . }}
    {{- toYaml $v.readinessProbe | nindent 4 }}
  {{- if $v.lifecycle.preStopSleepSeconds }}
  lifecycle:
    preStop:
      sleep:
        seconds: {{ $v.lifecycle.preStopSleepSeconds }}
  {{- end }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: revgate-config
      mountPath: {{ include "revgate.configDir" . }}
      readOnly: true
    {{- if (include "revgate.secretFiles" . | fromYaml).files }}
    - name: revgate-secrets
      mountPath: {{ include "revgate.secretsDir" . }}
      readOnly: true
    {{- end }}
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
revgate.sidecarVolumes: the volumes revgate.sidecar mounts, as items of a
pod's `volumes:` list: the ConfigMap, and one projected volume with every
referenced Secret key (read-only files, mode 0444 so they are readable
whatever the pod's fsGroup).
*/}}
{{- define "revgate.sidecarVolumes" -}}
{{- $files := (include "revgate.secretFiles" . | fromYaml).files -}}
- name: revgate-config
  configMap:
    name: {{ include "revgate.fullname" . }}
{{- if $files }}
- name: revgate-secrets
  projected:
    defaultMode: 0444
    sources:
      {{- range $files }}
      - secret:
          name: {{ .secret }}
          items:
            - key: {{ .key | quote }}
              path: {{ .path }}
      {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

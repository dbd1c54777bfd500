package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// chartCase is one set of values the chart is rendered with: the defaults
// or a file of ci/ (which `helm lint` also picks up by itself).
type chartCase struct {
	name      string
	file      string   // under ci/; "" for the defaults
	wantKinds []string // sorted
}

var (
	standaloneKinds = []string{"ConfigMap", "Deployment", "Service", "Service", "ServiceAccount"}
	chartCases      = []chartCase{
		{"defaults", "", standaloneKinds},
		{"standalone", "standalone-values.yaml", standaloneKinds},
		{"sidecar", "sidecar-values.yaml", []string{"ConfigMap"}},
		{"sentinel", "sentinel-values.yaml", standaloneKinds},
		{"cluster", "cluster-values.yaml", standaloneKinds},
		{"existing secrets", "existing-secrets-values.yaml", standaloneKinds},
		{"decision", "decision-values.yaml", []string{
			"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service", "ServiceAccount"}},
		{"everything enabled", "everything-enabled-values.yaml", []string{
			"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
			"PodDisruptionBudget", "Service", "Service", "ServiceAccount", "ServiceMonitor"}},
	}
)

func (c chartCase) args() []string {
	if c.file == "" {
		return nil
	}
	return []string{"-f", filepath.Join(ciDir, c.file)}
}

func TestEveryCIValuesFileIsACase(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(ciDir, "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	for _, c := range chartCases {
		if c.file != "" {
			want = append(want, c.file)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ci/*-values.yaml = %v, but the test cases cover %v: add the new file to chartCases", got, want)
	}
}

func TestHelmLintPasses(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, err := helm(t, append([]string{"lint", "--strict", chartDir}, c.args()...)...)
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

func TestRenderedManifestsKeepTheChartsPromises(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := render(t, chartDir, c.args()...)
			got := r.kinds()
			slices.Sort(got)
			if !slices.Equal(got, c.wantKinds) {
				t.Fatalf("rendered kinds %v, want %v", got, c.wantKinds)
			}
			for _, o := range r.Objects {
				if o.Kind == "Secret" {
					t.Errorf("the chart renders a Secret (%s): secrets come from existing Secrets only", o.Name)
				}
			}
			if len(all[appsv1.Deployment](r)) == 0 {
				// Sidecar mode: the ConfigMap alone; the pod is checked in
				// TestSidecarExample.
				if found := parseConfig(t, one[corev1.ConfigMap](t, r)).inlineSecrets(); len(found) > 0 {
					t.Errorf("revgate.yaml holds secrets inline: %v", found)
				}
				return
			}
			verifyStandalone(t, r)
		})
	}
}

// verifyStandalone checks a render of a chart-owned Deployment (modes
// standalone and decision): the pod, and that every other object points at
// it. The front Service is the proxy Service, or the decision Service.
func verifyStandalone(t *testing.T, r *rendered) {
	t.Helper()
	dep := one[appsv1.Deployment](t, r)
	pod := &dep.Spec.Template
	verifyPod(t, r, pod, podCheck{checksumAnnotation: "checksum/config"})
	verifySelects(t, "Deployment", dep.Spec.Selector.MatchLabels, pod)

	containerPorts := map[string]bool{}
	for _, p := range pod.Spec.Containers[0].Ports {
		containerPorts[p.Name] = true
	}
	var frontSvc, adminSvc *corev1.Service
	for _, svc := range all[corev1.Service](r) {
		verifySelects(t, "Service "+svc.Name, svc.Spec.Selector, pod)
		for _, p := range svc.Spec.Ports {
			if !containerPorts[p.TargetPort.StrVal] {
				t.Errorf("Service %s port %s targets %q, not a named container port", svc.Name, p.Name, p.TargetPort.String())
			}
		}
		switch svc.Labels["app.kubernetes.io/component"] {
		case "proxy", "decision":
			if frontSvc != nil {
				t.Errorf("two front Services: %s and %s", frontSvc.Name, svc.Name)
			}
			frontSvc = svc
		case "admin":
			adminSvc = svc
		}
	}
	if frontSvc == nil || adminSvc == nil {
		t.Fatalf("want a proxy (or decision) and an admin Service")
	}
	for _, p := range frontSvc.Spec.Ports {
		if p.TargetPort.StrVal == "admin" {
			t.Errorf("the %s Service %s exposes the admin port", frontSvc.Labels["app.kubernetes.io/component"], frontSvc.Name)
		}
	}
	if adminSvc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("admin Service type %s, want ClusterIP", adminSvc.Spec.Type)
	}

	sa := one[corev1.ServiceAccount](t, r)
	if pod.Spec.ServiceAccountName != sa.Name {
		t.Errorf("pod serviceAccountName %q, chart renders ServiceAccount %q", pod.Spec.ServiceAccountName, sa.Name)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount automountServiceAccountToken is not false")
	}

	for _, pdb := range all[policyv1.PodDisruptionBudget](r) {
		verifySelects(t, "PodDisruptionBudget", pdb.Spec.Selector.MatchLabels, pod)
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			t.Errorf("PodDisruptionBudget: want exactly one of minAvailable and maxUnavailable")
		}
	}
	hpas := all[autoscalingv2.HorizontalPodAutoscaler](r)
	for _, hpa := range hpas {
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != dep.Name {
			t.Errorf("HPA targets %+v, want Deployment %s", ref, dep.Name)
		}
		if len(hpa.Spec.Metrics) == 0 {
			t.Errorf("HPA has no metrics")
		}
	}
	if len(hpas) > 0 && dep.Spec.Replicas != nil {
		t.Errorf("Deployment sets replicas while an HPA owns the count")
	}
	for _, np := range all[networkingv1.NetworkPolicy](r) {
		verifySelects(t, "NetworkPolicy", np.Spec.PodSelector.MatchLabels, pod)
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.StrVal != "" && !containerPorts[p.Port.StrVal] {
					t.Errorf("NetworkPolicy allows port %q, not a container port", p.Port.StrVal)
				}
			}
		}
	}
	for _, sm := range all[serviceMonitor](r) {
		sel := labels.SelectorFromSet(sm.Spec.Selector.MatchLabels)
		if !sel.Matches(labels.Set(adminSvc.Labels)) || sel.Matches(labels.Set(frontSvc.Labels)) {
			t.Errorf("ServiceMonitor selector %v must select the admin Service only", sm.Spec.Selector.MatchLabels)
		}
		for _, ep := range sm.Spec.Endpoints {
			if ep.Port != adminSvc.Spec.Ports[0].Name || ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s%s, want %s/metrics", ep.Port, ep.Path, adminSvc.Spec.Ports[0].Name)
			}
		}
	}
}

// TestSidecarExample renders the README's worked example (an app chart
// that depends on revgate and includes revgate.sidecar) with its own values
// and with ci/sidecar-values.yaml as the revgate values.
func TestSidecarExample(t *testing.T) {
	sidecarValues, err := os.ReadFile(filepath.Join(ciDir, "sidecar-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var revgateValues map[string]any
	if err := yaml.Unmarshal(sidecarValues, &revgateValues); err != nil {
		t.Fatal(err)
	}
	wrapped, err := yaml.Marshal(map[string]any{"revgate": revgateValues})
	if err != nil {
		t.Fatal(err)
	}
	wrappedFile := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(wrappedFile, wrapped, 0o644); err != nil {
		t.Fatal(err)
	}

	chart := exampleChart(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"with the example's values", nil},
		// A parent's global values reach the subchart; the schema allows them.
		{"with ci/sidecar-values.yaml and global values", []string{"-f", wrappedFile, "--set", "global.imageRegistry=registry.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, errOut, err := helm(t, append([]string{"lint", "--strict", chart}, tc.args...)...); err != nil {
				t.Fatalf("helm lint --strict: %v\n%s%s", err, out, errOut)
			}
			r := render(t, chart, tc.args...)
			if n := len(all[appsv1.Deployment](r)); n != 1 {
				t.Fatalf("want the app's Deployment only, got %d Deployments: revgate rendered its own in sidecar mode", n)
			}
			dep := one[appsv1.Deployment](t, r)
			pod := &dep.Spec.Template
			cfg, c := verifyPod(t, r, pod, podCheck{sidecar: true, checksumAnnotation: "checksum/revgate-config"})

			// The app's Service now targets the gateway, and the gateway's
			// upstream is the app on loopback.
			var app *corev1.Container
			for i := range pod.Spec.Containers {
				if pod.Spec.Containers[i].Name != "revgate" {
					app = &pod.Spec.Containers[i]
				}
			}
			if app == nil || len(app.Ports) == 0 {
				t.Fatalf("no app container with a port next to revgate")
			}
			wantUpstream := "http://127.0.0.1:" + strconv.Itoa(int(app.Ports[0].ContainerPort))
			if got := cfg.str("upstream.url"); got != wantUpstream {
				t.Errorf("upstream.url = %q, want %q (the app in the same pod)", got, wantUpstream)
			}
			_, proxyPort := listenPort(t, cfg.str("listen"))
			svc := one[corev1.Service](t, r)
			verifySelects(t, "app Service", svc.Spec.Selector, pod)
			target := svc.Spec.Ports[0].TargetPort.StrVal
			if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == target && p.ContainerPort == proxyPort }) {
				t.Errorf("app Service targets %q, want revgate's proxy port %d", target, proxyPort)
			}
		})
	}
}

// exampleChart copies the worked example to a temporary directory with the
// revgate chart in its charts/, as `helm dependency update` would, without
// writing into the repository.
func exampleChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "orders-app")
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "charts", "revgate"), os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWrongValuesFailWithAClearMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // all in helm's stderr
	}{
		{"a misspelt mode", []string{"--set", "mode=sidecr"},
			[]string{"/mode", "'standalone', 'sidecar', 'decision'"}},
		{"a negative replicaCount", []string{"--set", "replicaCount=-1"},
			[]string{"/replicaCount", "minimum"}},
		{"an unknown top-level value", []string{"--set", "replicas=3"},
			[]string{"additional properties 'replicas' not allowed"}},
		{"a misspelt nested value", []string{"--set", "jwt.jwks_url=https://x.example/jwks"},
			[]string{"/jwt", "additional properties 'jwks_url' not allowed"}},
		{"an inline Redis password", []string{"--set", "revocation.redis.password=hunter2"},
			[]string{"/revocation/redis", "additional properties 'password' not allowed"}},
		{"an inline HMAC secret", []string{"--set", "jwt.hmacSecret=hunter2"},
			[]string{"/jwt", "additional properties 'hmacSecret' not allowed"}},
		{"an inline admin token", []string{"--set", "admin.tokens[0].name=ops", "--set", "admin.tokens[0].token=hunter2"},
			[]string{"/admin/tokens/0", "additional properties 'token' not allowed"}},
		{"an admin token without a Secret", []string{"--set", "admin.tokens[0].name=ops"},
			[]string{"admin.tokens[ops]", "never given inline"}},
		{"a password in the Redis URL", []string{"--set", "revocation.redis.url=redis://:hunter2@redis:6379/0"},
			[]string{"must not carry a password", "passwordSecretRef"}},
		{"an upstream that is not http", []string{"--set", "upstream.url=ftp://files"},
			[]string{"/upstream/url"}},
		{"no upstream", []string{"--set", "upstream.url="},
			[]string{"/upstream/url"}},
		{"no upstream in sidecar mode", []string{"--set", "mode=sidecar", "--set", "upstream.url="},
			[]string{"/upstream/url"}},
		{"an upstream in decision mode", []string{"--set", "mode=decision", "--set", "upstream.url=http://orders:8080"},
			[]string{`upstream.url "http://orders:8080": mode decision has no upstream`}},
		{"decision mode without its HTTP port", []string{"--set", "mode=decision", "--set", "ports.decision=null"},
			[]string{"/ports", "decision"}},
		{"decision mode without decision values", []string{"--set", "mode=decision", "--set", "decision=null"},
			[]string{"decision"}},
		{"a misspelt decision value", []string{"--set", "mode=decision", "--set", "decision.grpcListen=:9001"},
			[]string{"/decision", "additional properties 'grpcListen' not allowed"}},
		{"the decision port on the admin port", []string{"--set", "mode=decision", "--set", "ports.decision=9090"},
			[]string{"ports.admin and ports.decision must differ"}},
		{"the gRPC port on the HTTP decision port", []string{"--set", "mode=decision", "--set", "decision.grpc=true", "--set", "ports.decisionGrpc=8081"},
			[]string{"ports.decision and ports.decisionGrpc must differ"}},
		{"gRPC decisions in standalone mode", []string{"--set", "decision.grpc=true"},
			[]string{"decision.grpc applies to mode decision only"}},
		{"no admin token", []string{"--set", "admin.tokens=null"},
			[]string{"admin.tokens needs at least one token"}},
		{"no key source", []string{"--set", "jwt.jwksUrl="},
			[]string{"jwt: set at least one key source"}},
		{"both a Redis url and addrs", []string{"--set", "revocation.redis.addrs={a:26379}", "--set", "revocation.redis.masterName=m"},
			[]string{"set url (standalone Redis) or addrs"}},
		{"Sentinel and Cluster at once", []string{"--set", "revocation.redis.url=", "--set", "revocation.redis.addrs={a:6379}", "--set", "revocation.redis.masterName=m", "--set", "revocation.redis.cluster=true"},
			[]string{"exclude each other"}},
		{"a Sentinel password without Sentinel", []string{"--set", "revocation.redis.sentinelPasswordSecretRef.name=s"},
			[]string{"apply only to Sentinel (masterName)"}},
		{"an inline Sentinel password", []string{"--set", "revocation.redis.sentinelPassword=hunter2"},
			[]string{"/revocation/redis", "additional properties 'sentinelPassword' not allowed"}},
		{"the memory store with two replicas", []string{"--set", "revocation.store=memory"},
			[]string{"revocation.store memory", "more than one replica"}},
		{"the memory store in sidecar mode", []string{"--set", "mode=sidecar", "--set", "revocation.store=memory"},
			[]string{"revocation.store memory", "sidecar"}},
		{"an HPA in sidecar mode", []string{"--set", "mode=sidecar", "--set", "autoscaling.enabled=true"},
			[]string{"autoscaling.enabled applies to modes standalone and decision only"}},
		{"a grace period shorter than the drain", []string{"--set", "terminationGracePeriodSeconds=20"},
			[]string{"terminationGracePeriodSeconds 20 is shorter than", "= 30s"}},
		{"a drain delay in fractions", []string{"--set", "server.drainDelay=1.5s"},
			[]string{"/server/drainDelay"}},
		{"a malformed memory limit", []string{"--set", "resources.limits.memory=lots"},
			[]string{"/resources/limits/memory"}},
		{"the same port twice", []string{"--set", "ports.admin=8080"},
			[]string{"ports.proxy and ports.admin must differ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantRenderFailure(t, tc.args, tc.want...)
		})
	}
}

// revgateContainer renders the chart in standalone mode and returns its
// pod template and revgate container.
func revgateContainer(t *testing.T, args ...string) (*corev1.PodTemplateSpec, *corev1.Container) {
	t.Helper()
	dep := one[appsv1.Deployment](t, render(t, chartDir, args...))
	return &dep.Spec.Template, &dep.Spec.Template.Spec.Containers[0]
}

func TestGOMEMLIMITIsAShareOfTheMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" for no GOMEMLIMIT
	}{
		{"90% of 128Mi by default", nil, "120795955"},
		{"85% of 1Gi", []string{"--set", "resources.limits.memory=1Gi", "--set", "goMemLimitPercent=85"}, "912680550"},
		{"decimal suffixes", []string{"--set", "resources.limits.memory=500M"}, "450000000"},
		{"a fractional quantity", []string{"--set", "resources.limits.memory=0.5Gi", "--set", "goMemLimitPercent=100"}, "536870912"},
		{"plain bytes", []string{"--set", "resources.limits.memory=1000000"}, "900000"},
		{"none without a memory limit", []string{"--set", "resources.limits=null"}, ""},
		{"none when turned off", []string{"--set", "goMemLimitPercent=0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c := revgateContainer(t, tc.args...)
			if got := envValue(c, "GOMEMLIMIT"); got != tc.want {
				t.Errorf("GOMEMLIMIT = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGracePeriodCoversTheDrain(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int64
	}{
		{"5s + 25s + 5s margin by default", nil, 35},
		{"minutes and seconds", []string{"--set", "server.drainDelay=10s", "--set", "server.shutdownTimeout=1m30s"}, 105},
		{"milliseconds round up", []string{"--set", "server.drainDelay=500ms", "--set", "server.shutdownTimeout=25s"}, 31},
		{"hours", []string{"--set", "server.drainDelay=0s", "--set", "server.shutdownTimeout=1h", "--set", "terminationGraceMarginSeconds=0"}, 3600},
		{"plus the preStop sleep", []string{"--set", "lifecycle.preStopSleepSeconds=7"}, 42},
		{"an explicit longer value", []string{"--set", "terminationGracePeriodSeconds=120"}, 120},
		{"an explicit value of exactly the drain", []string{"--set", "terminationGracePeriodSeconds=30"}, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod, c := revgateContainer(t, tc.args...)
			if got := deref(pod.Spec.TerminationGracePeriodSeconds); got != tc.want {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", got, tc.want)
			}
			sleep := c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil
			if wantSleep := slices.Contains(tc.args, "lifecycle.preStopSleepSeconds=7"); sleep != wantSleep {
				t.Errorf("preStop sleep rendered: %v, want %v", sleep, wantSleep)
			}
		})
	}
}

func TestConfigChecksumFollowsTheConfig(t *testing.T) {
	checksum := func(args ...string) string {
		pod, _ := revgateContainer(t, args...)
		return pod.Annotations["checksum/config"]
	}
	base := checksum()
	if again := checksum(); again != base {
		t.Errorf("the same values gave checksums %s and %s", base, again)
	}
	for _, args := range [][]string{
		{"--set", "log.level=debug"},
		{"--set", "upstream.url=http://other:8080"},
		{"--set-string", "jwt.publicKeys.k\\.pem=-----BEGIN PUBLIC KEY-----"},
	} {
		if got := checksum(args...); got == base {
			t.Errorf("%v changes the config but not checksum/config", args)
		}
	}
	if got := checksum("--set", "replicaCount=5"); got != base {
		t.Errorf("replicaCount is not config, yet checksum/config changed")
	}
}

func TestSessionClaimIsLeftToRevgateUnlessSet(t *testing.T) {
	jwtOf := func(args ...string) map[string]any {
		t.Helper()
		r := render(t, chartDir, args...)
		dep := one[appsv1.Deployment](t, r)
		cfg := parseConfig(t, r.configMap(dep.Spec.Template.Spec.Volumes[0].ConfigMap.Name))
		jwt, _ := cfg["jwt"].(map[string]any)
		return jwt
	}
	if v, ok := jwtOf()["session_claim"]; ok {
		t.Errorf("by default revgate.yaml sets session_claim = %v; want it left to revgate's default", v)
	}
	if v := jwtOf("--set", "jwt.sessionClaim=session_state")["session_claim"]; v != "session_state" {
		t.Errorf("jwt.sessionClaim=session_state gave session_claim = %v", v)
	}
	if v, ok := jwtOf("--set-string", "jwt.sessionClaim=")["session_claim"]; !ok || v != "" {
		t.Errorf(`jwt.sessionClaim="" gave session_claim = %v (present %v); want "" (off)`, v, ok)
	}
}

// wantRenderFailure requires helm template with args to fail with a
// message saying every one of want.
func wantRenderFailure(t *testing.T, args []string, want ...string) {
	t.Helper()
	out, errOut, err := helm(t, append([]string{"template", "rel", chartDir}, args...)...)
	if err == nil {
		t.Fatalf("helm template %v succeeded, want a failure; it rendered:\n%s", args, out)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("helm template %v failed, but its message does not say %q:\n%s", args, w, errOut)
		}
	}
}

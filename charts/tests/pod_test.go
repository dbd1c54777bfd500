package tests

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// revgateConfig is a rendered revgate.yaml, parsed loosely: the tests read
// a few keys, and `revgate config check` judges the whole.
type revgateConfig map[string]any

func parseConfig(t testing.TB, cm *corev1.ConfigMap) revgateConfig {
	t.Helper()
	text, ok := cm.Data["revgate.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no revgate.yaml", cm.Name)
	}
	var cfg revgateConfig
	if err := yaml.UnmarshalStrict([]byte(text), &cfg); err != nil {
		t.Fatalf("ConfigMap %s: revgate.yaml: %v", cm.Name, err)
	}
	return cfg
}

// str returns the string at a dotted key path, "" when absent.
func (c revgateConfig) str(keyPath string) string {
	var cur any = map[string]any(c)
	for k := range strings.SplitSeq(keyPath, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// duration returns a duration key, or def when it is absent (revgate's
// default applies then).
func (c revgateConfig) duration(t testing.TB, keyPath string, def time.Duration) time.Duration {
	t.Helper()
	s := c.str(keyPath)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("revgate.yaml %s: %v", keyPath, err)
	}
	return d
}

// fileRef is one file revgate.yaml names: a *_file key or public_key_files.
type fileRef struct {
	Key  string // dotted key path, e.g. revocation.redis.password_file
	Path string
}

// fileRefs lists every file path in the configuration.
func (c revgateConfig) fileRefs() []fileRef {
	var refs []fileRef
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				if s, ok := child.(string); ok && strings.HasSuffix(k, "_file") && s != "" {
					refs = append(refs, fileRef{Key: key, Path: s})
					continue
				}
				if k == "public_key_files" {
					for _, p := range child.([]any) {
						refs = append(refs, fileRef{Key: key, Path: p.(string)})
					}
					continue
				}
				walk(key, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s[%d]", prefix, i), child)
			}
		}
	}
	walk("", map[string]any(c))
	slices.SortFunc(refs, func(a, b fileRef) int { return strings.Compare(a.Key, b.Key) })
	return refs
}

// inlineSecretKeys are the revgate.yaml keys that hold a secret itself; the
// chart must only ever render their *_file forms.
var inlineSecretKeys = []string{"password", "token", "hmac_secret"}

// inlineSecrets returns the key paths of every inline secret in c.
func (c revgateConfig) inlineSecrets() []string {
	var found []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				key := strings.TrimPrefix(prefix+"."+k, ".")
				if slices.Contains(inlineSecretKeys, k) {
					found = append(found, key)
				}
				walk(key, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s[%d]", prefix, i), child)
			}
		}
	}
	walk("", map[string]any(c))
	return found
}

// listenPort returns the port of a listen address such as ":8080" or
// "0.0.0.0:9090", and its host.
func listenPort(t testing.TB, addr string) (host string, port int32) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return host, int32(n)
}

// podCheck says what verifyPod expects of one pod template.
type podCheck struct {
	// sidecar: the pod belongs to another chart, so only the revgate
	// container (and what the worked example sets) is the chart's to check.
	sidecar bool
	// checksumAnnotation names the pod annotation that must hash the config.
	checksumAnnotation string
}

var (
	hex64         = regexp.MustCompile(`^[0-9a-f]{64}$`)
	secretEnvName = regexp.MustCompile(`(?i)password|secret|token`)
)

// verifyPod checks a pod template running revgate against the chart's
// promises: hardened container, probes on the admin listener, every file
// the configuration names mounted (secrets from Secrets only), a grace
// period covering the drain, and the config checksum.
func verifyPod(t *testing.T, r *rendered, pod *corev1.PodTemplateSpec, want podCheck) (revgateConfig, *corev1.Container) {
	t.Helper()
	spec := &pod.Spec
	idx := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "revgate" })
	if idx < 0 {
		t.Fatalf("no container named revgate in the pod")
	}
	c := &spec.Containers[idx]

	// Volumes and mounts.
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if volumes[v.Name] != nil {
			t.Errorf("volume %q appears twice", v.Name)
		}
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if volumes[m.Name] == nil {
			t.Errorf("volumeMount %q (%s) has no volume", m.Name, m.MountPath)
		}
		if !m.ReadOnly {
			t.Errorf("volumeMount %q (%s) is writable; revgate only reads", m.Name, m.MountPath)
		}
	}
	configVol := volumes["revgate-config"]
	if configVol == nil || configVol.ConfigMap == nil {
		t.Fatalf("no ConfigMap volume revgate-config")
	}
	cm := r.configMap(configVol.ConfigMap.Name)
	if cm == nil {
		t.Fatalf("volume revgate-config names ConfigMap %q, which the chart does not render", configVol.ConfigMap.Name)
	}
	cfg := parseConfig(t, cm)
	configMount := mountOf(c, "revgate-config")
	if configMount == nil {
		t.Fatalf("revgate container does not mount revgate-config")
	}
	if want := []string{"serve", "--config", path.Join(configMount.MountPath, "revgate.yaml")}; !slices.Equal(c.Args, want) {
		t.Errorf("args = %q, want %q", c.Args, want)
	}

	// Security context: the container carries everything, so it holds in a
	// pod the chart does not own.
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("revgate container has no securityContext")
	default:
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("securityContext.runAsNonRoot is not true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			t.Errorf("securityContext.runAsUser = %v, want 65532", deref(sc.RunAsUser))
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("securityContext.readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("securityContext.allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("securityContext.privileged is true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("securityContext.capabilities = %+v, want drop [ALL] and no add", sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("securityContext.seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
		}
	}
	if !want.sidecar {
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod securityContext = %+v, want runAsNonRoot and seccomp RuntimeDefault", psc)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("automountServiceAccountToken is not false; revgate never calls the Kubernetes API")
		}
	}
	// Both the chart and the worked example turn service links off: they
	// would put REVGATE_* variables into revgate's environment.
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Errorf("enableServiceLinks is not false")
	}

	// Ports: names valid and unique in the pod, matching revgate.yaml.
	ports := map[string]int32{}
	for _, pc := range spec.Containers {
		for _, p := range pc.Ports {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				t.Errorf("container %s port name %q: %s", pc.Name, p.Name, strings.Join(errs, "; "))
			}
			if _, dup := ports[p.Name]; dup {
				t.Errorf("port name %q appears twice in the pod", p.Name)
			}
			ports[p.Name] = p.ContainerPort
		}
	}
	adminHost, adminPort := listenPort(t, cfg.str("admin.listen"))
	if ip := net.ParseIP(adminHost); adminHost == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("admin.listen %q is loopback: kubelet probes could not reach /healthz and /readyz", cfg.str("admin.listen"))
	}
	// The listeners revgate starts: the proxy when there is an upstream,
	// the decision listeners when set. Each must be a container port, and
	// nothing else but the admin listener may be.
	served := []string{"admin.listen"}
	if cfg.str("upstream.url") != "" {
		served = append(served, "listen")
	} else if cfg.str("decision.listen") == "" && cfg.str("decision.grpc_listen") == "" {
		t.Errorf("revgate.yaml has neither upstream.url nor a decision listener: revgate would refuse it")
	}
	for _, key := range []string{"decision.listen", "decision.grpc_listen"} {
		if cfg.str(key) != "" {
			served = append(served, key)
		}
	}
	servedPorts := map[int32]string{}
	for _, key := range served {
		_, port := listenPort(t, cfg.str(key))
		if other, dup := servedPorts[port]; dup {
			t.Errorf("revgate.yaml %s and %s share port %d", other, key, port)
		}
		servedPorts[port] = key
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == port }) {
			t.Errorf("revgate.yaml %s port %d is not a container port (%v)", key, port, c.Ports)
		}
	}
	for _, p := range c.Ports {
		if _, ok := servedPorts[p.ContainerPort]; !ok {
			t.Errorf("container port %s (%d) is no listener of revgate.yaml (%v)", p.Name, p.ContainerPort, served)
		}
	}

	// Probes on the admin listener.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want httpGet %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		port := p.probe.HTTPGet.Port
		got := port.IntVal
		if port.StrVal != "" {
			n, ok := ports[port.StrVal]
			if !ok {
				t.Errorf("%s probe port %q is not a container port", p.name, port.StrVal)
			}
			got = n
		}
		if got != adminPort {
			t.Errorf("%s probe goes to port %d, want the admin listener's %d", p.name, got, adminPort)
		}
	}

	// Shutdown: no exec preStop (the image has no shell), and a grace
	// period covering the preStop sleep, drain_delay and shutdown_timeout.
	grace := cfg.duration(t, "server.drain_delay", 5*time.Second) + cfg.duration(t, "server.shutdown_timeout", 25*time.Second)
	if lc := c.Lifecycle; lc != nil && lc.PreStop != nil {
		if lc.PreStop.Exec != nil {
			t.Errorf("preStop exec %q: the distroless image has no shell or sleep", lc.PreStop.Exec.Command)
		}
		if lc.PreStop.Sleep != nil {
			grace += time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
		}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		t.Errorf("terminationGracePeriodSeconds unset (Kubernetes' 30s default); want at least %s", grace)
	} else if got := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second; got < grace {
		t.Errorf("terminationGracePeriodSeconds = %s, shorter than preStop + drain_delay + shutdown_timeout = %s", got, grace)
	}

	// Resources and GOMEMLIMIT.
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resources.requests = %v, want cpu and memory", c.Resources.Requests)
	}
	if limit := c.Resources.Limits.Memory(); !limit.IsZero() {
		env := envValue(c, "GOMEMLIMIT")
		n, err := strconv.ParseInt(env, 10, 64)
		if err != nil || n <= 0 || n >= limit.Value() {
			t.Errorf("GOMEMLIMIT = %q, want a byte count below the memory limit %s", env, limit)
		}
	}
	for _, e := range c.Env {
		if e.Value != "" && secretEnvName.MatchString(e.Name) {
			t.Errorf("env %s has a literal value; secrets come from Secrets (valueFrom)", e.Name)
		}
	}

	// Secrets only by reference: no inline secret in revgate.yaml, and every
	// file it names is mounted: ConfigMap keys under the config mount,
	// Secret keys in the projected secrets volume, or a volume of the
	// user's own (extraVolumes).
	if found := cfg.inlineSecrets(); len(found) > 0 {
		t.Errorf("revgate.yaml holds secrets inline: %v", found)
	}
	if u := cfg.str("revocation.redis.url"); strings.Contains(u, "@") {
		t.Errorf("revocation.redis.url %q carries credentials", u)
	}
	for _, ref := range cfg.fileRefs() {
		m := mountFor(c, ref.Path)
		if m == nil {
			t.Errorf("%s: %s is on no volumeMount of the revgate container", ref.Key, ref.Path)
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(ref.Path, m.MountPath), "/")
		vol := volumes[m.Name]
		switch {
		case vol == nil:
			// Reported above.
		case vol.ConfigMap != nil:
			data := r.configMap(vol.ConfigMap.Name)
			if data == nil {
				t.Errorf("%s: ConfigMap %q is not rendered", ref.Key, vol.ConfigMap.Name)
			} else if _, ok := data.Data[rel]; !ok {
				t.Errorf("%s: %s is not a key of ConfigMap %s", ref.Key, rel, data.Name)
			}
			if strings.HasSuffix(ref.Key, "password_file") || strings.HasSuffix(ref.Key, "token_file") || strings.HasSuffix(ref.Key, "hmac_secret_file") {
				t.Errorf("%s: a secret read from a ConfigMap", ref.Key)
			}
		case vol.Projected != nil:
			if src := projectedSecret(vol.Projected, rel); src == nil {
				t.Errorf("%s: %s is not a Secret item of projected volume %s", ref.Key, rel, vol.Name)
			} else if src.Name == "" {
				t.Errorf("%s: Secret with no name", ref.Key)
			}
		}
	}

	// The checksum that rolls the pods on a config change.
	if got := pod.Annotations[want.checksumAnnotation]; !hex64.MatchString(got) {
		t.Errorf("pod annotation %s = %q, want a sha256", want.checksumAnnotation, got)
	}
	if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(c.Image, ":@") {
		t.Errorf("image %q: want a pinned tag or digest", c.Image)
	}
	return cfg, c
}

// verifySelects fails unless selector selects the pod's labels.
func verifySelects(t *testing.T, what string, selector map[string]string, pod *corev1.PodTemplateSpec) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s: empty selector", what)
		return
	}
	if !labels.SelectorFromSet(selector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: selector %v does not select the pod labels %v", what, selector, pod.Labels)
	}
}

func mountOf(c *corev1.Container, volume string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == volume {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// mountFor returns the volumeMount holding file p (the longest mountPath
// that is a directory prefix of p).
func mountFor(c *corev1.Container, p string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = m
		}
	}
	return best
}

// projectedSecret returns the Secret source of a projected volume that puts
// a file at rel.
func projectedSecret(p *corev1.ProjectedVolumeSource, rel string) *corev1.SecretProjection {
	for _, src := range p.Sources {
		if src.Secret == nil {
			continue
		}
		for _, item := range src.Secret.Items {
			if item.Path == rel {
				return src.Secret
			}
		}
	}
	return nil
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Paths, relative to this directory (go test runs in it).
var (
	repoRoot   = filepath.Join("..", "..")
	chartDir   = filepath.Join("..", "revgate")
	ciDir      = filepath.Join("..", "revgate", "ci")
	exampleDir = filepath.Join("..", "examples", "orders-app")
)

const helmInstallHint = "install helm with\n\tgo install helm.sh/helm/v3/cmd/helm@v3.22.0\n" +
	"or put a helm binary on PATH or in $HELM"

var helmPath = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("HELM"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "helm")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", errors.New("helm not found on PATH, in $HELM or in $(go env GOPATH)/bin")
})

// helm runs helm with args and returns its stdout and stderr; err is
// non-nil when it exits non-zero. A missing helm fails the test: these
// checks are never skipped.
func helm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, lookErr := helmPath()
	if lookErr != nil {
		t.Fatalf("%v: %s", lookErr, helmInstallHint)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// object is one manifest of a render, decoded into its typed form.
type object struct {
	Kind, Name string
	Source     string // the "# Source:" template path helm prints
	Obj        any
}

// rendered is the output of one `helm template`, decoded.
type rendered struct {
	Objects []object
}

// kinds maps each kind the charts may render to its only allowed apiVersion
// and its Go type. A kind missing here fails the test.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"ConfigMap":               {"v1", func() any { return &corev1.ConfigMap{} }},
	"ServiceAccount":          {"v1", func() any { return &corev1.ServiceAccount{} }},
	"Service":                 {"v1", func() any { return &corev1.Service{} }},
	"Deployment":              {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	"NetworkPolicy":           {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
	"ServiceMonitor":          {"monitoring.coreos.com/v1", func() any { return &serviceMonitor{} }},
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor the
// chart uses (k8s.io/api has no type for it). Decoding is strict, so any
// field the chart renders must be declared here under its real name.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []serviceMonitorEndpoint `json:"endpoints"`
	} `json:"spec"`
}

type serviceMonitorEndpoint struct {
	Port              string          `json:"port"`
	Path              string          `json:"path,omitempty"`
	Scheme            string          `json:"scheme,omitempty"`
	Interval          string          `json:"interval,omitempty"`
	ScrapeTimeout     string          `json:"scrapeTimeout,omitempty"`
	HonorLabels       bool            `json:"honorLabels,omitempty"`
	Relabelings       []relabelConfig `json:"relabelings,omitempty"`
	MetricRelabelings []relabelConfig `json:"metricRelabelings,omitempty"`
}

type relabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// render runs `helm template` on chart and decodes every manifest strictly;
// any failure fails the test.
func render(t testing.TB, chart string, args ...string) *rendered {
	t.Helper()
	out, errOut, err := helm(t, append([]string{"template", "rel", chart, "--namespace", "ns"}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s %s: %v\n%s", chart, strings.Join(args, " "), err, errOut)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatalf("helm template %s %s: %v", chart, strings.Join(args, " "), err)
	}
	return r
}

// decodeAll splits a multi-document render and decodes each document into
// its k8s.io/api type, rejecting unknown and duplicate fields.
func decodeAll(out string) (*rendered, error) {
	r := &rendered{}
	for doc := range strings.SplitSeq(out, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		var source string
		empty := true
		for line := range strings.SplitSeq(doc, "\n") {
			if s, ok := strings.CutPrefix(line, "# Source: "); ok {
				source = s
			}
			if trimmed := strings.TrimSpace(line); trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				empty = false
			}
		}
		if empty {
			continue
		}
		obj, err := decodeStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		obj.Source = source
		r.Objects = append(r.Objects, obj)
	}
	return r, nil
}

func decodeStrict(doc []byte) (object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, fmt.Errorf("not YAML: %w", err)
	}
	k, ok := kinds[head.Kind]
	if !ok {
		return object{}, fmt.Errorf("kind %q is not one the tests know: add it to kinds", head.Kind)
	}
	if head.APIVersion != k.apiVersion {
		return object{}, fmt.Errorf("%s %q: apiVersion %q, want %q", head.Kind, head.Metadata.Name, head.APIVersion, k.apiVersion)
	}
	obj := k.new()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return object{}, fmt.Errorf("%s %q does not decode strictly into its Kubernetes type: %w", head.Kind, head.Metadata.Name, err)
	}
	nameErrs := validation.IsDNS1123Subdomain(head.Metadata.Name)
	if head.Kind == "Service" {
		nameErrs = validation.IsDNS1035Label(head.Metadata.Name)
	}
	if len(nameErrs) > 0 {
		return object{}, fmt.Errorf("%s name %q: %s", head.Kind, head.Metadata.Name, strings.Join(nameErrs, "; "))
	}
	if err := validLabels(head.Metadata.Labels); err != nil {
		return object{}, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
	}
	return object{Kind: head.Kind, Name: head.Metadata.Name, Obj: obj}, nil
}

func validLabels(labels map[string]string) error {
	for k, v := range labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("label %s value %q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// all returns every object of kind K.
func all[K any](r *rendered) []*K {
	var out []*K
	for _, o := range r.Objects {
		if v, ok := o.Obj.(*K); ok {
			out = append(out, v)
		}
	}
	return out
}

// one returns the only object of kind K, failing the test unless there is
// exactly one.
func one[K any](t testing.TB, r *rendered) *K {
	t.Helper()
	objs := all[K](r)
	if len(objs) != 1 {
		var k K
		t.Fatalf("want exactly one %T, got %d", k, len(objs))
	}
	return objs[0]
}

func (r *rendered) kinds() []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.Kind)
	}
	return out
}

func (r *rendered) configMap(name string) *corev1.ConfigMap {
	for _, cm := range all[corev1.ConfigMap](r) {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

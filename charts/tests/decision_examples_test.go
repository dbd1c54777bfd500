package tests

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// examplesDir holds the charts' worked examples.
var examplesDir = filepath.Join("..", "examples")

// decisionExamples are the per-ingress example values of mode decision,
// listed in the chart's README.
var decisionExamples = []string{
	"decision-envoy-gateway-values.yaml",
	"decision-ingress-nginx-values.yaml",
	"decision-istio-values.yaml",
	"decision-traefik-values.yaml",
}

func TestDecisionExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "decision-*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if !slices.Equal(got, decisionExamples) {
		t.Errorf("charts/examples/decision-*-values.yaml = %v, want %v (the README lists them)", got, decisionExamples)
	}
	readme := string(mustRead(t, filepath.Join(chartDir, "README.md")))
	bin := revgateBinary(t)
	for _, name := range decisionExamples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(readme, "../examples/"+name) {
				t.Errorf("charts/revgate/README.md does not link ../examples/%s", name)
			}
			file := filepath.Join(examplesDir, name)
			if out, errOut, err := helm(t, "lint", "--strict", chartDir, "-f", file); err != nil {
				t.Fatalf("helm lint --strict -f %s: %v\n%s%s", name, err, out, errOut)
			}
			r := render(t, chartDir, "-f", file)
			verifyStandalone(t, r)
			cfg := parseConfig(t, one[corev1.ConfigMap](t, r))
			if cfg.str("decision.listen") == "" {
				t.Errorf("%s: revgate.yaml has no decision.listen", name)
			}
			if _, ok := cfg["upstream"]; ok {
				t.Errorf("%s: revgate.yaml has an upstream", name)
			}
			dep := one[appsv1.Deployment](t, r)
			configCheck(t, bin, one[corev1.ConfigMap](t, r), dep.Spec.Template.Spec.Containers[0].Env)
		})
	}
}

package tests

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// decisionRender is what a decision-mode render must hold, field by field.
type decisionRender struct {
	httpPort, grpcPort int32 // container ports; grpcPort 0: no gRPC
	svcHTTP, svcGRPC   int32 // Service ports
}

// verifyDecision checks a decision-mode render beyond verifyStandalone:
// exactly the decision and admin container ports, revgate.yaml with the
// decision listeners and no upstream or proxy listener, the Service ports
// and, when rendered, the NetworkPolicy admitting the decision ports only
// from decisionFrom.
func verifyDecision(t *testing.T, r *rendered, want decisionRender, decisionFrom []networkingv1.NetworkPolicyPeer) {
	t.Helper()
	verifyStandalone(t, r)
	dep := one[appsv1.Deployment](t, r)
	c := &dep.Spec.Template.Spec.Containers[0]

	wantPorts := []corev1.ContainerPort{{Name: "decision", ContainerPort: want.httpPort, Protocol: corev1.ProtocolTCP}}
	if want.grpcPort != 0 {
		wantPorts = append(wantPorts, corev1.ContainerPort{Name: "decision-grpc", ContainerPort: want.grpcPort, Protocol: corev1.ProtocolTCP})
	}
	wantPorts = append(wantPorts, corev1.ContainerPort{Name: "admin", ContainerPort: 9090, Protocol: corev1.ProtocolTCP})
	if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("admin") {
			t.Errorf("%s probe = %+v, want GET %s on the admin port", p.name, p.probe, p.path)
		}
	}

	cfg := parseConfig(t, r.configMap(dep.Spec.Template.Spec.Volumes[0].ConfigMap.Name))
	wantDecision := map[string]any{"listen": ":" + itoa(want.httpPort)}
	if want.grpcPort != 0 {
		wantDecision["grpc_listen"] = ":" + itoa(want.grpcPort)
	}
	if diff := cmp.Diff(wantDecision, cfg["decision"]); diff != "" {
		t.Errorf("revgate.yaml decision (-want +got):\n%s", diff)
	}
	for _, key := range []string{"upstream", "listen"} {
		if v, ok := cfg[key]; ok {
			t.Errorf("revgate.yaml has %s = %v: decision mode starts no proxy listener", key, v)
		}
	}

	var svc *corev1.Service
	for _, s := range all[corev1.Service](r) {
		if s.Labels["app.kubernetes.io/component"] == "decision" {
			svc = s
		}
	}
	if svc == nil {
		t.Fatalf("no Service with app.kubernetes.io/component: decision")
	}
	http, grpc := "http", "grpc"
	wantSvc := []corev1.ServicePort{{Name: "http", Port: want.svcHTTP, TargetPort: intstr.FromString("decision"), Protocol: corev1.ProtocolTCP, AppProtocol: &http}}
	if want.grpcPort != 0 {
		wantSvc = append(wantSvc, corev1.ServicePort{Name: "grpc", Port: want.svcGRPC, TargetPort: intstr.FromString("decision-grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: &grpc})
	}
	if diff := cmp.Diff(wantSvc, svc.Spec.Ports); diff != "" {
		t.Errorf("decision Service ports (-want +got):\n%s", diff)
	}

	for _, np := range all[networkingv1.NetworkPolicy](r) {
		var decisionRule *networkingv1.NetworkPolicyIngressRule
		for i, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				switch p.Port.StrVal {
				case "decision":
					decisionRule = &np.Spec.Ingress[i]
				case "http":
					t.Errorf("NetworkPolicy admits the proxy port, which decision mode does not have")
				}
			}
		}
		if decisionRule == nil {
			t.Errorf("NetworkPolicy does not admit the decision port: the ingress could not ask")
			continue
		}
		var got []string
		for _, p := range decisionRule.Ports {
			got = append(got, p.Port.StrVal)
		}
		wantNames := []string{"decision"}
		if want.grpcPort != 0 {
			wantNames = append(wantNames, "decision-grpc")
		}
		if !slices.Equal(got, wantNames) {
			t.Errorf("NetworkPolicy decision rule ports = %v, want %v", got, wantNames)
		}
		if diff := cmp.Diff(decisionFrom, decisionRule.From); diff != "" {
			t.Errorf("NetworkPolicy decision rule from (-want networkPolicy.decisionFrom +got):\n%s", diff)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func TestDecisionModeRendersTheDecisionListenersAndNoUpstream(t *testing.T) {
	ingressNginx := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}}}
	for _, tc := range []struct {
		name string
		args []string
		want decisionRender
		from []networkingv1.NetworkPolicyPeer
	}{
		{"ci/decision-values.yaml: HTTP and gRPC", []string{"-f", filepath.Join(ciDir, "decision-values.yaml")},
			decisionRender{httpPort: 8081, grpcPort: 9001, svcHTTP: 8081, svcGRPC: 9001}, ingressNginx},
		{"HTTP only, the placeholder upstream left in values.yaml", []string{"--set", "mode=decision"},
			decisionRender{httpPort: 8081, svcHTTP: 80}, nil},
		{"other ports", []string{"--set", "mode=decision", "--set", "upstream.url=", "--set", "decision.grpc=true",
			"--set", "ports.decision=7000", "--set", "ports.decisionGrpc=7001", "--set", "service.grpcPort=50051",
			"--set", "networkPolicy.enabled=true"},
			decisionRender{httpPort: 7000, grpcPort: 7001, svcHTTP: 80, svcGRPC: 50051}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			verifyDecision(t, render(t, chartDir, tc.args...), tc.want, tc.from)
		})
	}
}

package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The receivers the identity provider pushes to: backchannelLogout and
// globalRevocation values, and networkPolicy.identityProviderFrom.

var (
	keycloakPeers = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "keycloak"}}}}
	ingressPeers  = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}}}
)

// receiverArgs turn both receivers on, with the jwt.issuer they need.
var receiverArgs = []string{
	"--set", "jwt.issuer=https://sso.example.com/realms/main",
	"--set", "backchannelLogout.path=/oidc/backchannel-logout",
	"--set", "backchannelLogout.audience={orders-web,orders-mobile}",
	"--set", "backchannelLogout.maxAge=2m",
	"--set", "globalRevocation.path=/global-token-revocation",
	"--set", "globalRevocation.audience=https://api.example.com/global-token-revocation",
	"--set", "globalRevocation.clientIds={0oa1okta,0oa2okta}",
	"--set", "globalRevocation.emailClaim=email",
}

func TestReceiversAreRenderedIntoRevgateYAML(t *testing.T) {
	for _, mode := range []string{"standalone", "decision", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--set", "mode=" + mode}, receiverArgs...)
			if mode == "decision" {
				args = append(args, "--set", "upstream.url=")
			}
			r := render(t, chartDir, args...)
			cm := one[corev1.ConfigMap](t, r)
			cfg := parseConfig(t, cm)
			want := map[string]any{
				"backchannel_logout": map[string]any{
					"path":     "/oidc/backchannel-logout",
					"audience": []any{"orders-web", "orders-mobile"},
					"max_age":  "2m",
				},
				"global_revocation": map[string]any{
					"path":        "/global-token-revocation",
					"audience":    "https://api.example.com/global-token-revocation",
					"client_ids":  []any{"0oa1okta", "0oa2okta"},
					"email_claim": "email",
				},
			}
			for key, w := range want {
				if d := cmp.Diff(w, cfg[key]); d != "" {
					t.Errorf("revgate.yaml %s (-want +got):\n%s", key, d)
				}
			}
			var env []corev1.EnvVar
			if deps := all[appsv1.Deployment](r); len(deps) == 1 {
				env = deps[0].Spec.Template.Spec.Containers[0].Env
			}
			configCheck(t, revgateBinary(t), cm, env)
		})
	}
}

func TestReceiversAreOffByDefault(t *testing.T) {
	cfg := parseConfig(t, one[corev1.ConfigMap](t, render(t, chartDir)))
	for _, key := range []string{"backchannel_logout", "global_revocation"} {
		if v, ok := cfg[key]; ok {
			t.Errorf("the default revgate.yaml has %s: %v; revgate's default (off) should apply", key, v)
		}
	}
}

func TestReceiverValuesAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a misspelt backchannelLogout value", []string{"--set", "backchannelLogout.max_age=5m"},
			[]string{"/backchannelLogout", "additional properties 'max_age' not allowed"}},
		{"a relative back-channel path", []string{"--set", "backchannelLogout.path=oidc/logout"},
			[]string{"/backchannelLogout/path"}},
		{"a back-channel audience that is not a list", []string{"--set", "backchannelLogout.audience=orders-web"},
			[]string{"/backchannelLogout/audience"}},
		{"a maxAge that is not a duration", []string{"--set", "backchannelLogout.maxAge=5 minutes"},
			[]string{"/backchannelLogout/maxAge"}},
		{"a misspelt globalRevocation value", []string{"--set", "globalRevocation.email_claim=email"},
			[]string{"/globalRevocation", "additional properties 'email_claim' not allowed"}},
		{"a relative Global Token Revocation path", []string{"--set", "globalRevocation.path=gtr"},
			[]string{"/globalRevocation/path"}},
		{"an audience that is not a URL", []string{"--set", "globalRevocation.audience=orders-api"},
			[]string{"/globalRevocation/audience"}},
		{"an audience with a query", []string{"--set", "globalRevocation.audience=https://api.example.com/gtr?tenant=a"},
			[]string{"/globalRevocation/audience"}},
		{"client ids that are not a list", []string{"--set", "globalRevocation.clientIds=0oa1okta"},
			[]string{"/globalRevocation/clientIds"}},
		{"an empty client id", []string{"--set", "globalRevocation.clientIds[0]="},
			[]string{"/globalRevocation/clientIds/0"}},
		{"identity provider peers that are not a list", []string{"--set", "networkPolicy.identityProviderFrom=keycloak"},
			[]string{"/networkPolicy/identityProviderFrom"}},
		{"a Global Token Revocation path alone", []string{"--set", "globalRevocation.path=/global-token-revocation"},
			[]string{"jwt.issuer is required"}},
		{"a Global Token Revocation path without an audience", []string{"--set", "jwt.issuer=https://idp.example",
			"--set", "globalRevocation.path=/global-token-revocation"},
			[]string{"globalRevocation.audience is required"}},
		{"Global Token Revocation without client ids", []string{"--set", "jwt.issuer=https://idp.example",
			"--set", "globalRevocation.path=/global-token-revocation", "--set", "globalRevocation.audience=https://api.example.com/gtr"},
			[]string{"globalRevocation.clientIds is required"}},
		{"a back-channel path without an audience", []string{"--set", "jwt.issuer=https://idp.example",
			"--set", "backchannelLogout.path=/oidc/backchannel-logout"},
			[]string{"backchannelLogout.audience is required"}},
		{"identity provider peers with no receiver", []string{"--set", "networkPolicy.enabled=true",
			"--set", "networkPolicy.identityProviderFrom[0].ipBlock.cidr=10.0.0.0/8"},
			[]string{"networkPolicy.identityProviderFrom", "backchannelLogout.path or globalRevocation.path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantRenderFailure(t, tc.args, tc.want...)
		})
	}
}

func TestIdentityProviderPeersReachTheReceiversPort(t *testing.T) {
	idp := []string{"--set", "networkPolicy.enabled=true",
		"--set", "networkPolicy.identityProviderFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=keycloak"}
	ingress := "networkPolicy.%s[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx"
	for _, tc := range []struct {
		name string
		args []string
		// want is the NetworkPolicy's ingress rules other than the admin
		// port's, by port name, in order.
		want []rule
	}{
		{"standalone: the proxy port from proxyFrom, and from the identity provider",
			append(append([]string{"--set", strings.Replace(ingress, "%s", "proxyFrom", 1)}, idp...), receiverArgs...),
			[]rule{{[]string{"http"}, ingressPeers}, {[]string{"http"}, keycloakPeers}}},
		{"standalone with the proxy port open to all: nothing added",
			append(idp, receiverArgs...),
			[]rule{{[]string{"http"}, nil}}},
		{"decision: the HTTP decision port only, not gRPC",
			append(append([]string{"--set", "mode=decision", "--set", "upstream.url=", "--set", "decision.grpc=true",
				"--set", strings.Replace(ingress, "%s", "decisionFrom", 1)}, idp...), receiverArgs...),
			[]rule{{[]string{"decision", "decision-grpc"}, ingressPeers}, {[]string{"decision"}, keycloakPeers}}},
		{"decision with the decision ports open to all: nothing added",
			append(append([]string{"--set", "mode=decision", "--set", "upstream.url="}, idp...), receiverArgs...),
			[]rule{{[]string{"decision"}, nil}}},
		{"ci/everything-enabled-values.yaml", []string{"-f", filepath.Join(ciDir, "everything-enabled-values.yaml")},
			[]rule{{[]string{"http"}, ingressPeers}, {[]string{"http"}, keycloakPeers}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			np := one[networkingv1.NetworkPolicy](t, render(t, chartDir, tc.args...))
			var got []rule
			for _, in := range np.Spec.Ingress {
				var ports []string
				for _, p := range in.Ports {
					ports = append(ports, p.Port.StrVal)
				}
				if len(ports) == 1 && ports[0] == "admin" {
					continue
				}
				got = append(got, rule{ports, in.From})
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(rule{})); d != "" {
				t.Errorf("NetworkPolicy ingress rules (-want +got):\n%s", d)
			}
		})
	}
}

// rule is a NetworkPolicy ingress rule as ports by name and peers.
type rule struct {
	ports []string
	from  []networkingv1.NetworkPolicyPeer
}

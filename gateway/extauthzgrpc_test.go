package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/go-cmp/cmp"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// grpcHarness is a gateway with its gRPC decision server on a loopback
// listener and a real client connection to it.
type grpcHarness struct {
	*harness
	srv    *GRPCServer
	authz  authv3.AuthorizationClient
	health healthpb.HealthClient
}

func newGRPCHarness(t *testing.T, store revocation.Store, mutate func(*config.Config)) *grpcHarness {
	h := newHarness(t, store, func(c *config.Config) {
		decisionRoutes(c)
		c.Decision.GRPCListen = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	srv := h.gw.GRPCServer()
	ln := testkit.Listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &grpcHarness{harness: h, srv: srv, authz: authv3.NewAuthorizationClient(conn), health: healthpb.NewHealthClient(conn)}
}

// envoyCheck is the CheckRequest Envoy's ext_authz filter sends: the
// pseudo-headers and the client's headers (lower-case, in the headers
// map), method, path with query, host, the client's address, and the
// request id Envoy adds.
func envoyCheck(method, path string, client ...string) *authv3.CheckRequest {
	headers := map[string]string{
		":authority": "api.example", ":method": method, ":path": path, ":scheme": "https",
		"x-request-id": "4b5f6c3e-envoy", "x-forwarded-proto": "https",
	}
	for i := 0; i+1 < len(client); i += 2 {
		headers[strings.ToLower(client[i])] = client[i+1]
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "4b5f6c3e-envoy", Method: method, Path: path, Host: "api.example", Scheme: "https",
			Protocol: "HTTP/1.1", Headers: headers, Size: -1,
		}},
	}}
}

// withBody adds the body as Envoy's with_request_body does.
func withBody(req *authv3.CheckRequest, body string, partial bool) *authv3.CheckRequest {
	h := req.Attributes.Request.Http
	h.Body, h.Size = body, int64(len(body))
	h.Headers["x-envoy-auth-partial-body"] = map[bool]string{true: "true", false: "false"}[partial]
	return req
}

func (g *grpcHarness) check(req *authv3.CheckRequest) *authv3.CheckResponse {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := g.authz.Check(ctx, req)
	if err != nil {
		// Envoy reads an RPC error as the service failing, which
		// failure_mode_allow turns into "allowed".
		g.t.Fatalf("Check returned an RPC error: %v", err)
	}
	return resp
}

// overwrite is a forward header as the answer must set it.
func overwrite(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// wantOK checks an allowed answer field by field: code OK, exactly these
// headers set (overwriting) and these removed, nothing else.
func wantOK(t *testing.T, resp *authv3.CheckResponse, set []*corev3.HeaderValueOption, remove []string) {
	t.Helper()
	if resp.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("status %v, want OK (denied_response %v)", resp.GetStatus(), resp.GetDeniedResponse())
	}
	want := &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{Headers: set, HeadersToRemove: sorted(remove)}},
	}
	got := proto.Clone(resp).(*authv3.CheckResponse)
	if ok := got.GetOkResponse(); ok != nil {
		ok.HeadersToRemove = sorted(ok.HeadersToRemove)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("CheckResponse (-want +got):\n%s", diff)
	}
}

// wantDenied checks a refusal field by field: the gRPC code, the HTTP
// status, the error code in the JSON body, the headers the client gets.
func wantDenied(t *testing.T, resp *authv3.CheckResponse, code codes.Code, httpStatus int, errCode string) *authv3.DeniedHttpResponse {
	t.Helper()
	if got := codes.Code(resp.GetStatus().GetCode()); got != code {
		t.Fatalf("status %v, want %v", got, code)
	}
	if resp.GetOkResponse() != nil || resp.GetErrorResponse() != nil {
		t.Fatalf("a refusal carries ok_response %v / error_response %v", resp.GetOkResponse(), resp.GetErrorResponse())
	}
	d := resp.GetDeniedResponse()
	if d == nil {
		t.Fatalf("no denied_response: Envoy would answer a bare 403")
	}
	if int(d.GetStatus().GetCode()) != httpStatus {
		t.Errorf("denied_response status %d, want %d", d.GetStatus().GetCode(), httpStatus)
	}
	var eb errorBody
	if err := json.Unmarshal([]byte(d.GetBody()), &eb); err != nil || eb.Error != errCode {
		t.Errorf("body %q, want error %q", d.GetBody(), errCode)
	}
	hs := map[string]string{}
	for _, o := range d.GetHeaders() {
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("denied header %s appends", o.GetHeader().GetKey())
		}
		hs[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	if hs["content-type"] != "application/json" || hs["cache-control"] != "no-store" {
		t.Errorf("denied headers %v, want content-type application/json and cache-control no-store", hs)
	}
	if _, has := hs["x-revgate-subject"]; has {
		t.Errorf("a refusal carries x-revgate-subject")
	}
	if httpStatus == 401 && !strings.HasPrefix(hs["www-authenticate"], "Bearer ") {
		t.Errorf("401 without a Bearer challenge: %q", hs["www-authenticate"])
	}
	return d
}

// upstreamSees applies an OK answer to the client's headers as Envoy's
// ext_authz filter does (Filter::onComplete): each header with
// OVERWRITE_IF_EXISTS_OR_ADD is setCopy'd, replacing every value of the
// name (empty values are kept: keep_empty_value does not apply there),
// others are added, and then headers_to_remove are removed. Names compare
// without case. (wantOK's exact comparison has already checked that the
// deprecated append is unset.)
func upstreamSees(client map[string][]string, ok *authv3.OkHttpResponse) map[string][]string {
	out := map[string][]string{}
	for k, v := range client {
		out[strings.ToLower(k)] = append(out[strings.ToLower(k)], v...)
	}
	for _, o := range ok.GetHeaders() {
		k := strings.ToLower(o.GetHeader().GetKey())
		if o.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			out[k] = []string{o.GetHeader().GetValue()}
		} else {
			out[k] = append(out[k], o.GetHeader().GetValue())
		}
	}
	for _, k := range ok.GetHeadersToRemove() {
		delete(out, strings.ToLower(k))
	}
	return out
}

func TestExtAuthzGRPCAnswersAsEnvoyExpects(t *testing.T) {
	g := newGRPCHarness(t, nil, nil)
	token := mint(t, tok{sub: "alice"})
	revoked := mint(t, tok{sub: "bob"})
	g.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)

	t.Run("a valid token is OK with the subject set, overwriting", func(t *testing.T) {
		resp := g.check(envoyCheck("PATCH", "/orders/7?expand=1", "Authorization", "Bearer "+token))
		wantOK(t, resp, []*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")}, nil)
	})
	t.Run("forged copies never reach the upstream, and the real subject does", func(t *testing.T) {
		client := []string{"Authorization", "Bearer " + token, "X-Revgate-Subject", "admin", "X_Revgate_Subject", "admin", "x.revgate.subject", "admin"}
		resp := g.check(envoyCheck("GET", "/orders", client...))
		// Never x-revgate-subject itself: Envoy removes after it sets.
		wantOK(t, resp, []*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")},
			[]string{"x.revgate.subject", "x_revgate_subject"})
		ok := resp.GetOkResponse()
		seen := upstreamSees(map[string][]string{"x-revgate-subject": {"admin"}, "x_revgate_subject": {"admin"}, "x.revgate.subject": {"admin"}}, ok)
		if diff := cmp.Diff(map[string][]string{"x-revgate-subject": {"alice"}}, seen); diff != "" {
			t.Errorf("the upstream receives (-want +got):\n%s", diff)
		}
	})
	t.Run("an auth: none route is OK with the subject empty, overwriting a forged one", func(t *testing.T) {
		resp := g.check(envoyCheck("POST", "/public/login", "X-Revgate-Subject", "admin", "X_REVGATE_SUBJECT", "admin"))
		if resp.GetStatus().GetCode() != int32(codes.OK) {
			t.Fatalf("status %v, want OK", resp.GetStatus())
		}
		ok := resp.GetOkResponse()
		if diff := cmp.Diff([]*corev3.HeaderValueOption{overwrite("x-revgate-subject", "")}, ok.GetHeaders(), protocmp.Transform()); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
		seen := upstreamSees(map[string][]string{"x-revgate-subject": {"admin"}, "x_revgate_subject": {"admin"}}, ok)
		if diff := cmp.Diff(map[string][]string{"x-revgate-subject": {""}}, seen); diff != "" {
			t.Errorf("the upstream receives (-want +got):\n%s", diff)
		}
	})
	t.Run("a revoked token is UNAUTHENTICATED with the proxy's 401", func(t *testing.T) {
		d := wantDenied(t, g.check(envoyCheck("GET", "/orders", "Authorization", "Bearer "+revoked)), codes.Unauthenticated, 401, "invalid_token")
		if !strings.Contains(d.GetBody(), "token has been revoked") {
			t.Errorf("body %s does not say the token was revoked", d.GetBody())
		}
		if h := headerValue(d, "www-authenticate"); !strings.Contains(h, `error="invalid_token"`) {
			t.Errorf("www-authenticate = %q", h)
		}
	})
	t.Run("no token is UNAUTHENTICATED, 401 with the realm", func(t *testing.T) {
		d := wantDenied(t, g.check(envoyCheck("GET", "/orders")), codes.Unauthenticated, 401, "unauthorized")
		if h := headerValue(d, "www-authenticate"); h != `Bearer realm="revgate"` {
			t.Errorf("www-authenticate = %q", h)
		}
	})
	t.Run("the path judged is Envoy's, cleaned", func(t *testing.T) {
		wantDenied(t, g.check(envoyCheck("GET", "/public/../orders")), codes.Unauthenticated, 401, "unauthorized")
		wantDenied(t, g.check(envoyCheck("GET", "/public/..%2forders")), codes.InvalidArgument, 400, "invalid_request")
	})
	t.Run("with_request_body decides a refresh route", func(t *testing.T) {
		refresh := func() *authv3.CheckRequest {
			return envoyCheck("POST", "/api/token/refresh/", "Content-Type", "application/json")
		}
		resp := g.check(withBody(refresh(), `{"refresh":"`+token+`"}`, false))
		wantOK(t, resp, []*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")}, nil)
		packed := refresh()
		packed.Attributes.Request.Http.RawBody = []byte(`{"refresh":"` + token + `"}`)
		packed.Attributes.Request.Http.Headers["x-envoy-auth-partial-body"] = "false"
		wantOK(t, g.check(packed), []*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")}, nil)
		wantDenied(t, g.check(withBody(refresh(), `{"refresh":"`+revoked+`"}`, false)), codes.Unauthenticated, 401, "invalid_token")
		wantDenied(t, g.check(refresh()), codes.PermissionDenied, 403, "forbidden")
		wantDenied(t, g.check(withBody(refresh(), `{"refresh":"`+token+`"}`, true)), codes.PermissionDenied, 403, "forbidden")
	})
	t.Run("encode_raw_headers' header_map is read, repeated fields apart", func(t *testing.T) {
		req := envoyCheck("GET", "/orders")
		h := req.Attributes.Request.Http
		h.Headers = nil
		h.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/orders")},
			{Key: "authorization", RawValue: []byte("Bearer " + token)},
			{Key: "x_revgate_subject", RawValue: []byte("admin")},
		}}
		wantOK(t, g.check(req), []*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")}, []string{"x_revgate_subject"})
		// Two Authorization fields are two readings: never OK.
		h.HeaderMap.Headers = append(h.HeaderMap.Headers, &corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer " + revoked)})
		if resp := g.check(req); resp.GetStatus().GetCode() == int32(codes.OK) {
			t.Errorf("two Authorization fields were allowed")
		}
	})
	for _, tt := range []struct {
		name string
		req  *authv3.CheckRequest
	}{
		{"no attributes", &authv3.CheckRequest{}},
		{"no path", envoyCheck("GET", "", "Authorization", "Bearer "+token)},
		{"no method", envoyCheck("", "/orders", "Authorization", "Bearer "+token)},
		{"an absolute path", envoyCheck("GET", "http://api.example/orders", "Authorization", "Bearer "+token)},
		{"a path without its leading slash", envoyCheck("GET", "orders", "Authorization", "Bearer "+token)},
	} {
		t.Run(tt.name+" is INVALID_ARGUMENT, never OK", func(t *testing.T) {
			wantDenied(t, g.check(tt.req), codes.InvalidArgument, 400, "invalid_request")
		})
	}
	t.Run("logout is revgate's own path: never OK", func(t *testing.T) {
		wantDenied(t, g.check(envoyCheck("POST", "/auth/logout", "Authorization", "Bearer "+token)), codes.PermissionDenied, 403, "forbidden")
	})

	series, _ := g.scrape()
	for name, want := range map[string]float64{
		`revgate_requests_total{mode="ext_authz_grpc",outcome="allowed",route="default"}`:     3,
		`revgate_requests_total{mode="ext_authz_grpc",outcome="revoked_jti",route="default"}`: 1,
		`revgate_requests_total{mode="ext_authz_grpc",outcome="no_token",route="default"}`:    2,
	} {
		if got := series[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if g.upstream.hits.Load() != 0 {
		t.Errorf("the upstream was reached %d times", g.upstream.hits.Load())
	}
	if logs := g.logs.String(); !strings.Contains(logs, `"remote_addr":"203.0.113.7:51234"`) || strings.Contains(logs, token) {
		t.Errorf("access log lines lack the client's address or carry a token")
	}
}

func TestExtAuthzGRPCStoreDownIsUnavailableNeverOK(t *testing.T) {
	store, srv := redisStore(t)
	g := newGRPCHarness(t, store, nil)
	token := mint(t, tok{sub: "alice"})
	wantOK(t, g.check(envoyCheck("GET", "/orders", "Authorization", "Bearer "+token)),
		[]*corev3.HeaderValueOption{overwrite("x-revgate-subject", "alice")}, nil)
	wantHealth(t, g.health, "", healthpb.HealthCheckResponse_SERVING)

	srv.Stop()
	wantDenied(t, g.check(envoyCheck("GET", "/orders", "Authorization", "Bearer "+token)), codes.Unavailable, 503, "revocation_unavailable")
	wantHealth(t, g.health, "", healthpb.HealthCheckResponse_NOT_SERVING)
	series, _ := g.scrape()
	if n := series[`revgate_requests_total{mode="ext_authz_grpc",outcome="store_unavailable",route="default"}`]; n != 1 {
		t.Errorf("store_unavailable under ext_authz_grpc = %v, want 1", n)
	}
}

func TestExtAuthzGRPCHealthFollowsReadiness(t *testing.T) {
	g := newGRPCHarness(t, nil, nil)
	wantHealth(t, g.health, "", healthpb.HealthCheckResponse_SERVING)
	wantHealth(t, g.health, "envoy.service.auth.v3.Authorization", healthpb.HealthCheckResponse_SERVING)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "orders"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown service: %v, want NotFound", err)
	}
	watch, err := g.health.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first Watch message %v %v, want SERVING", m, err)
	}

	g.gw.StartDraining()
	wantHealth(t, g.health, "", healthpb.HealthCheckResponse_NOT_SERVING)
	// A graceful stop does not wait on the open Watch: it is told
	// NOT_SERVING and ended.
	done := make(chan error, 1)
	go func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		done <- g.srv.Shutdown(sctx)
	}()
	var last healthpb.HealthCheckResponse_ServingStatus
	for {
		m, err := watch.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Errorf("Watch ended with %v, want Unavailable", err)
			}
			break
		}
		last = m.GetStatus()
	}
	if last != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("last Watch status %v, want NOT_SERVING", last)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v, want a graceful stop", err)
	}
}

func wantHealth(t *testing.T, c healthpb.HealthClient, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil || resp.GetStatus() != want {
		t.Errorf("health %q = %v %v, want %v", service, resp.GetStatus(), err, want)
	}
}

func headerValue(d *authv3.DeniedHttpResponse, name string) string {
	for _, o := range d.GetHeaders() {
		if o.GetHeader().GetKey() == name {
			return o.GetHeader().GetValue()
		}
	}
	return ""
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var textGRPC = regexp.MustCompile(`msg="revgate listening" .*\bgrpc=(\S+)`)

// listenedGRPC finds the gRPC address in the "revgate listening" line.
func listenedGRPC(t *testing.T, log string) string {
	t.Helper()
	for line := range strings.Lines(log) {
		var rec struct{ Msg, GRPC string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "revgate listening" {
			return rec.GRPC
		}
		if m := textGRPC.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no grpc address in the \"revgate listening\" line\n%s", log)
	return ""
}

func grpcCheck(t *testing.T, c authv3.AuthorizationClient, token string) *authv3.CheckResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/orders", Host: "api.example",
			Headers: map[string]string{"authorization": "Bearer " + token, "x-revgate-subject": "admin"}},
	}}})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp
}

func TestServeRunsTheGRPCListenerAndDrainsIt(t *testing.T) {
	s := newSigner(t)
	for _, format := range []string{"json", "text"} {
		t.Run("logged in "+format, func(t *testing.T) {
			p := startGateway(t, fmt.Sprintf("upstream:\n  url: http://127.0.0.1:3000\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\n"+
				"decision:\n  grpc_listen: 127.0.0.1:0\nserver:\n  drain_delay: 1s\n  shutdown_timeout: 10s\nlog:\n  level: error\n  format: %s\n", s.jwksPath, format))
			conn, err := grpc.NewClient(listenedGRPC(t, p.stderr.String()), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			authz, health := authv3.NewAuthorizationClient(conn), healthpb.NewHealthClient(conn)

			token := s.mint(t, "alice")
			resp := grpcCheck(t, authz, token)
			if resp.GetStatus().GetCode() != int32(codes.OK) || len(resp.GetOkResponse().GetHeaders()) != 1 ||
				resp.GetOkResponse().GetHeaders()[0].GetHeader().GetValue() != "alice" {
				t.Fatalf("a valid token: %v, want OK setting x-revgate-subject: alice", resp)
			}
			wantCall(t, 200, "revoke", "POST", "http://"+p.admin+"/v1/revocations/tokens", adminToken, `{"token":"`+token+`"}`)
			resp = grpcCheck(t, authz, token)
			if resp.GetStatus().GetCode() != int32(codes.Unauthenticated) || resp.GetDeniedResponse().GetStatus().GetCode() != 401 {
				t.Fatalf("a revoked token: %v, want UNAUTHENTICATED with a 401", resp)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if h, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health %v %v, want SERVING", h, err)
			}
			// An open Watch must not hold the shutdown up.
			watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := watch.Recv(); err != nil {
				t.Fatal(err)
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if h, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Errorf("health during the drain %v %v, want NOT_SERVING", h, err)
			}
			if resp := grpcCheck(t, authz, s.mint(t, "carol")); resp.GetStatus().GetCode() != int32(codes.OK) {
				t.Errorf("a check during the drain: %v, want still answered", resp.GetStatus())
			}
			select {
			case err := <-p.done:
				if err != nil {
					t.Fatalf("revgate exited with %v, want 0", err)
				}
				p.done <- nil // for the cleanup
			case <-time.After(8 * time.Second):
				t.Fatal("revgate did not exit within drain_delay plus a few seconds of SIGTERM")
			}
		})
	}
}

package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/revgate/revgate/internal/testkit"
)

func TestAPanickingGRPCHandlerIsAnsweredWithInternalAndLoggedWithoutItsValue(t *testing.T) {
	const secret = "eyJhbGciOiJSUzI1NiJ9.secret-looking.token"
	cases := map[string]struct {
		panicWith any
		wantLog   string
	}{
		"a value of the handler's own is named by its type only": {panicWith: errors.New(secret), wantLog: "*errors.errorString"},
		"a runtime error is logged with the runtime's text":      {panicWith: nil, wantLog: "index out of range"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var buf testkit.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			handler := func(ctx context.Context, req any) (any, error) {
				if tc.panicWith != nil {
					panic(tc.panicWith)
				}
				var s []int
				_ = s[len(secret)] // a real runtime panic
				return nil, nil
			}
			info := &grpc.UnaryServerInfo{FullMethod: "/envoy.service.auth.v3.Authorization/Check"}
			resp, err := recoverUnary(log)(context.Background(), secret, info, handler)
			if resp != nil || status.Code(err) != codes.Internal {
				t.Fatalf("got (%v, %v), want (nil, Internal)", resp, err)
			}
			out := buf.String()
			if !strings.Contains(out, tc.wantLog) || !strings.Contains(out, info.FullMethod) {
				t.Errorf("log %q lacks %q or the method", out, tc.wantLog)
			}
			if strings.Contains(out, "secret-looking") {
				t.Errorf("log holds the panic's data: %q", out)
			}
		})
	}

	t.Run("a streaming handler's panic ends the stream with Internal", func(t *testing.T) {
		var buf testkit.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		err := recoverStream(log)(nil, nil, &grpc.StreamServerInfo{FullMethod: "/grpc.health.v1.Health/Watch"},
			func(any, grpc.ServerStream) error { panic(secret) })
		if status.Code(err) != codes.Internal {
			t.Fatalf("got %v, want Internal", err)
		}
		if strings.Contains(buf.String(), "secret-looking") || !strings.Contains(buf.String(), "string") {
			t.Errorf("log %q", buf.String())
		}
	})
}

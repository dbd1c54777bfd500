package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/revgate/revgate/gateway/adminapi"
)

// TestTheAdminClientDecidesByCodeNeverByMessage answers the client with a
// code and a message that say opposite things: the exit code follows the
// code.
func TestTheAdminClientDecidesByCodeNeverByMessage(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		message string
		exit    int
	}{
		{"not_revoked with any message is a not-found", adminapi.CodeNotRevoked, "no such endpoint", exitNotFound},
		{"no_such_endpoint with the not-found message is an API error", adminapi.CodeNoSuchEndpoint, "no revocation recorded", exitAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":"` + tt.code + `","message":"` + tt.message + `"}`))
			}))
			defer srv.Close()
			r := runCLIEnv(t, nil, "", "status", "token", "some-jti", "--admin-url", srv.URL, "--admin-token", "t-0123456789abcdef")
			want(t, r, tt.exit)
			if tt.exit == exitAPI && !strings.Contains(r.stderr, tt.message) {
				t.Errorf("stderr %q does not carry the API's message", r.stderr)
			}
		})
	}
}

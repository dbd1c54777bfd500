package testkit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// JWKSServer serves a JWKS document that a test can swap or break, and
// counts the fetches.
type JWKSServer struct {
	*httptest.Server
	Hits atomic.Int64
	mu   sync.Mutex
	body []byte
	code int
}

// NewJWKSServer serves body with 200 until the test ends.
func NewJWKSServer(tb testing.TB, body []byte) *JWKSServer {
	s := &JWKSServer{body: body, code: http.StatusOK}
	s.Server = httptest.NewServer(s)
	tb.Cleanup(s.Close)
	return s
}

func (s *JWKSServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.Hits.Add(1)
	s.mu.Lock()
	body, code := s.body, s.code
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// Set makes the server answer code and body from now on.
func (s *JWKSServer) Set(code int, body []byte) {
	s.mu.Lock()
	s.code, s.body = code, body
	s.mu.Unlock()
}

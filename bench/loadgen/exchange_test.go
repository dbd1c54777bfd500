package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestExchangeReusesTheConnectionAcrossFramings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/chunked" {
			_, _ = w.Write([]byte("part one "))
			w.(http.Flusher).Flush() // forces chunked encoding
			_, _ = w.Write([]byte("part two"))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	req := func(path string) []byte {
		return []byte("GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: Bearer tok\r\n\r\n")
	}
	l := &loader{addr: u.Host, timeout: 2 * time.Second, conns: make([]*conn, 1)}
	var first *conn
	for i, path := range []string{"/plain", "/chunked", "/plain", "/chunked"} {
		status, err := l.do(0, req(path))
		if err != nil || status != http.StatusOK {
			t.Fatalf("request %d (%s): status %d, error %v", i, path, status, err)
		}
		if first == nil {
			first = l.conns[0]
		} else if l.conns[0] != first {
			t.Fatalf("request %d (%s) did not reuse the connection", i, path)
		}
	}
	status, err := l.do(0, []byte("GET /plain HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n"))
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("request without token: status %d, error %v; want 401", status, err)
	}
}

package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// headerRequestID carries a request's id: taken from the client when it is
// sane, generated otherwise, forwarded upstream and returned to the client,
// so one id ties the access log line to the upstream's logs.
const headerRequestID = "X-Request-Id"

// maxRequestIDBytes bounds a client-sent id; longer ones are replaced.
const maxRequestIDBytes = 128

// requestID returns the request's id: the client's X-Request-Id when it is a
// single value of visible ASCII no longer than maxRequestIDBytes (so it is
// safe in logs and headers), otherwise a new random one.
func requestID(r *http.Request) string {
	if v := r.Header[headerRequestID]; len(v) == 1 && validRequestID(v[0]) {
		return v[0]
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

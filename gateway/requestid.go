package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
)

// headerRequestID carries a request's id: taken from the client when it is
// sane, generated otherwise, forwarded upstream and returned to the client,
// so one id ties the access log line to the upstream's logs.
const headerRequestID = "X-Request-Id"

// maxRequestIDBytes bounds a client-sent id; longer ones are replaced.
const maxRequestIDBytes = 128

// requestIDs generates request ids: a random per-process prefix and a
// counter, unique across a fleet without a random read per request.
type requestIDs struct {
	prefix []byte
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: []byte(hex.EncodeToString(b[:]) + "-")}
}

// id returns the request's id: the client's X-Request-Id when it is a single
// value of visible ASCII no longer than maxRequestIDBytes (so it is safe in
// logs and headers), otherwise a new one.
func (ids *requestIDs) id(r *http.Request) string {
	if v := r.Header[headerRequestID]; len(v) == 1 && validRequestID(v[0]) {
		return v[0]
	}
	buf := make([]byte, 0, len(ids.prefix)+13)
	buf = append(buf, ids.prefix...)
	return string(strconv.AppendUint(buf, ids.n.Add(1), 36))
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

package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// errClientBody is a request body the client sent badly: malformed chunked
// encoding, or fewer bytes than its Content-Length before the connection
// ended. The proxy's transport reports it like any other failure to send
// the request, so without this it was answered 502 and counted against the
// upstream.
var errClientBody = errors.New("request body could not be read: malformed chunked encoding or shorter than its Content-Length")

// clientBody is the client's request body as the proxy reads it. It
// remembers the first read error, so classifyUpstreamError can tell the
// client's fault from the upstream's. The transport reads it on its own
// goroutine while the handler's may ask, hence the lock.
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	// io.EOF is the body's end; ErrBodyReadAfterClose is the transport
	// giving up on a failed upstream, not a client fault.
	if err != nil && err != io.EOF && !errors.Is(err, http.ErrBodyReadAfterClose) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// readErr is the first error reading the client's body, or nil.
func (b *clientBody) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

type clientBodyKey struct{}

// watchBody gives the request handed to the proxy a clientBody, also in
// its context: ReverseProxy wraps the body it sends and hands its
// ErrorHandler that outgoing request, whose context is derived from this
// one. A request without a body keeps it as it is: the transport and
// ReverseProxy treat nil, http.NoBody and ContentLength 0 specially.
func watchBody(r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return r
	}
	b := &clientBody{ReadCloser: r.Body}
	r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, b))
	r.Body = b
	return r
}

// clientBodyErr is the error reading the client's body of the request the
// proxy sent (or received), or nil.
func clientBodyErr(r *http.Request) error {
	if b, ok := r.Context().Value(clientBodyKey{}).(*clientBody); ok {
		return b.readErr()
	}
	return nil
}

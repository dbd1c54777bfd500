package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/revgate/revgate/revocation"
)

// maxSETBody bounds a pushed SET (RFC 8935 sets no limit; SETs are small).
const maxSETBody = 64 << 10

// The push endpoint's own refusals, before a SET is read. The codes are
// RFC 8935's (§2.4): authentication_failed and access_denied for the
// Authorization header, invalid_request for the rest.
var (
	errPushMethod      = &pushError{http.StatusMethodNotAllowed, setError{setErrInvalidRequest, "use POST"}}
	errPushNoAuth      = &pushError{http.StatusUnauthorized, setError{"authentication_failed", "Authorization is required"}}
	errPushBadAuth     = &pushError{http.StatusForbidden, setError{"access_denied", "Authorization not accepted"}}
	errPushContentType = &pushError{http.StatusBadRequest, setError{setErrInvalidRequest, "Content-Type must be application/secevent+jwt, without Content-Encoding"}}
	errPushTooLarge    = &pushError{http.StatusRequestEntityTooLarge, setError{setErrInvalidRequest, "SET larger than 64 KiB"}}
	errPushBody        = &pushError{http.StatusBadRequest, setError{setErrInvalidRequest, "SET body could not be read"}}
)

// pushError is a push refusal with its status.
type pushError struct {
	status int
	body   setError
}

func (e *pushError) Error() string { return e.body.Description }

// serveSSFPush answers one RFC 8935 delivery and returns the proxy
// outcome. It is never forwarded upstream. Answers: 202 with no body when
// the SET is accepted (applied, without effect, or seen before), 400 with
// {"err", "description"} when it is refused, 401 / 403 for a missing or
// wrong Authorization, 503 when the store is down or the SET's key is not
// in the transmitter's key set, which could not be refreshed (the
// transmitter retries; nothing was recorded as received).
func (g *Gateway) serveSSFPush(w http.ResponseWriter, r *http.Request) string {
	raw, perr := g.readPush(w, r)
	if perr != nil {
		// Not a SET yet: counted by revgate_requests_total's route only.
		writeSETError(w, perr.status, &perr.body)
		return OutcomeBadRequest
	}
	err := g.receiveSET(r, string(raw))
	var se *setError
	switch {
	case err == nil:
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return OutcomeAllowed
	case errors.As(err, &se):
		writeSETError(w, http.StatusBadRequest, se)
		return OutcomeBadRequest
	case r.Context().Err() != nil:
		w.WriteHeader(499) // nobody is left to read it
		return OutcomeClientClosed
	case errors.Is(err, errSETKeysUnavailable):
		// Retried sooner, the refetch would still be held back by the
		// unknown-kid cooldown.
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(g.cfg.JWT.JWKSUnknownKidCooldown)))
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: "the transmitter's signing keys cannot be refreshed; deliver the SET again"})
		return OutcomeUpstreamError
	}
	if !errors.Is(err, revocation.ErrUnavailable) {
		g.log.ErrorContext(r.Context(), "ssf push failed", "error", err.Error())
	}
	w.Header().Set("Retry-After", oauthRetryAfter)
	writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: "revocation state cannot be written; deliver the SET again"})
	return OutcomeStoreUnavailable
}

// readPush checks the method, the Authorization and the media type, and
// reads the SET. Authorization is checked before the body is read: an
// unauthenticated peer learns nothing about SET handling.
func (g *Gateway) readPush(w http.ResponseWriter, r *http.Request) ([]byte, *pushError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, errPushMethod
	}
	authz := r.Header.Values("Authorization")
	switch {
	case len(authz) == 0:
		return nil, errPushNoAuth
	case len(authz) > 1:
		return nil, errPushBadAuth
	}
	// Digests, compared in constant time: their length is fixed, so the
	// time taken says nothing about the configured value.
	got := sha256.Sum256([]byte(authz[0]))
	if subtle.ConstantTimeCompare(got[:], g.ssf.pushAuthDigest[:]) != 1 {
		return nil, errPushBadAuth
	}
	ct := r.Header.Values("Content-Type")
	if len(ct) != 1 || len(r.Header.Values("Content-Encoding")) > 0 {
		return nil, errPushContentType
	}
	if mt, _, err := mime.ParseMediaType(ct[0]); err != nil || mt != "application/secevent+jwt" {
		return nil, errPushContentType
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSETBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return nil, errPushTooLarge
		}
		return nil, errPushBody
	}
	// A trailing newline (curl --data-binary @file) is not part of the SET.
	return bytes.TrimSpace(b), nil
}

// writeSETError writes an RFC 8935 §2.3 error response.
func writeSETError(w http.ResponseWriter, status int, e *setError) {
	writeJSON(w, status, e)
}

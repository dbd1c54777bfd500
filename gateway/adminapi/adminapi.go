package adminapi

import (
	"encoding/json"
	"time"
)

// Error codes: the "error" member of every answer that is not 2xx.
const (
	// CodeInvalidRequest: a field is missing or malformed; Message names it.
	CodeInvalidRequest = "invalid_request"
	// CodeUnauthorized: no admin token, or one not accepted (401).
	CodeUnauthorized = "unauthorized"
	// CodeForbidden: a browser request to an unauthenticated demo admin
	// API (403).
	CodeForbidden = "forbidden"
	// CodeNotRevoked: the jti, session, subject, email or global mark asked about has no
	// revocation recorded (404).
	CodeNotRevoked = "not_revoked"
	// CodeNoSuchEndpoint: the path is not part of the admin API (404), as
	// when a client's base URL is wrong.
	CodeNoSuchEndpoint = "no_such_endpoint"
	// CodeMethodNotAllowed: the endpoint does not take the method (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeRequestTooLarge: the body is over 1 MiB (413).
	CodeRequestTooLarge = "request_too_large"
	// CodeStoreUnavailable: the revocation store did not answer; nothing
	// was changed (503).
	CodeStoreUnavailable = "revocation_unavailable"
	// CodeNotReplicated: the change was written but too few replicas
	// acknowledged it; retrying is safe (503).
	CodeNotReplicated = "not_replicated"
	// CodeInternal: anything else (500).
	CodeInternal = "internal_error"
)

// Error is the body of every answer that is not 2xx.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// RevokeToken is the body of POST /v1/revocations/tokens: a token, or a
// jti with an optional expires_at (RFC 3339 or unix seconds).
type RevokeToken struct {
	Token     string          `json:"token,omitempty"`
	JTI       string          `json:"jti,omitempty"`
	ExpiresAt json.RawMessage `json:"expires_at,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

// Token is the answer about a revoked token: POST's (with RevokedAt) and
// GET's (with Revoked).
type Token struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// RevokeMark is the optional body of POST on a subject or on all: before
// (RFC 3339 or unix seconds; default now) and a reason.
type RevokeMark struct {
	Before json.RawMessage `json:"before,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

// Mark is the answer about a subject's mark (Subject set), an email
// address's (Email set, in the canonical form the mark is kept under) or
// the global one.
type Mark struct {
	Subject       string    `json:"subject,omitempty"`
	Email         string    `json:"email,omitempty"`
	RevokedBefore time.Time `json:"revoked_before"`
}

// RevokeSession is the optional body of POST on a session.
type RevokeSession struct {
	Reason string `json:"reason,omitempty"`
}

// Session is the answer about a revoked session (the identity provider's
// session id, jwt.session_claim): POST's (with RevokedAt) and GET's.
// ExpiresAt is when the record lapses, by when every token of the session
// has expired.
type Session struct {
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Revoked   bool      `json:"revoked"`
}

// Key describes one loaded verification key (GET /v1/keys); never key
// material.
type Key struct {
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	Source    string    `json:"source"`
	FetchedAt time.Time `json:"fetched_at"`
}

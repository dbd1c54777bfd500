// Package gateway is revgate's HTTP side: its listeners, and the one
// authorization core they share.
//
// The core (core.go) takes a request and its cleaned path and returns a
// decision: the route, the verified claims, the refusal if any, and what
// must run after the upstream answers (refresh reuse detection). It finds
// the token (extract.go), verifies it (package jwtverify) and checks the
// revocation store in one round trip (pipeline.go), and applies
// on_store_error. The front doors are thin adapters around it: the reverse
// proxy (gateway.go, proxy.go) and self-service logout (logout.go); the
// decision endpoints will be the next. Each listener turns errors into
// answers and metric outcomes from one table (errors.go). The admin API
// (admin.go), health checks and metrics are served on the admin listener.
// The identity provider's receivers write revocations rather than judge
// requests: OpenID Connect Back-Channel Logout (backchannel.go) and the
// Shared Signals receiver (ssf*.go: SET verification, subject mapping and
// events, RFC 8935 push, RFC 8936 poll).
package gateway

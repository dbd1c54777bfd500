// Package gateway is revgate's HTTP side: it finds the token in a request,
// verifies it, asks the revocation store whether it has been revoked and
// proxies what passes to the upstream. It also serves the admin API, the
// self-service logout endpoint, health checks and metrics.
//
// The request pipeline (pipeline.go) is independent of the reverse proxy, so
// the same verify → revocation check can answer other kinds of request.
package gateway

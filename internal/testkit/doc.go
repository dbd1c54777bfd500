// Package testkit holds what revgate's tests share: a log buffer safe for
// concurrent writers, loopback listeners handed over still open and an
// address that refuses connections (so no test races another for a port
// it closed), an upstream that records requests as they arrived on the
// wire, and real keys and signed tokens. It is imported by tests only.
package testkit

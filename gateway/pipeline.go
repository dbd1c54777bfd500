package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/revocation"
)

// Revocation outcomes, each wrapping jwtverify.ErrTokenRevoked so a caller can tell
// which rule matched (metrics, logs) while the client sees one description.
var (
	ErrRevokedJTI     = fmt.Errorf("%w: jti revoked", jwtverify.ErrTokenRevoked)
	ErrRevokedSubject = fmt.Errorf("%w: subject revoked", jwtverify.ErrTokenRevoked)
	ErrRevokedGlobal  = fmt.Errorf("%w: all tokens revoked", jwtverify.ErrTokenRevoked)
	ErrRevokedSession = fmt.Errorf("%w: session revoked", jwtverify.ErrTokenRevoked)
	ErrReusedRefresh  = fmt.Errorf("%w: refresh token reused", jwtverify.ErrTokenRevoked)
	ErrRevokedEmail   = fmt.Errorf("%w: email address revoked", jwtverify.ErrTokenRevoked)
)

// verifier is what the pipeline needs from token verification.
type verifier interface {
	Verify(ctx context.Context, raw string, p jwtverify.Purpose) (*jwtverify.Claims, error)
	Ready() bool
}

// pipeline is the verify → revocation check step shared by every listener
// that authorizes a request. It does not know about proxying.
type pipeline struct {
	verifier      verifier
	store         revocation.Store
	lookupTimeout time.Duration
	metrics       *Metrics
	// breaker fails lookups at once while the store keeps failing; nil:
	// never.
	breaker *breaker
	// emailClaim is config.EmailMarkClaim: "" unless a receiver that sets
	// email marks is on; only then is a token's address read and its email
	// mark looked up (revocation rule 5), so a gateway without one pays
	// nothing for it.
	emailClaim string
}

// authorize verifies raw for purpose p and checks it against the store in
// one round trip. The claims are returned whenever the token verified, even
// with an error, so the caller can act on who was refused. The error is nil,
// a *jwtverify.TokenError (invalid or revoked: 401) or one wrapping
// revocation.ErrUnavailable (the store cannot answer: the caller applies
// on_store_error).
func (p *pipeline) authorize(ctx context.Context, raw string, purpose jwtverify.Purpose) (*jwtverify.Claims, error) {
	start := time.Now()
	claims, err := p.verifier.Verify(ctx, raw, purpose)
	p.metrics.verify.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	return claims, p.checkRevoked(ctx, claims, purpose == jwtverify.PurposeRefresh)
}

// checkRevoked applies the revocation rules (and, for refresh tokens, the
// reuse rule) to verified claims.
func (p *pipeline) checkRevoked(ctx context.Context, c *jwtverify.Claims, refresh bool) error {
	ticket, err := p.breaker.allow()
	if err != nil {
		p.metrics.storeError("check", err)
		return err
	}
	lookupCtx, cancel := context.WithTimeout(ctx, p.lookupTimeout)
	defer cancel()
	start := time.Now()
	st, err := p.store.Check(lookupCtx, revocation.Query{JTI: c.JTI, Subject: c.Subject, Session: c.Session, Used: refresh && c.JTI != "", Email: p.email(c)})
	p.metrics.storeLookup.Observe(time.Since(start).Seconds())
	clientGone := ctx.Err() != nil
	p.breaker.done(ticket, err, clientGone)
	if err != nil {
		if clientGone {
			// The client hung up mid-lookup: nothing is wrong with the
			// store, and nobody is left to answer.
			return errClientGone
		}
		p.metrics.storeError("check", err)
		return err
	}
	return revokedBy(c, st)
}

// email is the token's address for the email mark lookup: the
// emailClaim when one is set and the claim is a string, else ""
// (nothing is read). The store canonicalises it.
func (p *pipeline) email(c *jwtverify.Claims) string {
	if p.emailClaim == "" || c.Token == nil {
		return ""
	}
	v, _ := c.Token.Get(p.emailClaim)
	s, _ := v.(string)
	return s
}

// revokedBy says which rule, if any, rejects a token with claims c given the
// stored state st. Times compare in whole seconds: a token issued in the same
// second as a mark is revoked, and a token without iat is revoked by any mark
// that applies to it. Where several rules match, the most specific names
// the outcome: the token, its session, its subject, its email address,
// then everything.
func revokedBy(c *jwtverify.Claims, st revocation.State) error {
	switch {
	case st.JTIRevoked:
		return &jwtverify.TokenError{Err: ErrRevokedJTI, Description: jwtverify.ErrTokenRevoked.Error()}
	case st.JTIUsed:
		return &jwtverify.TokenError{Err: ErrReusedRefresh, Description: jwtverify.ErrTokenRevoked.Error()}
	case st.SessionRevoked:
		return &jwtverify.TokenError{Err: ErrRevokedSession, Description: jwtverify.ErrTokenRevoked.Error()}
	case issuedBy(c.IssuedAt, st.SubjectMark):
		return &jwtverify.TokenError{Err: ErrRevokedSubject, Description: jwtverify.ErrTokenRevoked.Error()}
	case issuedBy(c.IssuedAt, st.EmailMark):
		return &jwtverify.TokenError{Err: ErrRevokedEmail, Description: jwtverify.ErrTokenRevoked.Error()}
	case issuedBy(c.IssuedAt, st.GlobalMark):
		return &jwtverify.TokenError{Err: ErrRevokedGlobal, Description: jwtverify.ErrTokenRevoked.Error()}
	}
	return nil
}

// issuedBy reports whether a token issued at iat falls under mark.
func issuedBy(iat, mark time.Time) bool {
	if mark.IsZero() {
		return false
	}
	return iat.IsZero() || iat.Unix() <= mark.Unix()
}

package jwtverify

import (
	"errors"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Claims are the parts of a verified token the pipeline uses.
type Claims struct {
	// JTI is the jti claim, "" when absent.
	JTI string
	// Subject is the subject_claim in canonical form (a number in canonical
	// decimal: 42, never 42.0 or 4.2e1); "" when absent.
	Subject string
	// Session is the jwt.session_claim (the identity provider's session
	// id); "" when the claim is absent, empty or not configured.
	Session string
	// IssuedAt is iat in whole seconds; zero when absent.
	IssuedAt time.Time
	// ExpiresAt is exp in whole seconds; zero when absent.
	ExpiresAt time.Time
	// Token gives forward_headers access to any claim.
	Token jwt.Token
}

// Purpose selects which checks Verify applies.
type Purpose int

const (
	// PurposeAccess: signature, alg, exp/nbf/iat, iss, aud, lifetime and
	// required_claims.
	PurposeAccess Purpose = iota
	// PurposeRefresh: the same with refresh_required_claims.
	PurposeRefresh
	// PurposeRevoke: signature and alg only, so an operator can revoke a
	// token that has already expired or fails a claim check.
	PurposeRevoke
)

// Sentinel errors of token checks, wrapped in a *TokenError.
var (
	ErrNoToken          = errors.New("no token")
	ErrTokenMalformed   = errors.New("token malformed")
	ErrTokenUnsupported = errors.New("token format not supported")
	ErrAlgNotAllowed    = errors.New("token algorithm not allowed")
	ErrUnknownKey       = errors.New("no key matches the token")
	ErrBadSignature     = errors.New("token signature invalid")
	ErrTokenExpired     = errors.New("token expired")
	ErrTokenNotYetValid = errors.New("token not yet valid")
	ErrTokenIssuedLater = errors.New("token issued in the future")
	ErrWrongIssuer      = errors.New("token issuer not accepted")
	ErrWrongAudience    = errors.New("token audience not accepted")
	ErrClaimMissing     = errors.New("required claim missing")
	ErrClaimMismatch    = errors.New("required claim has the wrong value")
	ErrLifetimeTooLong  = errors.New("token lifetime exceeds max_token_lifetime")
	ErrTokenRevoked     = errors.New("token has been revoked")
	// ErrKeysUnavailable is wrapped alongside ErrUnknownKey (or
	// ErrBadSignature, when keys without a kid were tried) when the token
	// names a kid no loaded key carries and the key set could not be
	// confirmed current: the jwks_url refetch failed, the unknown-kid
	// cooldown held it back, or no key set has been fetched yet. The
	// token's key may have been published since; a caller that can ask
	// for the token again later (a Security Event Token's transmitter)
	// treats it as a temporary failure, not a bad signature.
	ErrKeysUnavailable = errors.New("signing keys could not be refreshed")
)

// TokenError is a token that failed a check. Description is safe to send to
// the client and to log: it never contains the token.
type TokenError struct {
	// Err is one of the sentinel errors above.
	Err error
	// Description is the error_description, e.g. "token expired" or
	// `required claim "token_type" has the wrong value`.
	Description string
}

func (e *TokenError) Error() string { return e.Description }
func (e *TokenError) Unwrap() error { return e.Err }

// NewTokenError builds a TokenError whose description is the sentinel's text.
func NewTokenError(err error) *TokenError {
	return &TokenError{Err: err, Description: err.Error()}
}

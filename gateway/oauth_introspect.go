package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/revocation"
)

// introspection is an RFC 7662 answer. Only an active token has members
// besides active; each is present when the token has it.
type introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	// Audience is a string for one audience, a list for several (RFC 7662
	// §2.2 allows either, as RFC 7519 does).
	Audience  any    `json:"aud,omitempty"`
	JTI       string `json:"jti,omitempty"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// introspect answers whether token is active: it verifies and no
// revocation rule rejects it, judged by the same pipeline as a proxied
// request, in one store lookup. A token is judged by the access rules
// (required_claims); when refresh_required_claims is set, a token that
// fails required_claims but meets refresh_required_claims is judged as a
// refresh token (and with refresh_reuse_detection, a used one is
// inactive). Every other token is {"active": false}; a store that cannot
// answer is 503, never a guess, whatever on_store_error says.
func (g *Gateway) introspect(w http.ResponseWriter, r *http.Request, token string) (answer string, err error) {
	ctx := r.Context()
	claims, err := g.pipeline.authorize(ctx, token, jwtverify.PurposeAccess)
	if len(g.cfg.JWT.RefreshRequiredClaims) > 0 &&
		(errors.Is(err, jwtverify.ErrClaimMissing) || errors.Is(err, jwtverify.ErrClaimMismatch)) {
		// The access check failed before the store was asked, so this is
		// still the one lookup.
		claims, err = g.pipeline.authorize(ctx, token, jwtverify.PurposeRefresh)
	}
	var te *jwtverify.TokenError
	switch {
	case err == nil:
	case errors.Is(err, revocation.ErrUnavailable), errors.Is(err, errClientGone):
		return "", err
	case errors.As(err, &te):
		writeJSON(w, http.StatusOK, introspection{Active: false})
		return inactiveAnswer(err), nil
	default:
		return "", err
	}
	writeJSON(w, http.StatusOK, activeIntrospection(claims))
	return "active", nil
}

// inactiveAnswer says, for metrics only, why a token is inactive; the
// client is told nothing but active: false.
func inactiveAnswer(err error) string {
	switch {
	case errors.Is(err, jwtverify.ErrTokenRevoked):
		return "inactive_revoked"
	case errors.Is(err, jwtverify.ErrTokenExpired):
		return "inactive_expired"
	}
	return "inactive_invalid"
}

func activeIntrospection(c *jwtverify.Claims) introspection {
	in := introspection{Active: true, Subject: c.Subject, JTI: c.JTI}
	if !c.ExpiresAt.IsZero() {
		in.ExpiresAt = c.ExpiresAt.Unix()
	}
	if !c.IssuedAt.IsZero() {
		in.IssuedAt = c.IssuedAt.Unix()
	}
	tok := c.Token
	if tok == nil {
		return in
	}
	in.Issuer = tok.Issuer()
	switch aud := tok.Audience(); len(aud) {
	case 0:
	case 1:
		in.Audience = aud[0]
	default:
		in.Audience = aud
	}
	in.Scope = scopeClaim(tok)
	in.ClientID = stringClaim(tok, "client_id")
	in.TokenType = stringClaim(tok, "token_type")
	return in
}

// stringClaim is a claim's value when it is a string, else "".
func stringClaim(tok jwt.Token, name string) string {
	v, _ := tok.Get(name)
	s, _ := v.(string)
	return s
}

// scopeClaim is the scope claim as RFC 7662 gives it, a space-separated
// string; a list of strings (as some issuers write it) is joined. Anything
// else is left out.
func scopeClaim(tok jwt.Token) string {
	v, _ := tok.Get("scope")
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok || s == "" || strings.ContainsRune(s, ' ') {
				return ""
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	return ""
}

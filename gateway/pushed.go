package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/revocation"
)

// What the receivers of revocations pushed by the identity provider
// (back-channel logout, Global Token Revocation, Shared Signals) share.

// pushedKey is the replay record of a pushed token: the receiver's prefix
// (its first byte not UTF-8, which no verified jti is, so the record never
// meets a refresh token's), the issuer and the jti.
func pushedKey(prefix, iss, jti string) string { return prefix + iss + "\x00" + jti }

// applyOnce applies a pushed revocation at most once per key: it reports a
// key already recorded as used as replayed, else runs apply and then
// records the key until until(). Applying before recording keeps a failed
// write retryable (the sender retries after a 503, and every effect is
// idempotent); a concurrent delivery that records the key first makes
// this one replayed too.
func (g *Gateway) applyOnce(ctx context.Context, key string, until func() time.Time, apply func() error) (replayed bool, err error) {
	st, err := g.store.Check(ctx, revocation.Query{JTI: key, Used: true})
	if err != nil {
		g.metrics.storeError("check", err)
		return false, err
	}
	if st.JTIUsed {
		return true, nil
	}
	if err := apply(); err != nil {
		return false, err
	}
	used, err := g.store.MarkUsed(ctx, key, until())
	if err != nil {
		g.metrics.storeError("mark_used", err)
		return false, err
	}
	return used, nil
}

// verifyPushed checks a pushed token's signature and algorithm with the
// jwt.* keys, and nothing else: its claims follow its own rules, not an
// access token's, and are the caller's to check. A token refused by the
// verifier is answered by invalid; one signed by a key that a JWKS outage
// keeps unknown is errIdPKeysUnavailable, so the provider retries.
func (g *Gateway) verifyPushed(ctx context.Context, raw string, invalid func(desc string) *oauthError) (*jwtverify.Claims, error) {
	c, err := g.verifier.Verify(ctx, raw, jwtverify.PurposeRevoke)
	if err != nil {
		var te *jwtverify.TokenError
		switch {
		case errors.Is(err, jwtverify.ErrKeysUnavailable):
			return nil, errIdPKeysUnavailable
		case errors.As(err, &te):
			return nil, invalid("invalid: " + te.Description)
		}
		return nil, err
	}
	if c.Token == nil {
		return nil, invalid("claims malformed")
	}
	return c, nil
}

// jwtHeaderTyp returns the typ member of a compact JWT's header, lower
// case and without an "application/" prefix (RFC 7515 §4.1.9), and
// whether there is one. A second typ is an error rather than read either
// way; the verifier reads alg and kid itself.
func jwtHeaderTyp(raw string) (string, bool, error) {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return "", false, errors.New("malformed")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", false, errors.New("header malformed")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false, errors.New("header malformed")
	}
	var typ string
	seen := false
	for dec.More() {
		k, err := dec.Token()
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			return "", false, errors.New("header malformed")
		}
		if k != "typ" {
			continue
		}
		if seen || json.Unmarshal(v, &typ) != nil {
			return "", false, errors.New(`header "typ" malformed`)
		}
		seen = true
	}
	return strings.TrimPrefix(strings.ToLower(typ), "application/"), seen, nil
}

// nonEmptyStrings is list without its empty entries.
func nonEmptyStrings(list []string) []string {
	var out []string
	for _, v := range list {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// pushRefusal is the answer to a push that failed with err: its row of the
// OAuth-style table. A failure the table does not know is logged as msg (a
// store outage is not: it is counted); a store failure seen by a client
// that has gone is counted as client_closed.
func (g *Gateway) pushRefusal(r *http.Request, err error, msg string) *oauthError {
	oe := oauthErrorFor(err)
	if oe == errOAuthUnavailable && !errors.Is(err, revocation.ErrUnavailable) {
		g.log.ErrorContext(r.Context(), msg, "error", err.Error())
	}
	if oe.answer == errOAuthUnavailable.answer && r.Context().Err() != nil {
		return errOAuthClientGone
	}
	return oe
}

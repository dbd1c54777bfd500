package main

import (
	"fmt"

	"github.com/revgate/revgate/gateway/adminapi"
)

// exitNothingToRevoke is revoke token's exit code when the record would
// already have lapsed, so nothing was stored: with --jti the expiry is the
// operator's word, and a mistyped --expires-at would otherwise leave a live
// token unrevoked behind a success message.
const exitNothingToRevoke = 4

// lapsedOnArrival reports a record that lapsed no later than it was
// written. It compares two times of the gateway's own clock, the record's
// expires_at (the expiry given plus the gateway's leeway) and revoked_at,
// the way the store decides to keep a record (only when it expires after
// now, in whole seconds), so client clock skew plays no part and no message
// text is read. An answer without revoked_at is taken at its word.
func lapsedOnArrival(a adminapi.Token) bool {
	return !a.RevokedAt.IsZero() && !a.ExpiresAt.After(a.RevokedAt)
}

// nothingStored is the exit-4 error for a revocation answer whose record
// lapsed on arrival, and nil otherwise.
func (c *adminClient) nothingStored(answer []byte) error {
	var a adminapi.Token
	if err := c.decodeAnswer(answer, &a); err != nil {
		return err
	}
	if !lapsedOnArrival(a) {
		return nil
	}
	return &cliError{exitNothingToRevoke, fmt.Sprintf("token jti=%s already expired at %s (--expires-at plus the gateway's leeway): nothing to revoke, nothing was stored",
		display(a.JTI), formatTime(a.ExpiresAt))}
}

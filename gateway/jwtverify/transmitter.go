package jwtverify

import (
	"log/slog"

	"github.com/revgate/revgate/config"
)

// TransmitterConfig configures the Verifier of the Shared Signals
// transmitter's Security Event Tokens; ok is false while the receiver is
// off (neither ssf.push_path nor ssf.poll_url). Its keys are the
// transmitter's own (ssf.jwks_url or ssf.jwks_file), never jwt.*'s: the
// token issuer must not be able to sign security events, nor the
// transmitter access tokens. Refresh, cooldown and leeway are jwt's. The
// gateway checks a SET's claims itself and verifies it with
// PurposeRevoke: signature, algorithm, and no repeated claim.
func TransmitterConfig(c *config.Config, log *slog.Logger) (vc VerifierConfig, ok bool) {
	if !c.SSF.Enabled() {
		return VerifierConfig{}, false
	}
	return VerifierConfig{
		JWT: config.JWT{
			JWKSURL:                c.SSF.JWKSURL,
			JWKSFile:               c.SSF.JWKSFile,
			Algorithms:             asymmetricAlgs().names(),
			Leeway:                 c.JWT.Leeway,
			JWKSRefresh:            c.JWT.JWKSRefresh,
			JWKSUnknownKidCooldown: c.JWT.JWKSUnknownKidCooldown,
			SubjectClaim:           "sub",
		},
		MaxTokenLifetime: c.Revocation.MaxTokenLifetime,
		Logger:           log,
		Section:          "ssf",
		// The SET members the receiver reads.
		ReadClaims: []string{"events", "sub_id", "txn", "toe"},
	}, true
}

// asymmetricAlgs is every algorithm of the table but the HMAC ones: a
// transmitter publishes its keys, and a secret shared through a public
// JWKS would let anyone sign. "none" is not in the table.
func asymmetricAlgs() algSet {
	return allAlgs &^ kindAlgs(kindHMAC)
}

package gateway

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
)

// The event types the Shared Signals receiver knows, exactly as CAEP 1.0
// §3, RISC 1.0 §2 and SSF 1.0 (verification event) name them.
const (
	eventSessionRevoked       = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	eventCredentialChange     = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	eventAccountDisabled      = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	eventCredentialCompromise = "https://schemas.openid.net/secevent/risc/event-type/credential-compromise"
	eventSessionsRevoked      = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
	eventVerification         = "https://schemas.openid.net/secevent/ssf/event-type/verification"
)

// ssfEventNames are the metric labels of the known event types; every
// other type counts as "other".
var ssfEventNames = map[string]string{
	eventSessionRevoked:       "session-revoked",
	eventCredentialChange:     "credential-change",
	eventAccountDisabled:      "account-disabled",
	eventCredentialCompromise: "credential-compromise",
	eventSessionsRevoked:      "sessions-revoked",
	eventVerification:         "verification",
}

// ssfEventOther labels events of any other type, and SETs refused before
// their events could be read.
const ssfEventOther = "other"

// The results an event is counted under.
const (
	ssfApplied          = "applied"
	ssfIgnored          = "ignored"
	ssfRefused          = "refused"
	ssfReplayed         = "replayed"
	ssfStoreUnavailable = "store_unavailable"
	// ssfKeysUnavailable: a SET signed with a key not (yet) in the
	// transmitter's key set, which could not be refreshed; delivered again.
	ssfKeysUnavailable = "keys_unavailable"
)

// actorSSF prefixes the transmitter's issuer in audit events.
const actorSSF = "ssf:"

// usedSETPrefix starts the replay record of a SET's jti. Like
// usedLogoutPrefix its first byte is not UTF-8, which no verified jti is,
// and "ssf:" keeps it apart from logout tokens of the same issuer.
const usedSETPrefix = "\xffssf:"

// ssfSettings are the receiver's parts of the configuration, read in one
// place (ssfSettingsFrom).
type ssfSettings struct {
	issuer            string
	audience          []string
	pushPath          string
	pushAuthorization string
	pollURL           string
	pollAuthorization string
	pollInterval      time.Duration
}

// ssfSettingsFrom reads the ssf section.
func ssfSettingsFrom(c *config.Config) ssfSettings {
	s := &c.SSF
	return ssfSettings{
		issuer:            s.Issuer,
		audience:          nonEmptyStrings([]string{s.Audience}),
		pushPath:          s.PushPath,
		pushAuthorization: s.PushAuthorization,
		pollURL:           s.PollURL,
		pollAuthorization: s.PollAuthorization,
		pollInterval:      s.PollInterval,
	}
}

// ssfReceiver receives Security Event Tokens from one Shared Signals
// transmitter, by push (RFC 8935) and by poll (RFC 8936).
type ssfReceiver struct {
	ssfSettings
	// verifier checks SET signatures with the transmitter's keys only.
	verifier TokenVerifier
	// tokenIssuers is jwt.issuer: an iss_sub or jwt_id subject names a
	// token of this gateway only when its iss is one of them.
	tokenIssuers []string
	// pushAuthDigest is the SHA-256 of push_authorization, compared in
	// constant time with the digest of what a request presents.
	pushAuthDigest [32]byte
	events         *prometheus.CounterVec
	polls          *prometheus.CounterVec
	pollClient     *http.Client
	// polling is set while PollSSF runs: one poller per process.
	polling atomic.Bool
}

// newSSFReceiver builds the receiver for s; nil when s has neither a push
// path nor a poll URL.
func newSSFReceiver(s ssfSettings, c *config.Config, v TokenVerifier, reg prometheus.Registerer) (*ssfReceiver, error) {
	if s.pushPath == "" && s.pollURL == "" {
		return nil, nil
	}
	if v == nil {
		return nil, errors.New("gateway: ssf is configured: Options.SSFVerifier is required")
	}
	rc := &ssfReceiver{
		ssfSettings:    s,
		verifier:       v,
		tokenIssuers:   nonEmptyStrings(c.JWT.Issuer),
		pushAuthDigest: sha256.Sum256([]byte(s.pushAuthorization)),
		pollClient: &http.Client{
			Timeout:   ssfPollTimeout,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// A redirect is not followed: net/http would resend the poll's
			// Authorization to another port or scheme of the same host
			// (https to http included). The 3xx is a failed poll, logged
			// with its status, and polling backs off.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	var err error
	rc.events, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "revgate", Name: "ssf_events_total",
		Help: "Shared Signals events received, by event type (session-revoked, credential-change, account-disabled, credential-compromise, sessions-revoked, verification, other) and result (applied, ignored, refused, replayed, store_unavailable, keys_unavailable).",
	}, []string{"event", "result"}))
	if err != nil {
		return nil, err
	}
	rc.polls, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "revgate", Name: "ssf_polls_total",
		Help: "Polls of ssf.poll_url (RFC 8936) by result (ok, error).",
	}, []string{"result"}))
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// ownsPush reports whether clean is the push path.
func (s *ssfReceiver) ownsPush(clean string) bool {
	return s != nil && isOwnPath(clean, s.pushPath)
}

// count records one event's result.
func (s *ssfReceiver) count(event, result string) {
	s.events.WithLabelValues(event, result).Inc()
}

package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// The OAuth endpoints (RFC 7662 introspection, RFC 7009 revocation) are a
// front door like logout: served on the proxy listener at their own paths,
// never forwarded. This file holds what both share: reading the form,
// authenticating the client (RFC 6749 2.3.1), limits, and the one table
// from error to answer.

// maxOAuthBody bounds an OAuth request's form body: a token and client
// credentials fit many times over.
const maxOAuthBody = 64 << 10

// oauthRetryAfter is the Retry-After of a 503: the store is retried by the
// next request anyway, and the breaker fails lookups fast while it is down.
const oauthRetryAfter = "1"

// oauthEndpoint names one endpoint in metrics.
type oauthEndpoint string

const (
	endpointIntrospection oauthEndpoint = "introspection"
	endpointRevocation    oauthEndpoint = "revocation"
)

// oauthClient is a configured client, its id and secret kept as SHA-256
// digests so that every comparison takes the same time.
type oauthClient struct {
	id           string
	idDigest     [sha256.Size]byte
	secretDigest [sha256.Size]byte
	revokeAny    bool
}

// oauthEndpoints is the state of the OAuth endpoints; nil when both are off.
type oauthEndpoints struct {
	introspectionPath, revocationPath string
	clients                           []oauthClient
	// perClient limits each authenticated client (oauth.rate_limit,
	// oauth.rate_burst); failures limits failed authentication per remote
	// address.
	perClient *limiter
	failures  *limiter
	requests  *prometheus.CounterVec
}

func newOAuthEndpoints(c config.OAuth, reg prometheus.Registerer, now func() time.Time) (*oauthEndpoints, error) {
	if !c.Enabled() {
		return nil, nil
	}
	o := &oauthEndpoints{
		introspectionPath: c.IntrospectionPath,
		revocationPath:    c.RevocationPath,
		perClient:         newLimiter(float64(c.RateLimit), float64(c.RateBurst), len(c.Clients)+1, now),
		failures:          newLimiter(authFailureRate, authFailureBurst, maxFailureAddrs, now),
	}
	for _, cl := range c.Clients {
		o.clients = append(o.clients, oauthClient{
			id:           cl.ID,
			idDigest:     sha256.Sum256([]byte(cl.ID)),
			secretDigest: sha256.Sum256([]byte(cl.Secret)),
			revokeAny:    cl.RevokeAny,
		})
	}
	o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "revgate", Name: "oauth_requests_total",
		Help: "Requests to the OAuth endpoints by endpoint (introspection, revocation), client id (\"-\" before authentication) and answer.",
	}, []string{"endpoint", "client", "answer"})
	var err error
	if o.requests, err = registerCounterVec(reg, o.requests); err != nil {
		return nil, err
	}
	return o, nil
}

// endpoint returns which OAuth endpoint the cleaned path is, read as
// isOwnPath reads logout's, or "".
func (o *oauthEndpoints) endpoint(clean string) oauthEndpoint {
	switch {
	case o == nil:
		return ""
	case isOwnPath(clean, o.introspectionPath):
		return endpointIntrospection
	case isOwnPath(clean, o.revocationPath):
		return endpointRevocation
	}
	return ""
}

// oauthError is an OAuth endpoint's refusal: the status, the RFC 6749 §5.2
// error code, and the answer it is counted as.
type oauthError struct {
	status      int
	code        string
	description string
	answer      string
}

func (e *oauthError) Error() string { return e.description }

func invalidRequest(status int, description string) *oauthError {
	return &oauthError{status, "invalid_request", description, "invalid_request"}
}

// The OAuth endpoints' refusals: this table and oauthErrorFor are the one
// place their errors become answers.
var (
	errOAuthMethod      = invalidRequest(http.StatusMethodNotAllowed, "use POST")
	errOAuthContentType = invalidRequest(http.StatusBadRequest, "Content-Type must be application/x-www-form-urlencoded, without Content-Encoding")
	errOAuthTooLarge    = invalidRequest(http.StatusRequestEntityTooLarge, "request body larger than 64 KiB")
	errOAuthBadForm     = invalidRequest(http.StatusBadRequest, "malformed form body")
	errOAuthRepeated    = invalidRequest(http.StatusBadRequest, "a parameter is given more than once")
	errOAuthTwoMethods  = invalidRequest(http.StatusBadRequest, "more than one client authentication method")
	errOAuthNoToken     = invalidRequest(http.StatusBadRequest, "token is required")
	errOAuthClient      = &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed", "invalid_client"}
	errOAuthRateLimited = &oauthError{http.StatusTooManyRequests, "rate_limited", "too many requests; retry later", "rate_limited"}
	errOAuthUnavailable = &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "revocation state cannot be read or written; try again", "store_unavailable"}
	// errIdPKeysUnavailable answers a token pushed by the identity provider
	// (a logout token, a Global Token Revocation bearer) signed by a key
	// the gateway cannot confirm: the kid is unknown and the key set could
	// not be fetched again (jwtverify.ErrKeysUnavailable). The provider
	// may be rotating keys during a JWKS outage, so the push is retried
	// later rather than refused for good.
	errIdPKeysUnavailable = &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "the signing key is not in the key set, which cannot be fetched again now; try again", "keys_unavailable"}
	// errOAuthClientGone writes nothing: nobody is left to read it.
	errOAuthClientGone = &oauthError{499, "", "client closed the request", "client_closed"}
)

// oauthErrorFor maps any error of the endpoints to its row.
func oauthErrorFor(err error) *oauthError {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, errClientGone):
		return errOAuthClientGone
	default: // the store, or anything unforeseen: never a guess at an answer
		return errOAuthUnavailable
	}
}

// proxyOutcome is how an OAuth answer counts in revgate_requests_total.
func (e *oauthError) proxyOutcome() string {
	switch e.status {
	case http.StatusServiceUnavailable:
		return OutcomeStoreUnavailable
	case 499:
		return OutcomeClientClosed
	}
	return OutcomeBadRequest
}

// oauthAnswer is what an OAuth request came to, for its metrics.
type oauthAnswer struct {
	client string // "-" until the client is authenticated
	answer string
}

// serveOAuth answers a request to an OAuth endpoint, whichever listener
// received it, and returns its outcome for the listener's metrics and
// access log.
func (g *Gateway) serveOAuth(w http.ResponseWriter, r *http.Request, ep oauthEndpoint) string {
	a := oauthAnswer{client: "-"}
	err := g.oauthRequest(w, r, ep, &a)
	outcome := OutcomeAllowed
	if err != nil {
		oe := oauthErrorFor(err)
		if oe == errOAuthUnavailable && !errors.Is(err, revocation.ErrUnavailable) {
			g.log.ErrorContext(r.Context(), "oauth request failed", "endpoint", string(ep), "error", err.Error())
		}
		writeOAuthError(w, oe)
		a.answer, outcome = oe.answer, oe.proxyOutcome()
	}
	g.oauth.requests.WithLabelValues(string(ep), a.client, a.answer).Inc()
	return outcome
}

// oauthRequest reads and authenticates the request, then runs the endpoint.
func (g *Gateway) oauthRequest(w http.ResponseWriter, r *http.Request, ep oauthEndpoint, a *oauthAnswer) error {
	o := g.oauth
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return errOAuthMethod
	}
	form, err := readOAuthForm(w, r)
	if err != nil {
		return err
	}
	// Failed authentications are limited per address and presented
	// client id, before the secret is checked, so guessing one client's
	// secret is bounded; keyed by the address alone, one guesser behind an
	// ingress or a load balancer (one address for everyone) would lock
	// every client out.
	key := remoteHost(r) + "\x00" + o.presentedClientID(r, form)
	if ok, wait := o.failures.check(key); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		return errOAuthRateLimited
	}
	cl, err := o.authenticate(r, form)
	if err != nil {
		if errors.Is(err, errOAuthClient) {
			o.failures.spend(key)
			g.log.WarnContext(r.Context(), "oauth client authentication failed", "endpoint", string(ep), "remote_addr", r.RemoteAddr)
		}
		return err
	}
	a.client = cl.id
	if ok, wait := o.perClient.take(cl.id); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		return errOAuthRateLimited
	}
	token := form.Get("token")
	if token == "" {
		return errOAuthNoToken
	}
	if ep == endpointIntrospection {
		a.answer, err = g.introspect(w, r, token)
	} else {
		a.answer, err = g.revoke(w, r, cl, token, form.Get("token_type_hint"))
	}
	return err
}

// readOAuthForm reads the form body: application/x-www-form-urlencoded
// (RFC 6749 §4.1.3), at most maxOAuthBody, each parameter at most once
// (§3.2). The query is not read: credentials and tokens belong in the
// body.
func readOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if !hasMediaType(r, "application/x-www-form-urlencoded") {
		return nil, errOAuthContentType
	}
	b, err := readOwnBody(w, r, errOAuthBadForm)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errOAuthBadForm
	}
	for _, v := range form {
		if len(v) > 1 {
			return nil, errOAuthRepeated
		}
	}
	return form, nil
}

// authenticate finds the client by client_secret_basic or
// client_secret_post, exactly one of them. The presented id and secret
// are compared as SHA-256 digests with every configured client's, in
// constant time and without stopping at a match, so an unknown client and
// a wrong secret take the same time.
func (o *oauthEndpoints) authenticate(r *http.Request, form url.Values) (*oauthClient, error) {
	var id, secret string
	_, postSecret := form["client_secret"]
	switch authz := r.Header.Values("Authorization"); {
	case len(authz) > 1:
		return nil, errOAuthClient
	case len(authz) == 1:
		if postSecret {
			return nil, errOAuthTwoMethods
		}
		var ok bool
		if id, secret, ok = parseBasic(authz[0]); !ok {
			return nil, errOAuthClient
		}
		// A client may name itself in the body too (RFC 6749 §3.2.1); it
		// must then be the one authenticated.
		if postID, named := form["client_id"]; named && postID[0] != id {
			return nil, errOAuthClient
		}
	case postSecret:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	default:
		return nil, errOAuthClient
	}
	idDigest, secretDigest := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	var found *oauthClient
	for i := range o.clients {
		c := &o.clients[i]
		if subtle.ConstantTimeCompare(idDigest[:], c.idDigest[:])&subtle.ConstantTimeCompare(secretDigest[:], c.secretDigest[:]) == 1 {
			found = c
		}
	}
	if found == nil {
		return nil, errOAuthClient
	}
	return found, nil
}

// presentedClientID is the configured client a request names, by Basic or
// in the form, whether or not it authenticates; "" for none or an id no
// client has, so made-up ids share their address's one bucket and cannot
// fill the limiter (client ids are not secrets).
func (o *oauthEndpoints) presentedClientID(r *http.Request, form url.Values) string {
	id := form.Get("client_id")
	if authz := r.Header.Values("Authorization"); len(authz) == 1 {
		if basicID, _, ok := parseBasic(authz[0]); ok {
			id = basicID
		}
	}
	for i := range o.clients {
		if o.clients[i].id == id {
			return id
		}
	}
	return ""
}

// parseBasic reads client_secret_basic: "Basic " and the base64 of
// id ":" secret, each form-urlencoded first (RFC 6749 2.3.1).
func parseBasic(h string) (id, secret string, ok bool) {
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	encID, encSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(encID); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// remoteHost is the peer's address without its port: failed
// authentication is limited per address, whatever port each attempt
// comes from.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// writeOAuthError writes a refusal as RFC 6749 §5.2 describes it, with the
// Basic challenge of RFC 6749 §5.2 on invalid_client and Retry-After on a
// store outage.
func writeOAuthError(w http.ResponseWriter, oe *oauthError) {
	if oe.code == "" {
		w.WriteHeader(oe.status)
		return
	}
	switch oe.status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="revgate"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", oauthRetryAfter)
	}
	body := errorBody{Error: oe.code}
	if oe != errOAuthClient {
		// invalid_client says nothing more: which part failed is a hint
		// for a guesser.
		body.Description = oe.description
	}
	writeJSON(w, oe.status, body)
}

// oauthClaims are the claims the OAuth endpoints read from a verified
// token beyond the verifier's own (introspection answers them; revocation
// matches client_id and azp against the caller).
var oauthClaims = []string{"scope", "client_id", "azp", "token_type"}

// ReadClaims lists the claims the gateway reads from verified tokens
// besides those the verifier knows of from the JWT configuration, for
// jwtverify.VerifierConfig.ReadClaims: a token repeating one of them is
// refused rather than read with whichever copy a JSON library keeps.
func ReadClaims(cfg *config.Config) []string {
	var names []string
	if cfg.OAuth.IntrospectionPath != "" || cfg.OAuth.RevocationPath != "" {
		names = append(names, oauthClaims...)
	}
	if cfg.BackchannelLogout.Enabled() {
		names = append(names, backchannelClaims...)
	}
	if claim := cfg.EmailMarkClaim(); claim != "" {
		names = append(names, claim)
	}
	return names
}

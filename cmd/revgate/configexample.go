package main

import (
	"crypto/rand"
	"encoding/hex"
	"text/template"

	"github.com/spf13/cobra"
)

func newConfigExampleCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "example",
		Short: "Print a commented starting configuration",
		Long: `Print a commented configuration to start from: every common key with revgate's
default value and what it does. It passes "revgate config check" as printed;
edit the lines marked EDIT (your upstream, your issuer's keys, issuer and
audience) before "revgate serve" can verify real tokens.

The admin token in it is a fresh random value made for this output, never a
shared default; prefer token_file (a Secret mount in Kubernetes).`,
		Example: `  revgate config example > revgate.yaml
  revgate config check --config revgate.yaml
  revgate serve --config revgate.yaml`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return configExample.Execute(cmd.OutOrStdout(), map[string]string{"AdminToken": newAdminToken()})
		},
	}
}

// newAdminToken is 256 random bits as hex, as the chart's
// "openssl rand -hex 32" makes them.
func newAdminToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// configExample is the README's minimal configuration with every common
// key. Values are revgate's defaults except on the EDIT lines, which a test
// checks, so the example cannot drift from what revgate does.
var configExample = template.Must(template.New("example").Parse(`# revgate configuration, printed by "revgate config example".
#
#   revgate config check --config revgate.yaml   # validate; prints it, secrets redacted
#   revgate serve --config revgate.yaml
#
# Edit the lines marked EDIT. Every key can be overridden by an environment
# variable: REVGATE_ + the key path in upper case with "." as "_"
# (revocation.redis.url -> REVGATE_REVOCATION_REDIS_URL). Durations use Go
# syntax (30s, 24h). Unknown keys are an error, so a typo cannot silently
# weaken a check. Values below are the defaults unless marked EDIT.

listen: ":8080"                       # the proxy listener clients call

upstream:
  url: "http://127.0.0.1:3000"        # EDIT: the API behind the gateway (required)
  timeout: 30s                        # for the upstream's response headers, then 504
  strip_authorization: false          # true: drop the Authorization header before forwarding

# Auth mode by path prefix; the longest matching prefix wins, and a path no
# route matches needs a token. A prefix matches whole segments: "/health"
# matches /health and /health/live, never /healthy; a prefix ending in "/"
# matches every path that starts with it.
routes:                               # EDIT: your public paths, if any
  - prefix: "/health"
    auth: none                        # none | required (default) | refresh
  # - prefix: "/api/token/refresh/"
  #   auth: refresh                   # the token is the JSON body's "refresh" field

jwt:
  # Where the verification keys come from: at least one of these.
  jwks_url: "https://issuer.example.com/.well-known/jwks.json"   # EDIT: your issuer's JWKS (https)
  # jwks_file: "jwks.json"            # a local JWKS file
  # public_key_files: ["public.pem"]  # PEM public keys, e.g. from "revgate token keygen"
  # hmac_secret_file: "jwt-secret"    # an HS256/384/512 secret
  algorithms: ["RS256"]               # EDIT: the allow-list; a key is only used with its own algorithm
  issuer: "https://issuer.example.com"   # EDIT: iss must match ("" = not checked)
  audience: "my-api"                  # EDIT: aud must contain it ("" = not checked)
  leeway: 30s                         # clock skew allowed on exp, nbf and iat
  subject_claim: "sub"                # the claim naming the user (simplejwt: user_id)
  session_claim: "sid"                # the IdP session id checked against revoked sessions ("" = off)
  required_claims: {}                 # claim: exact value, e.g. {token_type: access}
  lookup: ["header:Authorization:Bearer"]   # where the token is; also "cookie:NAME", "query:NAME"
  forward_headers:                    # upstream header <- claim; clients' own copies are removed
    X-Revgate-Subject: sub

revocation:
  store: redis                        # redis | memory (one instance only, forgotten on restart)
  redis:
    url: "redis://127.0.0.1:6379/0"   # redis:// or rediss://; Sentinel and Cluster: see the README
    # password_file: "/var/run/secrets/redis/password"   # the path of a Kubernetes Secret mount in a pod
    key_prefix: "revgate:"
  on_store_error: closed              # closed: 503 while the store is down | open: forward, log and count
  max_token_lifetime: 24h             # at least the longest lifetime your issuer gives a token

logout:
  path: "/auth/logout"                # self-service logout on the proxy listener; "" turns it off

backchannel_logout:                   # OpenID Connect Back-Channel Logout from your identity provider
  path: ""                            # e.g. "/oidc/backchannel-logout"; "" (default) = off; needs jwt.issuer
  audience: []                        # when on: the client id(s) registered with this logout URL
  max_age: 5m                         # a logout token's iat may be at most this old (plus leeway)

ssf:                                  # Shared Signals (CAEP, RISC) from your identity provider; off by default
  push_path: ""                       # e.g. "/ssf/events"; "" (default) = no push endpoint
  # push_authorization_file: "/var/run/secrets/revgate/ssf-push"   # the Authorization value the transmitter sends (required with push_path)
  poll_url: ""                        # the transmitter's poll endpoint; "" (default) = no polling
  # poll_authorization_file: "/var/run/secrets/revgate/ssf-poll"   # the Authorization value sent when polling
  # issuer: "https://transmitter.example"      # when on: the SETs' iss (required)
  # jwks_url: "https://transmitter.example/jwks"   # when on: the transmitter's keys (or jwks_file)
  # audience: "https://revgate.example"        # when on: the SETs' aud (required)
  poll_interval: 5s                   # the pause between polls that found nothing
  email_claim: "email"                # the access-token claim that email subjects of events match

global_revocation:                    # Global Token Revocation (Okta Universal Logout)
  path: ""                            # e.g. "/global-token-revocation"; "" (default) = off; needs jwt.issuer
  audience: ""                        # when on: this endpoint's public https:// URL, the bearer JWT's aud
  client_ids: []                      # when on: the IdP client id(s) allowed to call it, the bearer JWT's sub (Okta: the app's client id)
  email_claim: ""                     # access-token claim "email" subjects match; "" refuses that format

admin:
  listen: "127.0.0.1:9090"            # the admin API, /healthz, /readyz and /metrics
  tokens:
    - name: "ops"                     # who acted, in the audit log (the token never is)
      # A fresh random token made for this example; the admin CLI reads it
      # from REVGATE_ADMIN_TOKEN. Prefer a file: token_file (in a pod, e.g.
      # the Secret mount /var/run/secrets/revgate/admin-token).
      token: "{{.AdminToken}}"

console:                              # the admin console, /console/ on the admin listener
  enabled: true                       # sign in with an admin token; false turns it off
  session_ttl: 8h                     # how long a console sign-in lasts
  trail_length: 10000                 # about how many recent changes the trail keeps

log:
  level: info                         # debug | info | warn (no access log) | error
  format: json                        # json | text
`))

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/template"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/revocation"
)

const (
	demoIssuer   = "https://issuer.revgate.demo"
	demoAudience = "demo-api"
)

func newDemoCommand() *cobra.Command {
	var listen, adminListen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything on this machine with no setup, and print what to try",
		Long: `Run a complete revgate on this machine with no setup: an in-memory revocation
store, a demo upstream API, a freshly generated ES256 signing key served as a
JWKS, and sample tokens. It prints ready-to-paste curl commands that show a
token accepted, revoked through the admin API, and then rejected.

The admin API has no authentication in the demo (admin.insecure_no_auth), so
both listeners bind to 127.0.0.1 only by default. Stop it with Ctrl-C.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, listen, adminListen, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "proxy listener address")
	cmd.Flags().StringVar(&adminListen, "admin-listen", "127.0.0.1:9090", "admin listener address")
	return cmd
}

// runDemo starts the demo's key server and upstream, then the gateway.
func runDemo(ctx context.Context, listen, adminListen string, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, config.Log{Level: "info", Format: "text"})

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	key, err := jwk.FromRaw(priv)
	if err != nil {
		return err
	}
	_ = key.Set(jwk.KeyIDKey, "demo-"+randomID()[:8])
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, err := key.PublicKey()
	if err != nil {
		return err
	}
	jwksURL, stopJWKS, err := serveLocal(jwksHandler(pub))
	if err != nil {
		return err
	}
	defer stopJWKS()
	upstreamURL, stopUpstream, err := serveLocal(http.HandlerFunc(demoUpstream))
	if err != nil {
		return err
	}
	defer stopUpstream()

	cfg := config.Default()
	cfg.Listen = listen
	cfg.Admin.Listen = adminListen
	cfg.Admin.InsecureNoAuth = true
	cfg.Upstream.URL = upstreamURL
	cfg.JWT.JWKSURL = jwksURL + "/.well-known/jwks.json"
	cfg.JWT.Algorithms = []string{"ES256"}
	cfg.JWT.Issuer = config.StringList{demoIssuer}
	cfg.JWT.Audience = config.StringList{demoAudience}
	cfg.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
	cfg.Revocation.Store = "memory"
	cfg.Revocation.Redis = config.Redis{}
	cfg.Log = config.Log{Level: "info", Format: "text"}
	cfg.Server.DrainDelay = 0
	if err := cfg.Validate(jwtverify.CheckAlgorithms); err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}

	tokens := map[string]string{}
	for name, sub := range map[string]string{"Alice": "alice", "Alice2": "alice", "Bob": "bob"} {
		tok, err := mint(key, jwa.ES256, mintRequest{Subject: sub, Issuer: demoIssuer, Audience: []string{demoAudience}, TTL: time.Hour})
		if err != nil {
			return err
		}
		tokens[name] = tok
	}
	printed := func(proxyAddr, adminAddr string) {
		_ = demoHelp.Execute(stdout, map[string]any{
			"Proxy": "http://" + proxyAddr, "Admin": "http://" + adminAddr, "Tokens": tokens, "JWKS": cfg.JWT.JWKSURL,
		})
	}
	return serveWithStore(ctx, &cfg, logger, revocation.NewMemory(nil), nil, printed)
}

// serveLocal serves h on a free loopback port until stop is called.
func serveLocal(h http.Handler) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func jwksHandler(pub jwk.Key) http.Handler {
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// demoUpstream stands for the API behind the gateway: it shows what it
// received, including the subject header the gateway adds.
func demoUpstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"message":         "hello from the demo upstream",
		"method":          r.Method,
		"path":            r.URL.Path,
		"subject":         r.Header.Get("X-Revgate-Subject"),
		"x_forwarded_for": r.Header.Get("X-Forwarded-For"),
	})
}

var demoHelp = template.Must(template.New("demo").Parse(`
revgate demo is running.
  proxy:    {{.Proxy}}   (forwards to a demo upstream; /public/ needs no token)
  admin:    {{.Admin}}   (admin API; no auth in the demo)
  JWKS:     {{.JWKS}}

Sample tokens (ES256, valid for one hour):
  export ALICE='{{index .Tokens "Alice"}}'
  export ALICE2='{{index .Tokens "Alice2"}}'
  export BOB='{{index .Tokens "Bob"}}'

1. A valid token is accepted (200, the upstream sees subject "alice"):
  curl -i -H "Authorization: Bearer $ALICE" {{.Proxy}}/hello

2. No token, or a tampered one, is refused (401):
  curl -i {{.Proxy}}/hello
  curl -i -H "Authorization: Bearer ${ALICE}x" {{.Proxy}}/hello

3. Revoke Alice's first token through the admin API:
  curl -i -X POST {{.Admin}}/v1/revocations/tokens -d "{\"token\": \"$ALICE\"}"

4. The very next request with it is rejected (401 "token has been revoked"),
   while her other token still works:
  curl -i -H "Authorization: Bearer $ALICE" {{.Proxy}}/hello
  curl -i -H "Authorization: Bearer $ALICE2" {{.Proxy}}/hello

5. Log Alice out everywhere (revoke her subject), then check both users:
  curl -i -X POST {{.Admin}}/v1/revocations/subjects/alice -d '{"reason": "laptop stolen"}'
  curl -i -H "Authorization: Bearer $ALICE2" {{.Proxy}}/hello    # 401
  curl -i -H "Authorization: Bearer $BOB" {{.Proxy}}/hello       # 200

6. Self-service logout: Bob revokes his own token:
  curl -i -X POST -H "Authorization: Bearer $BOB" {{.Proxy}}/auth/logout
  curl -i -H "Authorization: Bearer $BOB" {{.Proxy}}/hello       # 401

Inspect state:  curl -s {{.Admin}}/v1/revocations/subjects/alice
Readiness:      curl -s {{.Admin}}/readyz
Metrics:        curl -s {{.Admin}}/metrics | grep ^revgate_

Press Ctrl-C to stop.
`))

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/template"
	"time"

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

// demoOptions are the flags of `revgate demo`.
type demoOptions struct {
	listen, adminListen string
	keyDir              string
}

func newDemoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything on this machine with no setup, and print what to try",
		Long: `Run a complete revgate on this machine with no setup: an in-memory revocation
store, a demo upstream API, a freshly generated ES256 signing key served as a
JWKS, and sample tokens. It prints ready-to-paste curl commands that show a
token accepted, revoked through the admin API, and then rejected.

With --key-dir DIR the demo signs with the key in DIR/private.pem, or, when
there is none, makes one and writes it there as "revgate token keygen" does
(private.pem, public.pem, jwks.json; existing files are never overwritten).
Tokens you mint with it are accepted, and a restarted demo keeps accepting
them:

  revgate token mint --key DIR/private.pem --iss ` + demoIssuer + ` --aud ` + demoAudience + ` --sub carol

The admin API and the admin console (/console/ on the admin listener, for a
browser) have no authentication in the demo (admin.insecure_no_auth), so
both listeners bind to 127.0.0.1 only by default. Stop it with Ctrl-C.

Exit codes: 0 after Ctrl-C; 1 when it cannot start (a port in use: choose
another with --listen or --admin-listen); 2 bad usage.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "proxy listener address")
	cmd.Flags().StringVar(&o.adminListen, "admin-listen", "127.0.0.1:9090", "admin listener address")
	cmd.Flags().StringVar(&o.keyDir, "key-dir", "", "sign with DIR/private.pem, making and writing the key there when there is none, so tokens minted with it are accepted")
	return cmd
}

// demoKey is the demo's signing key: a fresh one, or with a key directory
// the one there, made and written first when there is none.
func demoKey(dir string) (k *keyPair, made bool, err error) {
	if dir == "" {
		k, err = generateKeyPair("ES256")
		return k, true, err
	}
	p := keyPairPathsIn(dir)
	if _, err := os.Stat(p.private); err == nil {
		k, err := loadKeyPair(p.private)
		if err != nil {
			return nil, false, fmt.Errorf("--key-dir: %w", err)
		}
		return k, false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("--key-dir: %w", err)
	}
	if k, err = generateKeyPair("ES256"); err != nil {
		return nil, false, err
	}
	if err := k.write(p, false); err != nil {
		if errors.Is(err, errKeyFileExists) {
			return nil, false, fmt.Errorf("--key-dir: %w, but %s does not; remove it or choose another --key-dir", err, p.private)
		}
		return nil, false, fmt.Errorf("--key-dir: %w", err)
	}
	return k, true, nil
}

// checkDemoPorts names the flag to change when a listener address is taken,
// the demo's most likely failure (a second demo, or anything else on 8080).
// Both are held at once, so the same address given twice is caught too.
func checkDemoPorts(o demoOptions) error {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for _, l := range []struct{ flag, addr string }{{"--listen", o.listen}, {"--admin-listen", o.adminListen}} {
		ln, err := net.Listen("tcp", l.addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s %s: address already in use; choose another address with %s", l.flag, l.addr, l.flag)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", l.flag, l.addr, err)
		}
		held = append(held, ln)
	}
	return nil
}

// runDemo starts the demo's key server and upstream, then the gateway.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, config.Log{Level: "info", Format: "text"})
	if err := checkDemoPorts(o); err != nil {
		return err
	}
	k, made, err := demoKey(o.keyDir)
	if err != nil {
		return err
	}
	jwksURL, stopJWKS, err := serveLocal(jwksHandler(k.public))
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
	cfg.Listen = o.listen
	cfg.Admin.Listen = o.adminListen
	cfg.Admin.InsecureNoAuth = true
	cfg.Upstream.URL = upstreamURL
	cfg.JWT.JWKSURL = jwksURL + "/.well-known/jwks.json"
	cfg.JWT.Algorithms = []string{string(k.alg)}
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
		tok, err := mint(k.private, k.alg, mintRequest{Subject: sub, Issuer: demoIssuer, Audience: []string{demoAudience}, TTL: time.Hour})
		if err != nil {
			return err
		}
		tokens[name] = tok
	}
	data := map[string]any{"Tokens": tokens, "JWKS": cfg.JWT.JWKSURL, "Alg": string(k.alg)}
	if o.keyDir != "" {
		data["KeyDir"], data["KeyMade"] = o.keyDir, made
		data["Mint"] = fmt.Sprintf("revgate token mint --key %s --iss %s --aud %s --sub carol",
			shellQuote(keyPairPathsIn(o.keyDir).private), demoIssuer, demoAudience)
	}
	printed := func(proxyAddr, adminAddr string) {
		data["Proxy"], data["Admin"] = "http://"+proxyAddr, "http://"+adminAddr
		_ = demoHelp.Execute(stdout, data)
	}
	err = serveWithStore(ctx, &cfg, logger, revocation.NewMemory(nil), nil, printed)
	if errors.Is(err, syscall.EADDRINUSE) {
		// Taken between checkDemoPorts and now.
		return fmt.Errorf("%w (choose other addresses with --listen and --admin-listen)", err)
	}
	return err
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
  console:  {{.Admin}}/console/   (the admin console, in a browser)
  JWKS:     {{.JWKS}}

Sample tokens ({{.Alg}}, valid for one hour):
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
{{if .KeyDir}}
Your own tokens: the signing key is {{if .KeyMade}}written to{{else}}read from{{end}} {{.KeyDir}}
(private.pem, public.pem, jwks.json). Tokens minted with it are accepted:
  export CAROL=$({{.Mint}})
  curl -i -H "Authorization: Bearer $CAROL" {{.Proxy}}/hello
{{else}}
To mint tokens of your own, restart with --key-dir DIR (see revgate demo --help).
{{end}}
Press Ctrl-C to stop.
`))

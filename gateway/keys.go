package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

// KeyInfo describes one loaded verification key for logs, /readyz and the
// admin API. It never carries key material.
type KeyInfo struct {
	// KID is the key's kid; "" for PEM files and hmac_secret.
	KID string
	// Alg is the algorithm the key is bound to, or, for a key that carries
	// none, the comma-separated allowed algorithms its type can be used with
	// ("RS256,PS256").
	Alg string
	// Source is where the key came from: "jwks_url", "jwks_file",
	// "public_key_files" or "hmac_secret".
	Source string
	// FetchedAt is when the key was loaded or last fetched.
	FetchedAt time.Time
}

// Key sources, as reported in KeyInfo.Source.
const (
	sourceJWKSURL    = "jwks_url"
	sourceJWKSFile   = "jwks_file"
	sourcePEM        = "public_key_files"
	sourceHMACSecret = "hmac_secret"
)

const (
	// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
	minRSABits = 2048
	// minHMACBytes is the smallest HMAC secret accepted: the output size of
	// SHA-256 (RFC 7518 §3.2).
	minHMACBytes = 32
	// maxJWKSBytes bounds a remote JWKS response, so a broken or hostile
	// issuer cannot make every gateway buffer an endless body.
	maxJWKSBytes = 1 << 20
	// jwksFetchTimeout bounds one fetch of jwks_url when the default HTTP
	// client is used, and the synchronous first fetch in NewVerifier.
	jwksFetchTimeout = 10 * time.Second
	// jwksRetryMin and jwksRetryMax bound the backoff between fetches while
	// jwks_url has never answered with a usable key set.
	jwksRetryMin = 250 * time.Millisecond
	jwksRetryMax = 30 * time.Second
	// defaultJWKSRefresh and defaultUnknownKidCooldown mirror the config
	// defaults for a VerifierConfig built by hand.
	defaultJWKSRefresh        = 5 * time.Minute
	defaultUnknownKidCooldown = 30 * time.Second
)

// keyKind is the type of a verification key; an algorithm is only ever used
// with keys of its own kind.
type keyKind uint8

const (
	kindRSA keyKind = iota + 1
	kindP256
	kindP384
	kindP521
	kindEd25519
	kindHMAC
)

func (k keyKind) String() string {
	switch k {
	case kindRSA:
		return "RSA"
	case kindP256:
		return "EC P-256"
	case kindP384:
		return "EC P-384"
	case kindP521:
		return "EC P-521"
	case kindEd25519:
		return "Ed25519"
	case kindHMAC:
		return "HMAC"
	}
	return "unknown"
}

// verifyKey is one usable public key (or HMAC secret), bound to the
// algorithms it may verify.
type verifyKey struct {
	info KeyInfo
	kind keyKind
	// algs are the allowed algorithms this key may be used with: its own
	// alg, or every allowed alg of its kind when it has none.
	algs algSet
	// key is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte,
	// stored as an interface once so verification does not box it.
	key any
}

// keySet is an immutable snapshot of every usable key, indexed for Verify.
// A new snapshot replaces the old one whenever jwks_url is refetched.
type keySet struct {
	keys []*verifyKey
	// byKID holds the keys that have a kid.
	byKID map[string][]*verifyKey
	// byAlg holds, per algorithm, every key usable with it (tokens without
	// kid); noKID only the keys without a kid (tokens whose kid names no
	// key, e.g. a PEM key behind an issuer that sets kid).
	byAlg [numAlgs][]*verifyKey
	noKID [numAlgs][]*verifyKey
}

func newKeySet(groups ...[]*verifyKey) *keySet {
	s := &keySet{byKID: make(map[string][]*verifyKey)}
	for _, g := range groups {
		for _, k := range g {
			s.keys = append(s.keys, k)
			if k.info.KID != "" {
				s.byKID[k.info.KID] = append(s.byKID[k.info.KID], k)
			}
			for a := range numAlgs {
				if !k.algs.has(a) {
					continue
				}
				s.byAlg[a] = append(s.byAlg[a], k)
				if k.info.KID == "" {
					s.noKID[a] = append(s.noKID[a], k)
				}
			}
		}
	}
	return s
}

// lookup returns the keys to try for a token with header alg a and, when
// hasKID, header kid. kidKnown reports whether some key carries that kid.
// Keys in the result may still be incompatible with a (same kid, other
// type); the caller skips those.
func (s *keySet) lookup(kid []byte, hasKID bool, a alg) (keys []*verifyKey, kidKnown bool) {
	if !hasKID {
		return s.byAlg[a], false
	}
	ks, ok := s.byKID[string(kid)]
	if ok {
		for _, k := range ks {
			if k.algs.has(a) {
				return ks, true
			}
		}
	}
	return s.noKID[a], ok
}

func (s *keySet) infos() []KeyInfo {
	out := make([]KeyInfo, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.info
	}
	return out
}

// newKey binds a parsed public key to the allowed algorithms it may be used
// with. keyAlg is the key's own alg ("" when it has none). The error says
// why the key is unusable, without key material.
func newKey(raw any, kid, keyAlg, source string, allowed algSet, now time.Time) (*verifyKey, error) {
	kind, key, err := classifyKey(raw)
	if err != nil {
		return nil, err
	}
	var algs algSet
	if keyAlg != "" {
		a, ok := parseAlg(keyAlg)
		if !ok {
			return nil, &skipKeyError{fmt.Sprintf("alg %q is not a supported signature algorithm", keyAlg)}
		}
		if algTable[a].kind != kind {
			return nil, fmt.Errorf("alg %s does not fit %s keys", keyAlg, kind)
		}
		if !allowed.has(a) {
			return nil, &skipKeyError{fmt.Sprintf("alg %s is not in jwt.algorithms", keyAlg)}
		}
		algs = algSet(1) << a
	} else {
		algs = allowed & kindAlgs(kind)
		if algs == 0 {
			return nil, &skipKeyError{fmt.Sprintf("jwt.algorithms allows no algorithm for %s keys", kind)}
		}
	}
	return &verifyKey{
		info: KeyInfo{KID: kid, Alg: algs.String(), Source: source, FetchedAt: now},
		kind: kind,
		algs: algs,
		key:  key,
	}, nil
}

// skipKeyError marks a key that is fine but not for us (an encryption key,
// an algorithm not allowed here): JWKS loading skips it instead of failing.
type skipKeyError struct{ reason string }

func (e *skipKeyError) Error() string { return e.reason }

// classifyKey checks a public key's type and strength.
func classifyKey(raw any) (keyKind, any, error) {
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return 0, nil, fmt.Errorf("RSA key shorter than %d bits", minRSABits)
		}
		return kindRSA, k, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return kindP256, k, nil
		case elliptic.P384():
			return kindP384, k, nil
		case elliptic.P521():
			return kindP521, k, nil
		}
		return 0, nil, &skipKeyError{"unsupported elliptic curve"}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return 0, nil, errors.New("malformed Ed25519 key")
		}
		return kindEd25519, k, nil
	case []byte:
		if len(k) < minHMACBytes {
			return 0, nil, fmt.Errorf("HMAC key shorter than %d bytes (RFC 7518 §3.2)", minHMACBytes)
		}
		return kindHMAC, k, nil
	}
	return 0, nil, &skipKeyError{fmt.Sprintf("unsupported key type %T", raw)}
}

// loadStaticKeys loads jwks_file, public_key_files and the HMAC secret.
// Errors name the configuration key; none contains key material.
func loadStaticKeys(cfg config.JWT, allowed algSet, now time.Time, log *slog.Logger) ([]*verifyKey, error) {
	var keys []*verifyKey
	if cfg.JWKSFile != "" {
		data, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("jwt.jwks_file: %w", err)
		}
		set, err := jwk.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("jwt.jwks_file: not a valid JWKS: %w", err)
		}
		ks, err := keysFromSet(set, sourceJWKSFile, allowed, now, log)
		if err != nil {
			return nil, fmt.Errorf("jwt.jwks_file: %w", err)
		}
		if len(ks) == 0 {
			return nil, errors.New("jwt.jwks_file: no usable signature verification key for jwt.algorithms")
		}
		keys = append(keys, ks...)
	}
	for i, path := range cfg.PublicKeyFiles {
		k, err := loadPEMKey(path, allowed, now)
		if err != nil {
			return nil, fmt.Errorf("jwt.public_key_files[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	secret, name, err := hmacSecret(cfg)
	if err != nil {
		return nil, err
	}
	if secret != nil {
		k, err := newKey(secret, "", "", sourceHMACSecret, allowed, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// hmacSecret returns the configured HMAC secret and the key that named it.
func hmacSecret(cfg config.JWT) (secret []byte, name string, err error) {
	// config.Load reads hmac_secret_file into HMACSecret: the config
	// package is the one reader of secret files, so every secret is
	// trimmed and checked the same way.
	switch {
	case cfg.HMACSecret != "" && cfg.HMACSecretFile != "":
		return []byte(cfg.HMACSecret), "jwt.hmac_secret_file", nil
	case cfg.HMACSecret != "":
		return []byte(cfg.HMACSecret), "jwt.hmac_secret", nil
	case cfg.HMACSecretFile != "":
		return nil, "", errors.New("jwt.hmac_secret_file: not loaded (load the configuration with config.Load)")
	}
	return nil, "", nil
}

// loadPEMKey reads a file holding exactly one PEM block: a PKIX public key,
// a PKCS#1 RSA public key or a certificate (whose key is used as is; its
// validity dates and chain are not checked, as with any JWT verifier).
func loadPEMKey(path string, allowed algSet, now time.Time) (*verifyKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block; give one public key per file")
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			pub = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("holds a private key; give the public key (the gateway never needs the signing key)")
		}
		return nil, fmt.Errorf("unsupported PEM block %q (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
	}
	if err != nil {
		return nil, err
	}
	k, err := newKey(pub, "", "", sourcePEM, allowed, now)
	if err != nil {
		return nil, err // a skip is an error here: the operator named this key
	}
	return k, nil
}

// keysFromSet converts a JWKS. Keys that are not for signature verification
// here (use "enc", an alg not allowed, an unsupported curve) are skipped and
// logged. A dangerous key fails a local file and is skipped, loudly, in a
// remote set: a private key, a weak key, or a symmetric key served by a URL
// anyone can read.
func keysFromSet(set jwk.Set, source string, allowed algSet, now time.Time, log *slog.Logger) ([]*verifyKey, error) {
	var keys []*verifyKey
	for i := range set.Len() {
		jk, _ := set.Key(i)
		kid := jk.KeyID()
		k, err := keyFromJWK(jk, source, allowed, now)
		if err == nil {
			keys = append(keys, k)
			continue
		}
		var skip *skipKeyError
		switch {
		case errors.As(err, &skip):
			// A remote set is re-read every refresh: say it once per load
			// at info for a file, at debug for the URL.
			level := slog.LevelInfo
			if source == sourceJWKSURL {
				level = slog.LevelDebug
			}
			log.Log(context.Background(), level, "jwks key skipped", "source", source, "index", i, "kid", kid, "reason", err.Error())
		case source == sourceJWKSURL:
			log.Warn("jwks key rejected", "source", source, "index", i, "kid", kid, "reason", err.Error())
		default:
			return nil, fmt.Errorf("keys[%d] (kid %q): %w", i, kid, err)
		}
	}
	return keys, nil
}

func keyFromJWK(jk jwk.Key, source string, allowed algSet, now time.Time) (*verifyKey, error) {
	if ak, ok := jk.(jwk.AsymmetricKey); ok && ak.IsPrivate() {
		return nil, errors.New("is a private key; publish and configure public keys only")
	}
	if _, ok := jk.(jwk.SymmetricKey); ok && source == sourceJWKSURL {
		return nil, errors.New("symmetric key in a remote JWKS: anyone who can fetch it could sign tokens")
	}
	if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, &skipKeyError{fmt.Sprintf("use %q is not sig", use)}
	}
	if ops := jk.KeyOps(); len(ops) > 0 {
		verify := false
		for _, op := range ops {
			verify = verify || op == jwk.KeyOpVerify
		}
		if !verify {
			return nil, &skipKeyError{"key_ops does not include verify"}
		}
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, fmt.Errorf("unusable key: %w", err)
	}
	return newKey(raw, jk.KeyID(), jk.Algorithm().String(), source, allowed, now)
}

// remoteJWKS keeps jwks_url in a jwk.Cache that refreshes it in the
// background every jwks_refresh, and refetches it at most once per cooldown
// when a token names a kid no loaded key carries.
type remoteJWKS struct {
	url string
	// logURL is url with any password redacted, for logs and errors.
	logURL   string
	cache    *jwk.Cache
	cooldown time.Duration
	now      func() time.Time
	log      *slog.Logger
	// ctx is the verifier's lifetime: background fetches stop with it.
	ctx context.Context
	// loaded is set once a fetch has produced a usable key set.
	loaded atomic.Bool
	// observe is told every fetch's outcome (never nil).
	observe func(error)

	mu sync.Mutex
	// lastKIDFetch is when the last unknown-kid refetch started.
	lastKIDFetch time.Time
	// inflight is closed when the running unknown-kid refetch ends; nil
	// when none runs.
	inflight chan struct{}
}

// newRemoteJWKS registers jwks_url with a jwk.Cache bound to ctx. Fetched
// sets reach the verifier through onKeys, which returns an error (keeping
// the last good set, both in the cache and in the verifier) when a set has
// no usable key.
func newRemoteJWKS(ctx context.Context, cfg VerifierConfig, log *slog.Logger, now func() time.Time, onKeys func(jwk.Set) error) (*remoteJWKS, error) {
	u, err := url.Parse(cfg.JWT.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("jwt.jwks_url: expected an absolute http:// or https:// URL")
	}
	refresh := cfg.JWT.JWKSRefresh
	if refresh <= 0 {
		refresh = defaultJWKSRefresh
	}
	// httprc checks for due refreshes once per window and refuses an
	// interval shorter than the window; it also ignores windows under 1s.
	refresh = max(refresh, time.Second)
	cooldown := cfg.JWT.JWKSUnknownKidCooldown
	if cooldown <= 0 {
		cooldown = defaultUnknownKidCooldown
	}
	if h := u.Hostname(); u.Scheme == "http" && h != "localhost" && !isLoopbackIP(h) {
		log.Warn("jwt.jwks_url uses plain http: anyone on the network path can substitute signing keys", "url", config.RedactURL(cfg.JWT.JWKSURL))
	}
	r := &remoteJWKS{
		url:      cfg.JWT.JWKSURL,
		logURL:   config.RedactURL(cfg.JWT.JWKSURL),
		cooldown: cooldown,
		now:      now,
		log:      log,
		ctx:      ctx,
		observe:  cfg.OnJWKSFetch,
	}
	if r.observe == nil {
		r.observe = func(error) {}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:   jwksFetchTimeout,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
		}
	}
	r.cache = jwk.NewCache(ctx,
		jwk.WithRefreshWindow(time.Second),
		jwk.WithErrSink(httprcErrSink(func(err error) {
			r.observe(err)
			r.log.Warn("jwks refresh failed; keeping the last good keys", "url", r.logURL, "error", r.redact(err))
		})),
	)
	err = r.cache.Register(r.url,
		jwk.WithHTTPClient(&jwksClient{ctx: ctx, client: client}),
		jwk.WithRefreshInterval(refresh),
		jwk.WithPostFetcher(jwk.PostFetchFunc(func(_ string, set jwk.Set) (jwk.Set, error) {
			if err := onKeys(set); err != nil {
				return nil, err // counted where the fetch's error surfaces
			}
			r.loaded.Store(true)
			r.observe(nil)
			return set, nil
		})),
	)
	if err != nil {
		return nil, fmt.Errorf("jwt.jwks_url: %w", err)
	}
	return r, nil
}

// start fetches the set once, bounded by jwksFetchTimeout. When that fails
// the gateway starts anyway (an unreachable issuer must not crash-loop a
// fleet): Ready stays false and fetches are retried with backoff until one
// succeeds. The periodic refresh runs regardless.
func (r *remoteJWKS) start() {
	if r.fetch() == nil {
		return
	}
	go func() {
		wait := jwksRetryMin
		for !r.loaded.Load() {
			t := time.NewTimer(wait)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if r.loaded.Load() || r.fetch() == nil {
				return
			}
			wait = min(wait*2, jwksRetryMax)
		}
	}()
}

// fetch refreshes the set now and logs the outcome.
func (r *remoteJWKS) fetch() error {
	ctx, cancel := context.WithTimeout(r.ctx, jwksFetchTimeout)
	defer cancel()
	set, err := r.cache.Refresh(ctx, r.url)
	if err != nil {
		r.observe(err)
		r.log.Warn("jwks fetch failed; keeping the last good keys", "url", r.logURL, "error", r.redact(err), "have_keys", r.loaded.Load())
		return err
	}
	r.log.Info("jwks fetched", "url", r.logURL, "keys", set.Len())
	return nil
}

// refetchForUnknownKID refetches the set because a token named a kid that
// no key carries, at most once per cooldown across all requests, so a flood
// of made-up kids cannot hammer the issuer. Requests arriving while that
// refetch runs wait for it (or their ctx). It reports whether a refetch ran,
// i.e. whether looking the kid up again is worthwhile.
func (r *remoteJWKS) refetchForUnknownKID(ctx context.Context) bool {
	r.mu.Lock()
	done := r.inflight
	if done == nil {
		now := r.now()
		if !r.lastKIDFetch.IsZero() && now.Sub(r.lastKIDFetch) < r.cooldown {
			r.mu.Unlock()
			return false
		}
		r.lastKIDFetch = now
		done = make(chan struct{})
		r.inflight = done
		// Detached from the request: a client that gives up must not
		// cancel a fetch other requests wait for.
		go func() {
			_ = r.fetch()
			r.mu.Lock()
			r.inflight = nil
			close(done)
			r.mu.Unlock()
		}()
	}
	r.mu.Unlock()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// redact removes the password of jwks_url from an error's text (httprc and
// jwx quote the URL they fetched).
func (r *remoteJWKS) redact(err error) string {
	s := err.Error()
	if r.logURL != r.url {
		s = strings.ReplaceAll(s, r.url, r.logURL)
	}
	return s
}

// jwksClient is the httprc.HTTPClient for jwks_url: requests are bound to
// the verifier's lifetime and bodies to maxJWKSBytes.
type jwksClient struct {
	ctx    context.Context
	client *http.Client
}

func (c *jwksClient) Get(u string) (*http.Response, error) {
	// The deadline holds whatever client was configured; it ends when the
	// body has been read or closed (jwx reads it after Get returns).
	ctx, cancel := context.WithTimeout(c.ctx, jwksFetchTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := c.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		// jwx would reject it without reading or closing the body.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		_ = res.Body.Close()
		cancel()
		return nil, fmt.Errorf("unexpected status %q", res.Status)
	}
	res.Body = &jwksBody{r: http.MaxBytesReader(nil, res.Body, maxJWKSBytes), c: res.Body, cancel: cancel}
	return res, nil
}

// jwksBody limits a JWKS response and closes it once read to the end or
// failed: jwx reads the body but never closes it.
type jwksBody struct {
	r      io.Reader
	c      io.Closer
	cancel context.CancelFunc
}

func (b *jwksBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil {
		_ = b.Close()
	}
	return n, err
}

func (b *jwksBody) Close() error {
	err := b.c.Close()
	b.cancel()
	return err
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httprcErrSink adapts a function to jwk.ErrSink.
type httprcErrSink func(error)

func (f httprcErrSink) Error(err error) { f(err) }

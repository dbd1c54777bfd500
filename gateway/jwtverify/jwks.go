package jwtverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

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
	// done is closed when the verifier's lifetime ends (Close, or the
	// context given to NewVerifier): background fetches stop with it.
	done <-chan struct{}
	// stop ends that lifetime; idempotent.
	stop context.CancelFunc
	// loaded is set once a fetch has produced a usable key set.
	loaded atomic.Bool
	// observe is told every fetch's outcome (never nil).
	observe func(error)

	mu sync.Mutex
	// lastKIDFetch is when the last unknown-kid refetch started.
	lastKIDFetch time.Time
	// inflight is the running unknown-kid refetch; nil when none runs.
	inflight *kidFetch
}

// kidFetch is one unknown-kid refetch: err is set before done is closed.
type kidFetch struct {
	done chan struct{}
	err  error
}

// newRemoteJWKS registers jwks_url with a jwk.Cache that lives until ctx
// ends or close is called. Fetched
// sets reach the verifier through onKeys, which returns an error (keeping
// the last good set, both in the cache and in the verifier) when a set has
// no usable key.
func newRemoteJWKS(ctx context.Context, cfg VerifierConfig, log *slog.Logger, now func() time.Time, onKeys func(jwk.Set) error) (*remoteJWKS, error) {
	u, err := url.Parse(cfg.JWT.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New(cfg.section() + ".jwks_url: expected an absolute http:// or https:// URL")
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
		log.Warn(cfg.section()+".jwks_url uses plain http: anyone on the network path can substitute signing keys", "url", config.RedactURL(cfg.JWT.JWKSURL))
	}
	life, stop := context.WithCancel(ctx)
	r := &remoteJWKS{
		url:      cfg.JWT.JWKSURL,
		logURL:   config.RedactURL(cfg.JWT.JWKSURL),
		cooldown: cooldown,
		now:      now,
		log:      log,
		done:     life.Done(),
		stop:     stop,
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
	r.cache = jwk.NewCache(life,
		jwk.WithRefreshWindow(time.Second),
		jwk.WithErrSink(httprcErrSink(func(err error) {
			r.observe(err)
			r.log.Warn("jwks refresh failed; keeping the last good keys", "url", r.logURL, "error", r.redact(err))
		})),
	)
	err = r.cache.Register(r.url,
		jwk.WithHTTPClient(&jwksClient{newContext: r.fetchContext, client: client}),
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
		stop()
		return nil, fmt.Errorf("%s.jwks_url: %w", cfg.section(), err)
	}
	return r, nil
}

// close ends the background refresh and any fetch under way.
func (r *remoteJWKS) close() { r.stop() }

// fetchContext bounds one fetch: it ends after jwksFetchTimeout, or when
// the verifier's lifetime does.
func (r *remoteJWKS) fetchContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), jwksFetchTimeout)
	go func() {
		select {
		case <-r.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
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
			case <-r.done:
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
	ctx, cancel := r.fetchContext()
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
// refetch runs wait for it (or their ctx). It reports whether the loaded
// set is known to be current: a refetch ran for this request (its own or
// one it waited for) and succeeded. False means the kid may still be
// published: the refetch failed, the cooldown held it back, or ctx ended.
func (r *remoteJWKS) refetchForUnknownKID(ctx context.Context) bool {
	r.mu.Lock()
	f := r.inflight
	if f == nil {
		now := r.now()
		if !r.lastKIDFetch.IsZero() && now.Sub(r.lastKIDFetch) < r.cooldown {
			r.mu.Unlock()
			return false
		}
		r.lastKIDFetch = now
		f = &kidFetch{done: make(chan struct{})}
		r.inflight = f
		// Detached from the request: a client that gives up must not
		// cancel a fetch other requests wait for.
		go func() {
			f.err = r.fetch()
			r.mu.Lock()
			r.inflight = nil
			close(f.done)
			r.mu.Unlock()
		}()
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.err == nil
	case <-ctx.Done():
		return false
	}
}

// redact removes the password and query of jwks_url from an error's text
// (httprc and jwx quote the URL they fetched; net/http masks the password
// but keeps the query).
func (r *remoteJWKS) redact(err error) string { return config.RedactError(err, r.url) }

// jwksClient is the httprc.HTTPClient for jwks_url: requests are bound to
// the verifier's lifetime and bodies to maxJWKSBytes.
type jwksClient struct {
	newContext func() (context.Context, context.CancelFunc)
	client     *http.Client
}

func (c *jwksClient) Get(u string) (*http.Response, error) {
	// The deadline holds whatever client was configured; it ends when the
	// body has been read or closed (jwx reads it after Get returns).
	ctx, cancel := c.newContext()
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

package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/revgate/revgate/config"
)

const (
	// ssfPollTimeout bounds one poll request. The poll is a long poll
	// (returnImmediately false): the transmitter holds it until SETs
	// arrive or its own wait ends, which transmitters keep well under a
	// minute (HTTP intermediaries drop idle requests); a poll still
	// unanswered after this is dead, and the next one starts.
	ssfPollTimeout = 75 * time.Second
	// ssfPollMaxEvents is how many SETs one poll asks for.
	ssfPollMaxEvents = 100
	// maxPollResponse bounds a poll response: ssfPollMaxEvents SETs of up
	// to 64 KiB each, and room for their JSON.
	maxPollResponse = ssfPollMaxEvents*maxSETBody + 1<<20
	// ssfBackoffMin and ssfBackoffMax bound the wait after a failed poll
	// or a store outage, doubled each time, with jitter, so a fleet of
	// gateways does not hammer a recovering transmitter in step.
	ssfBackoffMin = time.Second
	ssfBackoffMax = time.Minute
	// ssfFlushTimeout bounds the last request at shutdown, which sends the
	// acknowledgements not yet sent.
	ssfFlushTimeout = 5 * time.Second
)

// pollRequest is an RFC 8936 §2.4 poll request.
type pollRequest struct {
	Ack               []string            `json:"ack,omitempty"`
	SetErrs           map[string]setError `json:"setErrs,omitempty"`
	ReturnImmediately bool                `json:"returnImmediately"`
	MaxEvents         int                 `json:"maxEvents"`
}

// pollResponse is an RFC 8936 §2.5 poll response.
type pollResponse struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable"`
}

// ssfPoller holds what the next poll reports back: acknowledgements of
// the SETs applied and errors for the ones refused. A SET that could not
// be applied because the store failed, or because its key is not in the
// transmitter's key set and that set could not be refreshed, is in
// neither, so the transmitter delivers it again.
type ssfPoller struct {
	g    *Gateway
	s    *ssfReceiver
	peer string // the transmitter's host, for audit events
	ack  []string
	errs map[string]setError
}

// PollSSF polls ssf.poll_url (RFC 8936) until ctx ends, applying each SET
// it receives, and returns nil then; it returns nil at once when polling
// is off. It long-polls, polls again at once while SETs keep coming, waits
// ssf.poll_interval after an empty answer, and backs off with jitter
// (1s doubling to 1m) after a failed poll, a store outage or a SET whose
// key could not be found for want of a fresh key set. At the end it
// sends the acknowledgements still pending. One poller runs per gateway:
// a second call returns an error.
func (g *Gateway) PollSSF(ctx context.Context) error {
	s := g.ssf
	if s == nil || s.pollURL == "" {
		return nil
	}
	if !s.polling.CompareAndSwap(false, true) {
		return errors.New("ssf: a poller is already running")
	}
	defer s.polling.Store(false)
	p := &ssfPoller{g: g, s: s, errs: map[string]setError{}}
	if u, err := url.Parse(s.pollURL); err == nil {
		p.peer = u.Host
	}
	var backoff time.Duration
	for ctx.Err() == nil {
		more, retry, err := p.poll(ctx)
		wait := s.pollInterval
		switch {
		case err != nil || retry:
			backoff = min(max(2*backoff, ssfBackoffMin), ssfBackoffMax)
			wait = backoff/2 + rand.N(backoff/2+1)
			if err != nil && ctx.Err() == nil {
				g.log.WarnContext(ctx, "ssf poll failed; retrying", "url", config.RedactURL(s.pollURL),
					"error", config.RedactError(err, s.pollURL), "retry_in", wait.String())
			}
		case more:
			backoff, wait = 0, 0
		default:
			backoff = 0
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
	p.flush()
	return nil
}

// poll makes one poll and applies what it brings. more reports SETs
// received (or moreAvailable); retry a SET left unacknowledged for
// redelivery, because the store failed or the transmitter's keys could not
// be refreshed.
func (p *ssfPoller) poll(ctx context.Context) (more, retry bool, err error) {
	resp, err := p.post(ctx, pollRequest{Ack: p.ack, SetErrs: p.errs, MaxEvents: ssfPollMaxEvents})
	if err != nil {
		return false, false, err
	}
	// Delivered: the transmitter has them now.
	p.ack, p.errs = nil, map[string]setError{}
	jtis := make([]string, 0, len(resp.Sets))
	for jti := range resp.Sets {
		jtis = append(jtis, jti)
	}
	slices.Sort(jtis)
	for _, jti := range jtis {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, p.s.pollURL, nil)
		if rerr != nil {
			return false, false, rerr
		}
		req.RemoteAddr = p.peer
		err := p.g.receiveSET(req, resp.Sets[jti])
		var se *setError
		switch {
		case err == nil:
			p.ack = append(p.ack, jti)
		case errors.As(err, &se):
			p.errs[jti] = *se
		default:
			retry = true
		}
	}
	return len(resp.Sets) > 0 || resp.MoreAvailable, retry, nil
}

// post sends one poll request and reads its answer.
func (p *ssfPoller) post(ctx context.Context, body pollRequest) (*pollResponse, error) {
	resp, err := p.do(ctx, body)
	result := "ok"
	if err != nil {
		result = "error"
	}
	p.s.polls.WithLabelValues(result).Inc()
	return resp, err
}

func (p *ssfPoller) do(ctx context.Context, body pollRequest) (*pollResponse, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.s.pollURL, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if p.s.pollAuthorization != "" {
		req.Header.Set("Authorization", p.s.pollAuthorization)
	}
	resp, err := p.s.pollClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPollResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading the poll response: %w", err)
	}
	if len(data) > maxPollResponse {
		return nil, errors.New("poll response too large")
	}
	if resp.StatusCode != http.StatusOK {
		var e setError
		if json.Unmarshal(data, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("poll answered %d %s", resp.StatusCode, e.Code)
		}
		return nil, fmt.Errorf("poll answered %d", resp.StatusCode)
	}
	var out pollResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, errors.New("poll response is not the JSON RFC 8936 describes")
	}
	if out.Sets == nil {
		return nil, errors.New(`poll response has no "sets" object`)
	}
	return &out, nil
}

// flush sends the pending acknowledgements and errors at shutdown, asking
// for no SETs and no wait, so the transmitter does not deliver again what
// was applied. It is best effort: a SET delivered again is a no-op.
func (p *ssfPoller) flush() {
	if len(p.ack) == 0 && len(p.errs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ssfFlushTimeout)
	defer cancel()
	if _, err := p.post(ctx, pollRequest{Ack: p.ack, SetErrs: p.errs, ReturnImmediately: true}); err != nil {
		p.g.log.Warn("ssf: sending the last acknowledgements failed; the transmitter will deliver those SETs again",
			"url", config.RedactURL(p.s.pollURL), "error", config.RedactError(err, p.s.pollURL))
	}
}

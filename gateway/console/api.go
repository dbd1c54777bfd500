package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/revgate/revgate/gateway/adminapi"
)

// apiError is the admin API's refusal, as the console shows it.
type apiError struct {
	status int
	body   adminapi.Error
}

func (e *apiError) Error() string { return e.body.Message }

// notRevoked reports the API's "nothing recorded".
func notRevoked(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.body.Code == adminapi.CodeNotRevoked
}

// buffer is a ResponseWriter keeping the API's answer.
type buffer struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *buffer) Header() http.Header { return b.h }
func (b *buffer) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *buffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// call makes one admin API request in process, as the session's actor and
// from the browser's address (for the audit event), and decodes the
// answer into out.
func (c *Console) call(q request, method, path string, body, out any) error {
	var rd bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd.Reset(b)
	}
	req, err := http.NewRequestWithContext(q.r.Context(), method, path, &rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = q.r.RemoteAddr
	req = c.o.AsActor(req, q.ss.actor)
	res := &buffer{h: http.Header{}}
	c.o.API.ServeHTTP(res, req)
	if res.status >= 300 {
		ae := &apiError{status: res.status}
		if err := json.Unmarshal(res.body.Bytes(), &ae.body); err != nil || ae.body.Message == "" {
			ae.body.Message = http.StatusText(res.status)
		}
		return ae
	}
	if out != nil && res.body.Len() > 0 {
		return json.Unmarshal(res.body.Bytes(), out)
	}
	return nil
}

// apiPath is the admin API path of a kind of record and its id.
func apiPath(kind, id string) string {
	switch kind {
	case kindSubject:
		return "/v1/revocations/subjects/" + url.PathEscape(id)
	case kindSession:
		return "/v1/revocations/sessions/" + url.PathEscape(id)
	case kindEmail:
		return "/v1/revocations/emails/" + url.PathEscape(id)
	default:
		return "/v1/revocations/tokens/" + url.PathEscape(id)
	}
}

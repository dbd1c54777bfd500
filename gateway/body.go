package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBodyBytes bounds every body the gateway itself reads (refresh and
// logout bodies, admin API requests).
const maxBodyBytes = 1 << 20

var (
	errBadBody      = errors.New("invalid request body")
	errBodyTooLarge = errors.New("request body larger than 1 MiB")
	errNotJSONBody  = errors.New("this route takes a JSON body: Content-Type application/json (charset utf-8 at most) and no Content-Encoding")
)

// requireJSONBody refuses a request whose body the upstream could read as
// anything but the JSON the gateway reads: a form, a multipart body or a
// compressed one could carry another token than the one checked.
func requireJSONBody(r *http.Request) error {
	if !hasMediaType(r, "application/json") {
		return errNotJSONBody
	}
	return nil
}

// hasMediaType reports whether r's body is plainly of media type want:
// one Content-Type of that type, with at most a charset=utf-8 parameter,
// and no Content-Encoding. Anything else is a body the gateway and the
// application behind it could read differently.
func hasMediaType(r *http.Request, want string) bool {
	ct := r.Header.Values("Content-Type")
	if len(ct) != 1 || len(r.Header.Values("Content-Encoding")) > 0 {
		return false
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil || mt != want {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// readOwnBody reads the whole body of a request to an endpoint the
// gateway serves itself, at most maxOAuthBody bytes: errOAuthTooLarge
// past that, errClientGone when the client went away, else unreadable.
func readOwnBody(w http.ResponseWriter, r *http.Request, unreadable error) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOAuthBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errOAuthTooLarge
		}
		if r.Context().Err() != nil {
			return nil, errClientGone
		}
		return nil, unreadable
	}
	return b, nil
}

// readBody reads a whole request body of at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("%w: %v", errBadBody, err)
	}
	return b, nil
}

// decodeJSON decodes one JSON object strictly: unknown fields and trailing
// data are errors, so a typo in a field name is never silently ignored.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s", errBadBody, jsonProblem(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: unexpected data after the JSON object", errBadBody)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing input values.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q: expected %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("expected a JSON object, got %s", te.Value)
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	// encoding/json's message for unknown fields is `json: unknown field "x"`:
	// it names the field, never a value.
	msg := err.Error()
	if len(msg) > 6 && msg[:6] == "json: " {
		msg = msg[6:]
	}
	return msg
}

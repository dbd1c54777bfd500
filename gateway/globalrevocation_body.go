package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// Subject identifier formats (RFC 9493 §3.2) the endpoint acts on.
const (
	formatIssSub = "iss_sub"
	formatEmail  = "email"
)

// subjectIdentifier is a request's sub_id as the endpoint acts on it:
// value is the canonical subject (iss_sub) or the address (email).
type subjectIdentifier struct {
	format, iss, value string
}

var (
	errGTRContentType = badGTRRequest("Content-Type must be application/json, without Content-Encoding")
	errGTRNotJSON     = badGTRRequest("body is not a JSON object")
	errGTRDuplicate   = badGTRRequest("a member is given more than once")
	errGTRNoSubject   = badGTRRequest(`"sub_id" is required: a subject identifier object (RFC 9493)`)
)

// readJSONBody reads an application/json body (charset utf-8 at most as
// a parameter), at most maxOAuthBody bytes.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if !hasMediaType(r, "application/json") {
		return nil, errGTRContentType
	}
	return readOwnBody(w, r, errGTRNotJSON)
}

// parseSubjectIdentifier reads {"sub_id": {...}}. Okta's documentation
// still shows the draft's first name for the member, "subject", so that is
// read too; both at once are refused. Members the endpoint does not read
// are ignored, and any member it could read given twice is refused rather
// than read either way.
func parseSubjectIdentifier(body []byte) (*subjectIdentifier, error) {
	top, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	rawID, hasSubID := top["sub_id"]
	if legacy, ok := top["subject"]; ok {
		if hasSubID {
			return nil, badGTRRequest(`give "sub_id" or "subject", not both`)
		}
		rawID, hasSubID = legacy, true
	}
	if !hasSubID {
		return nil, errGTRNoSubject
	}
	id, err := jsonObject(rawID)
	if errors.Is(err, errGTRDuplicate) {
		return nil, err
	} else if err != nil {
		return nil, badGTRRequest(`"sub_id" is not a JSON object`)
	}
	format, err := jsonString(id, "format", 64)
	if err != nil {
		return nil, err
	}
	s := &subjectIdentifier{format: format}
	switch format {
	case formatIssSub:
		if s.iss, err = jsonString(id, "iss", maxSubjectBytes); err != nil {
			return nil, err
		}
		raw, ok := id["sub"]
		if !ok {
			return nil, badGTRRequest(`sub_id "sub" is required for format "iss_sub"`)
		}
		// The canonical form tokens are checked in: a numeric sub (a
		// simplejwt user_id) marks "42" whether sent as 42 or "42".
		if s.value, err = jwtverify.SubjectFromJSON(raw); err != nil {
			return nil, badGTRRequest(`sub_id "sub" must be a string or a number, in valid UTF-8`)
		}
		if s.value == "" || len(s.value) > maxSubjectBytes {
			return nil, badGTRRequest(`sub_id "sub" must be 1 to 4096 bytes`)
		}
	case formatEmail:
		if s.value, err = jsonString(id, "email", maxEmailBytes); err != nil {
			return nil, err
		}
		if at := strings.LastIndexByte(s.value, '@'); at <= 0 || at == len(s.value)-1 {
			return nil, badGTRRequest(`sub_id "email" is not an email address`)
		}
	default:
		return nil, badGTRRequest("unsupported subject format " + quoteFormat(format) + ` (supported: "iss_sub", "email")`)
	}
	return s, nil
}

// jsonObject splits a JSON object into its members, refusing anything
// else, trailing data and a member given twice (keys compared decoded, so
// "sub" and "s\u0075b" are one).
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(b) {
		return nil, errGTRNotJSON
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errGTRNotJSON
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errGTRNotJSON
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errGTRNotJSON
		}
		if _, dup := m[k]; dup {
			return nil, errGTRDuplicate
		}
		m[k] = v
	}
	return m, nil
}

// jsonString reads the required string member name: valid UTF-8 (no lone
// surrogate escapes), not empty, at most max bytes.
func jsonString(m map[string]json.RawMessage, name string, max int) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", badGTRRequest(`sub_id "` + name + `" is required`)
	}
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", badGTRRequest(`sub_id "` + name + `" must be a string`)
	}
	// Decoding replaces bad UTF-8 with U+FFFD: compare through the strict
	// subject reader, which refuses it.
	if strict, err := jwtverify.SubjectFromJSON(raw); err != nil || strict != s {
		return "", badGTRRequest(`sub_id "` + name + `" is not valid UTF-8`)
	}
	if s == "" || len(s) > max {
		return "", badGTRRequest(`sub_id "` + name + `" must not be empty or longer than ` + strconv.Itoa(max) + " bytes")
	}
	return s, nil
}

// quoteFormat quotes a client-given format for an error description,
// bounded and printable.
func quoteFormat(f string) string {
	if len(f) > 32 {
		f = f[:32]
	}
	for !utf8.ValidString(f) {
		f = f[:len(f)-1]
	}
	b, _ := json.Marshal(f)
	return string(b)
}

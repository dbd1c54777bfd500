package gateway

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// ssfTarget is what a subject identifier names, in the terms of the
// revocation store: exactly one field is set.
type ssfTarget struct {
	subject string // a subject mark (iss_sub, opaque)
	email   string // an email mark
	session string // a revoked session (complex subject's session)
	jti     string // a revoked token (jwt_id)
}

// kind is the target's revocation kind, for metrics and audit.
func (t ssfTarget) kind() string {
	switch {
	case t.session != "":
		return "session"
	case t.email != "":
		return "email"
	case t.jti != "":
		return "token"
	}
	return "subject"
}

// ssfSubject is a mapped subject identifier: a simple one names one
// target; a complex one may name a session, a user, or both.
type ssfSubject struct {
	session *ssfTarget
	user    *ssfTarget
}

// sessionFirst is the target of session-level events: the session when
// the subject names one, else its user (SPEC: complex with session → that
// session, else its user).
func (s ssfSubject) sessionFirst() ssfTarget {
	if s.session != nil {
		return *s.session
	}
	return *s.user
}

// userFirst is the target of account-level events (account disabled, a
// credential changed or compromised, all sessions revoked): they are about
// the user, and revoking only the one session a complex subject also
// names would leave the account's other tokens valid.
func (s ssfSubject) userFirst() ssfTarget {
	if s.user != nil {
		return *s.user
	}
	return *s.session
}

// eventSubject is the subject an event is about: the SET's sub_id (SSF
// 1.0), else the older "subject" member inside the event. A SET that
// names two different subjects is refused rather than read either way.
func eventSubject(se *securityEvent, body map[string]any) (map[string]any, *setError) {
	inner, hasInner := body["subject"]
	if hasInner {
		m, ok := inner.(map[string]any)
		if !ok {
			return nil, invalidSET(`event "subject" is not an object`)
		}
		if se.subID != nil && !reflect.DeepEqual(se.subID, m) {
			return nil, invalidSET(`"sub_id" and the event's "subject" name different subjects`)
		}
		return m, nil
	}
	if se.subID == nil {
		return nil, invalidSET(`SET has no "sub_id" and the event no "subject"`)
	}
	return se.subID, nil
}

// mapSubject maps a subject identifier (RFC 9493 and SSF 1.0 §3) to what
// it revokes. Formats: iss_sub (only for a jwt.issuer), email, opaque,
// jwt_id (only for a jwt.issuer) and complex, whose session member comes
// first, then its user; other members (tenant, device, ...) are not read.
// Any other format is refused: revoking something else than what the
// transmitter meant is no answer, and neither is doing nothing while
// answering 202.
func (s *ssfReceiver) mapSubject(id map[string]any) (ssfSubject, *setError) {
	format, hasFormat := id["format"]
	_, hasUser := id["user"]
	_, hasSession := id["session"]
	// Drafts of SSF wrote complex subjects without a format member.
	if format == "complex" || !hasFormat && (hasUser || hasSession) {
		return s.mapComplex(id)
	}
	t, err := s.mapSimple(id)
	if err != nil {
		return ssfSubject{}, err
	}
	return ssfSubject{user: &t}, nil
}

func (s *ssfReceiver) mapComplex(id map[string]any) (ssfSubject, *setError) {
	var out ssfSubject
	if v, ok := id["session"]; ok {
		m, isObject := v.(map[string]any)
		if !isObject {
			return out, invalidSET("complex subject's session is not an object")
		}
		// A session is named by an opaque id: revoking anything else in
		// its place would not end the session the transmitter ended.
		if f, _ := m["format"].(string); f != "opaque" {
			return out, invalidSET("complex subject's session must have format opaque")
		}
		sid, err := nonEmptyMember(m, "id")
		if err != nil {
			return out, err
		}
		out.session = &ssfTarget{session: sid}
	}
	if v, ok := id["user"]; ok {
		m, isObject := v.(map[string]any)
		if !isObject {
			return out, invalidSET("complex subject's user is not an object")
		}
		t, err := s.mapSimple(m)
		if err != nil {
			return out, invalidSET("complex subject's user: %s", err.Description)
		}
		out.user = &t
	}
	if out.session == nil && out.user == nil {
		return out, invalidSET("complex subject names neither a session nor a user")
	}
	return out, nil
}

// mapSimple maps a simple subject identifier.
func (s *ssfReceiver) mapSimple(id map[string]any) (ssfTarget, *setError) {
	format, _ := id["format"].(string)
	switch format {
	case "iss_sub":
		if err := s.checkTokenIssuer(id, "iss_sub"); err != nil {
			return ssfTarget{}, err
		}
		raw, ok := id["sub"]
		if !ok {
			return ssfTarget{}, invalidSET(`iss_sub subject has no "sub"`)
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return ssfTarget{}, invalidSET(`iss_sub subject's "sub" malformed`)
		}
		// The same canonical form as the token's own subject claim, so
		// 42 and 42.0 reach one mark.
		sub, cerr := jwtverify.CanonicalSubject(b)
		if cerr != nil || sub == "" {
			return ssfTarget{}, invalidSET(`iss_sub subject's "sub" is not a non-empty string or number`)
		}
		return ssfTarget{subject: sub}, nil
	case "email":
		addr, err := nonEmptyMember(id, "email")
		if err != nil {
			return ssfTarget{}, err
		}
		return ssfTarget{email: addr}, nil
	case "opaque":
		sub, err := nonEmptyMember(id, "id")
		if err != nil {
			return ssfTarget{}, err
		}
		return ssfTarget{subject: sub}, nil
	case "jwt_id":
		if err := s.checkTokenIssuer(id, "jwt_id"); err != nil {
			return ssfTarget{}, err
		}
		jti, err := nonEmptyMember(id, "jti")
		if err != nil {
			return ssfTarget{}, err
		}
		return ssfTarget{jti: jti}, nil
	case "":
		return ssfTarget{}, invalidSET(`subject identifier has no "format" string`)
	}
	return ssfTarget{}, invalidSET("subject format %.64q is not supported (iss_sub, email, opaque, jwt_id, complex)", format)
}

// checkTokenIssuer requires an iss_sub or jwt_id subject's iss to be one
// of jwt.issuer: subjects and jtis of tokens another issuer signed are
// not this gateway's to revoke, and could name somebody else here.
func (s *ssfReceiver) checkTokenIssuer(id map[string]any, format string) *setError {
	iss, _ := id["iss"].(string)
	if iss == "" || !slices.Contains(s.tokenIssuers, iss) {
		return invalidSET("%s subject's iss is not jwt.issuer", format)
	}
	return nil
}

// nonEmptyMember reads a string member that must not be empty or blank.
func nonEmptyMember(m map[string]any, name string) (string, *setError) {
	v, _ := m[name].(string)
	if strings.TrimSpace(v) == "" {
		return "", invalidSET("subject identifier's %q is not a non-empty string", name)
	}
	return v, nil
}

package revocation

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzSubjectKey checks the key layout's promises for any subject: the key
// decodes back to exactly the subject (so two subjects never share a key),
// it holds no '{' or '}' (no accidental Cluster hash tag) and no ':' after
// the tag, and it is the same kind of key as a jti's only in its tag.
//
// The seed corpus is testdata/fuzz/FuzzSubjectKey.
func FuzzSubjectKey(f *testing.F) {
	k := keys{prefix: DefaultKeyPrefix}
	f.Fuzz(func(t *testing.T, subject string) {
		key := k.subject(subject)
		enc, ok := strings.CutPrefix(key, DefaultKeyPrefix+tagSubject)
		if !ok {
			t.Fatalf("subject key %q lacks the prefix %q", key, DefaultKeyPrefix+tagSubject)
		}
		if strings.ContainsAny(enc, "{}:") {
			t.Fatalf("encoded subject %q contains '{', '}' or ':'", enc)
		}
		dec, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || string(dec) != subject {
			t.Fatalf("subject key %q decodes to %q, %v; want %q", key, dec, err, subject)
		}
		if enc != EncodeKeyPart(subject) {
			t.Fatalf("subject key does not use EncodeKeyPart")
		}
		if k.token(subject) == key || k.used(subject) == key || k.session(subject) == key || k.email(subject) == key || k.global() == key {
			t.Fatalf("subject key %q equals a jti, used or global key", key)
		}
	})
}

func TestKeyLayout(t *testing.T) {
	k := keys{prefix: "p:"}
	tests := []struct {
		name, got, want string
	}{
		{"a revoked jti", k.token("abc"), "p:t:" + "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"},
		{"a used jti", k.used("abc"), "p:u:" + "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"},
		{"a subject", k.subject("a:b{c}"), "p:s:YTpie2N9"},
		{"a revoked session", k.session("abc"), "p:l:" + "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"},
		{"the global mark", k.global(), "p:g"},
		{"an email mark", k.email("abc"), "p:e:" + "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"},
		{"an empty subject", k.subject(""), "p:s:"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key of %s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// An email key shares its digest with the jti and session keys of the same
// text, and its tag with nothing: no key of another kind is ever an email
// key, whatever the text.
func TestEmailKeyIsApart(t *testing.T) {
	k := keys{prefix: DefaultKeyPrefix}
	for _, s := range []string{"", "a@x", "e:a@x", "g", "{a}@x", strings.Repeat("x", 1024)} {
		e := k.email(s)
		if !strings.HasPrefix(e, DefaultKeyPrefix+tagEmail) || len(e) != len(DefaultKeyPrefix+tagEmail)+16 {
			t.Errorf("email key of %q = %q, want the tag and a 16-byte digest", s, e)
		}
		for _, other := range []string{k.token(s), k.used(s), k.subject(s), k.session(s), k.global(), k.subject(e)} {
			if other == e {
				t.Errorf("email key of %q equals another kind of key %q", s, other)
			}
		}
	}
	if len(map[string]bool{tagToken: true, tagUsed: true, tagSubject: true, tagSession: true, tagGlobal: true, tagEmail: true}) != 6 {
		t.Error("two kinds of record share a tag")
	}
}

func TestCanonicalEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"  alice@example.com\n", "alice@example.com"},
		{"J\u00dcRGEN@\u00d6.example", "j\u00fcrgen@\u00f6.example"},
		{"\u00c5sa@x", "\u00e5sa@x"},
		// Bytes that are not UTF-8 stay as they are: "\xff" and "\xfe"
		// would both become U+FFFD with strings.ToLower.
		{"A\xffB@x", "a\xffb@x"},
		{"A\xfeB@x", "a\xfeb@x"},
		{"", ""},
		{" \t ", ""},
		{"a b@x", "a b@x"},
	}
	for _, tt := range tests {
		if got := CanonicalEmail(tt.in); got != tt.want {
			t.Errorf("CanonicalEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := CanonicalEmail(CanonicalEmail(tt.in)); got != tt.want {
			t.Errorf("CanonicalEmail is not idempotent on %q: %q", tt.in, got)
		}
	}
}

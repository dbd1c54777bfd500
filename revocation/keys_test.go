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
		if k.token(subject) == key || k.used(subject) == key || k.session(subject) == key || k.global() == key {
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
		{"an empty subject", k.subject(""), "p:s:"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key of %s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

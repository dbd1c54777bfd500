package jwtverify

import "testing"

func TestSubjectFromJSONIsTheClaimsCanonicalForm(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{`"alice"`, "alice", true},
		{`"a\u0062c"`, "abc", true},
		{`42`, "42", true},
		{`4.2e1`, "42", true},
		{`"42"`, "42", true},
		{`"\ud800"`, "", false}, // a lone surrogate
		{"\"a\xffb\"", "", false},
		{`true`, "", false},
		{`{"a":1}`, "", false},
		{`null`, "", false},
	}
	for _, tt := range tests {
		got, err := SubjectFromJSON([]byte(tt.raw))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("SubjectFromJSON(%s) = %q, %v; want %q, ok %v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
}

package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLookup(t *testing.T) {
	tests := []struct {
		in      string
		want    Lookup
		wantErr bool
	}{
		{in: "header:Authorization:Bearer", want: Lookup{Source: "header", Name: "Authorization", Scheme: "Bearer"}},
		{in: "header:X-Token", want: Lookup{Source: "header", Name: "X-Token"}},
		{in: "cookie:access_token", want: Lookup{Source: "cookie", Name: "access_token"}},
		{in: "query:token", want: Lookup{Source: "query", Name: "token"}},
		{in: "", wantErr: true},
		{in: "header", wantErr: true},
		{in: "header:", wantErr: true},
		{in: "header::Bearer", wantErr: true},
		{in: "header:Authorization:", wantErr: true},
		{in: "header:Author ization", wantErr: true},
		{in: "header:Authorization:Bearer:x", wantErr: true},
		{in: "cookie:", wantErr: true},
		{in: "cookie:a=b", wantErr: true},
		{in: "query:", wantErr: true},
		{in: "body:refresh", wantErr: true},
		{in: "Header:Authorization", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLookup(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseLookup(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseLookup(%q) (-want +got):\n%s", tt.in, d)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

// FuzzParseLookup checks that every entry ParseLookup accepts has a name
// and prints back to itself.
func FuzzParseLookup(f *testing.F) {
	for _, s := range []string{"header:Authorization:Bearer", "header:X-Token", "cookie:session", "query:token", "header::", "cookie:a:b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLookup(s)
		if err != nil {
			return
		}
		if l.Name == "" || strings.ContainsAny(l.Name, " \t") {
			t.Errorf("ParseLookup(%q) accepted name %q", s, l.Name)
		}
		if l.String() != s {
			t.Errorf("ParseLookup(%q).String() = %q", s, l.String())
		}
	})
}

package gateway

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTimeAcceptsRFC3339AndPlainUnixSecondsOnly(t *testing.T) {
	cases := []struct {
		name, raw string
		want      int64 // unix seconds; -1 for an error
	}{
		{"an RFC 3339 time", `"2026-01-02T15:04:05Z"`, 1767366245},
		{"an RFC 3339 time with an offset and fraction", `"2026-01-02T16:04:05.9+01:00"`, 1767366245},
		{"a JSON number", `1767366245`, 1767366245},
		{"a fraction is truncated", `1767366245.999`, 1767366245},
		{"a string of digits", `"1767366245"`, 1767366245},
		{"null means not given", `null`, 0},
		{"a hex float", `"0x1p4"`, -1},
		{"an exponent", `1e9`, -1},
		{"a negative number", `-5`, -1},
		{"a trailing dot", `"17."`, -1},
		{"year one", `"0001-01-01T00:00:00Z"`, -1},
		{"before 1970", `"1969-12-31T23:59:59Z"`, -1},
		{"past year 9999", `253402300800`, -1},
		{"words", `"tomorrow"`, -1},
		{"an object", `{}`, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseTime("before", json.RawMessage(c.raw))
			switch {
			case c.want == -1 && err == nil:
				t.Fatalf("accepted as %v", got)
			case c.want == -1:
				if ae, ok := err.(*apiError); !ok || ae.status != 400 {
					t.Fatalf("error %v is not a 400 naming the field", err)
				}
			case err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == 0 && !got.IsZero():
				t.Fatalf("got %v, want not given", got)
			case c.want != 0 && (got.Unix() != c.want || got.Location() != time.UTC):
				t.Fatalf("got %v, want %v UTC", got, time.Unix(c.want, 0).UTC())
			}
		})
	}
}

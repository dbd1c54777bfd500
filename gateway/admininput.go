package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on admin API inputs. A subject of 1 KiB is normal (hashed or
// composite ids); anything past these is a mistake or an attack.
const (
	maxJTIBytes     = 1024
	maxSubjectBytes = 4096
	maxSessionBytes = 4096
	maxReasonBytes  = 1024
)

// parseTime reads a time given as an RFC 3339 string or a number of unix
// seconds (a JSON number, or a string of digits). It truncates to whole
// seconds, like every time revgate stores. field names the input in errors.
func parseTime(field string, raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fieldError(field, "expected an RFC 3339 time or unix seconds")
		}
		return parseTimeString(field, s)
	}
	return parseUnix(field, string(raw))
}

func parseTimeString(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fieldError(field, "empty time")
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		return parseUnix(field, s)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fieldError(field, "expected an RFC 3339 time like 2026-01-02T15:04:05Z or unix seconds")
	}
	if t.Unix() < 0 {
		return time.Time{}, fieldError(field, "before 1970")
	}
	return t.Truncate(time.Second).UTC(), nil
}

// parseUnix reads unix seconds. Fractions are truncated; negative values and
// values past year 9999 are refused.
func parseUnix(field, s string) (time.Time, error) {
	// Plain decimal only: strconv would also take hex floats, exponents,
	// "Inf" and underscores, none of which anyone means as a time.
	whole, frac, _ := strings.Cut(s, ".")
	if !allDigits(whole) || (frac != "" && !allDigits(frac)) || strings.HasSuffix(s, ".") {
		if strings.HasPrefix(s, "-") && allDigits(strings.TrimPrefix(whole, "-")) {
			return time.Time{}, fieldError(field, "unix seconds out of range")
		}
		return time.Time{}, fieldError(field, "expected an RFC 3339 time or unix seconds")
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > 253402300799 {
		return time.Time{}, fieldError(field, "unix seconds out of range")
	}
	return time.Unix(n, 0).UTC(), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkText validates a free-form input: not empty (when required), valid
// UTF-8 and at most max bytes.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return fieldError(field, "required")
	case len(s) > max:
		return fieldError(field, fmt.Sprintf("longer than %d bytes", max))
	case !utf8Valid(s):
		return fieldError(field, "not valid UTF-8")
	}
	return nil
}

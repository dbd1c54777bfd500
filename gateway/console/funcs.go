package console

import (
	"html/template"
	"net/url"
	"strconv"
	"time"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"time":     fmtTime,
	"ago":      ago,
	"shorten":  shorten,
	"count":    func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	"urlquery": urlQuery,
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long before now t was, to the second.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return now.Sub(t).Truncate(time.Second).String()
}

// shorten cuts long free text (a reason is up to 1 KiB) so a page of them
// stays small.
func shorten(s string) string {
	const max = 160
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

func urlQuery(s string) string { return url.QueryEscape(s) }

package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
)

// A second name that some framework reads as the lookup's name is a second
// credential the gateway did not judge: Python strips (Unicode) whitespace
// around cookie names, PHP turns '.', ' ' and an unmatched '[' into '_' and
// reads "name[...]" as name, CGI and WSGI fold '-' into '_' and case in
// header names. Each request carries the gateway's token under the exact
// name and another under a name the upstream may read instead.
func TestNamesAnUpstreamReadsAsTheLookupsAreAmbiguous(t *testing.T) {
	good := mint(t, tok{sub: "alice"})
	other := mint(t, tok{sub: "mallory"})
	tests := []struct {
		name   string
		lookup string
		set    func(r *http.Request)
	}{
		// cookies
		{"a cookie name with a trailing space (Django, werkzeug)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access_token ="+other)
		}},
		{"a cookie name after a tab (Django, werkzeug)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+";\taccess_token\t="+other)
		}},
		{"a cookie name after a no-break space byte (Python's latin-1 headers)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; \xa0access_token="+other)
		}},
		{"a cookie name after a next-line byte (Python's latin-1 headers)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access_token\x85="+other)
		}},
		{"a cookie name after an ideographic space (UTF-8)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; \u3000access_token="+other)
		}},
		{"a cookie name with a dot (PHP)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access.token="+other)
		}},
		{"a cookie name with a space inside (PHP)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access token="+other)
		}},
		{"a cookie name with an unmatched bracket (PHP)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access[token="+other)
		}},
		{"a cookie name that is an array of the name (PHP)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access_token[]="+other)
		}},
		{"a percent-encoded cookie name (PHP before 8.1.11)", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access%5Ftoken="+other)
		}},
		{"a second Cookie line with a variant", "cookie:access_token", func(r *http.Request) {
			r.Header["Cookie"] = []string{"access_token=" + good, " access.token=" + other}
		}},

		// query parameters
		{"a query name with a dot (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access.token=" + other
		}},
		{"a query name with a plus for a space (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access+token=" + other
		}},
		{"a query name with an encoded space (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access%20token=" + other
		}},
		{"a query name with a leading space (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&%20access_token=" + other
		}},
		{"a query name with an unmatched bracket (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access%5Btoken=" + other
		}},
		{"a query name that is an array of the name (PHP, Rack)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access_token%5B%5D=" + other
		}},
		{"a query name cut short by a NUL (PHP)", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access_token%00x=" + other
		}},

		// a variant in another lookup's source
		{"a bearer token beside a variant cookie", "header:Authorization:Bearer,cookie:access_token", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+good)
			r.Header.Set("Cookie", "access.token="+other)
		}},
		{"a cookie beside a variant header", "header:X-Token,cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good)
			r.Header["X_Token"] = []string{other}
		}},
		{"a bearer token beside a variant query parameter", "header:Authorization:Bearer,query:access_token", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+good)
			r.URL.RawQuery = "access%2Etoken=" + other
		}},

		// headers
		{"a header with underscores (CGI, WSGI)", "header:X-Token", func(r *http.Request) {
			r.Header["X-Token"] = []string{good}
			r.Header["X_Token"] = []string{other}
		}},
		{"a header with underscores in another case (CGI, WSGI)", "header:X-Token", func(r *http.Request) {
			r.Header["X-Token"] = []string{good}
			r.Header["x_token"] = []string{other}
		}},
		{"a header with a dot (older Apache)", "header:X-Token", func(r *http.Request) {
			r.Header["X-Token"] = []string{good}
			r.Header["X.Token"] = []string{other}
		}},
		{"a header with a scheme and underscores (CGI, WSGI)", "header:X-Auth-Token:Bearer", func(r *http.Request) {
			r.Header["X-Auth-Token"] = []string{"Bearer " + good}
			r.Header["X_Auth_Token"] = []string{"Bearer " + other}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, func(c *config.Config) { c.JWT.Lookup = strings.Split(tt.lookup, ",") })
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/api/x", nil)
			tt.set(req)
			body := wantStatus(t, h.do(req), http.StatusUnauthorized)
			if body["error"] != "invalid_token" {
				t.Errorf("error = %v, want invalid_token", body["error"])
			}
			if n := h.upstream.hits.Load(); n != 0 {
				t.Fatalf("the upstream saw %d ambiguous requests", n)
			}
		})
	}
}

// Names no framework folds into the lookup's stay apart; a variant alone
// is a credential the gateway cannot judge, refused like a second one.
func TestNamesNoFrameworkFoldsTogetherStayApart(t *testing.T) {
	good := mint(t, tok{sub: "alice"})
	other := mint(t, tok{sub: "mallory"})
	tests := []struct {
		name   string
		lookup string
		set    func(r *http.Request)
		want   int
	}{
		{"another cookie", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access_token_2="+other+"; csrftoken=x")
		}, http.StatusOK},
		{"a longer cookie name with a bracket index", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access_token="+good+"; access_tokens[0]="+other)
		}, http.StatusOK},
		{"another query parameter", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + good + "&access_tokenx=" + other + "&page=2"
		}, http.StatusOK},
		{"another header", "header:X-Token", func(r *http.Request) {
			r.Header["X-Token"] = []string{good}
			r.Header["X-Token-2"] = []string{other}
		}, http.StatusOK},
		{"only a variant cookie", "cookie:access_token", func(r *http.Request) {
			r.Header.Set("Cookie", "access.token="+good)
		}, http.StatusUnauthorized},
		{"only a variant query parameter", "query:access_token", func(r *http.Request) {
			r.URL.RawQuery = "access.token=" + good
		}, http.StatusUnauthorized},
		{"only a variant header", "header:X-Token", func(r *http.Request) {
			r.Header["X_Token"] = []string{good}
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, func(c *config.Config) { c.JWT.Lookup = []string{tt.lookup} })
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/api/x", nil)
			tt.set(req)
			wantStatus(t, h.do(req), tt.want)
		})
	}
}

func TestSameNameFoldsAsEachFrameworkDoes(t *testing.T) {
	tests := []struct {
		source string
		a, b   string
		want   bool
	}{
		{config.LookupHeader, "X-Revgate-Subject", "x_revgate_subject", true},
		{config.LookupHeader, "X-Revgate-Subject", "X-Revgate-Subjec", false},
		{config.LookupCookie, "sid", " sid\t", true},
		{config.LookupCookie, "sid", "\xa0sid", true},
		{config.LookupCookie, "sid", "\u2003sid", true},
		{config.LookupCookie, "s_id", "s.id", true},
		{config.LookupCookie, "s_id", "s[id", true},
		{config.LookupCookie, "sid", "sid[x]", true},
		{config.LookupCookie, "sid", "SID", false},
		{config.LookupCookie, "sid", "sidx", false},
		{config.LookupQuery, "s_id", "s id", true},
		{config.LookupQuery, "sid", " sid", true},
		{config.LookupQuery, "sid", "sid ", false}, // PHP reads sid_, Python sid
		{config.LookupQuery, "sid_", "sid ", true},
		{config.LookupQuery, "sid", "sid\x00x", true},
		{config.LookupQuery, "sid", "Sid", false},
	}
	for _, tt := range tests {
		if got := sameName(tt.source, tt.a, tt.b); got != tt.want {
			t.Errorf("sameName(%s, %q, %q) = %v, want %v", tt.source, tt.a, tt.b, got, tt.want)
		}
		if got := sameName(tt.source, tt.b, tt.a); got != tt.want {
			t.Errorf("sameName(%s, %q, %q) = %v, want %v", tt.source, tt.b, tt.a, got, tt.want)
		}
	}
}

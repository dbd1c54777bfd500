package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefault(t *testing.T) {
	want := Config{
		Listen:   ":8080",
		Upstream: Upstream{Timeout: 30 * time.Second, MaxIdleConnsPerHost: 256},
		JWT: JWT{
			JWKSRefresh:            5 * time.Minute,
			JWKSUnknownKidCooldown: 30 * time.Second,
			Algorithms:             []string{"RS256"},
			Leeway:                 30 * time.Second,
			SubjectClaim:           "sub",
			SessionClaim:           "sid",
			VerifyCacheSize:        10000,
			Lookup:                 []string{"header:Authorization:Bearer"},
			ForwardHeaders:         map[string]string{"X-Revgate-Subject": "sub"},
		},
		Revocation: Revocation{
			Store:            "redis",
			Redis:            Redis{URL: "redis://127.0.0.1:6379/0", KeyPrefix: "revgate:", MinReplicasTimeout: 500 * time.Millisecond},
			OnStoreError:     "closed",
			MaxTokenLifetime: 24 * time.Hour,
			LookupTimeout:    250 * time.Millisecond,
			RecheckInterval:  10 * time.Second,
		},
		Logout:            Logout{Path: "/auth/logout"},
		OAuth:             OAuth{RateLimit: 50, RateBurst: 100},
		BackchannelLogout: BackchannelLogout{MaxAge: 5 * time.Minute},
		SSF:               SSF{PollInterval: 5 * time.Second, EmailClaim: "email"},
		Admin:             Admin{Listen: "127.0.0.1:9090"},
		Log:               Log{Level: "info", Format: "json"},
		Server: Server{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			DrainDelay:        5 * time.Second,
			ShutdownTimeout:   25 * time.Second,
		},
	}
	if d := cmp.Diff(want, Default()); d != "" {
		t.Errorf("Default() mismatch (-want +got):\n%s", d)
	}

	t.Run("each call returns values the caller may change", func(t *testing.T) {
		a := Default()
		a.JWT.Algorithms[0] = "ES256"
		a.JWT.ForwardHeaders["X-Other"] = "x"
		if d := cmp.Diff(want, Default()); d != "" {
			t.Errorf("Default() changed after a caller modified a copy:\n%s", d)
		}
	})
}

func TestLoadFileSelection(t *testing.T) {
	cleanEnv(t)

	t.Run("no path and no revgate.yaml gives the defaults", func(t *testing.T) {
		t.Chdir(t.TempDir())
		c, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(Default(), *c); d != "" {
			t.Errorf("mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("no path reads revgate.yaml in the working directory", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := os.WriteFile(filepath.Join(dir, "revgate.yaml"), []byte("listen: \":9999\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != ":9999" {
			t.Errorf("Listen = %q, want %q", c.Listen, ":9999")
		}
	})

	t.Run("an explicit path that does not exist is an error", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.yaml")
		_, err := Load(p)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name the path", err)
		}
	})

	t.Run("an empty file gives the defaults", func(t *testing.T) {
		for _, content := range []string{"", "\n", "# only a comment\n", "---\n"} {
			c := mustLoadYAML(t, content)
			if d := cmp.Diff(Default(), *c); d != "" {
				t.Errorf("file %q: mismatch (-want +got):\n%s", content, d)
			}
		}
	})

	t.Run("a file that is not YAML is an error naming the file", func(t *testing.T) {
		p := writeFile(t, "bad.yaml", "listen: [unclosed\n")
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("err = %v, want an error naming %s", err, p)
		}
	})

	t.Run("a file whose top level is not a mapping is an error", func(t *testing.T) {
		if _, err := loadYAML(t, "- a\n- b\n"); err == nil {
			t.Fatal("err = nil")
		}
	})
}

func TestLoadFileValues(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, `
listen: ":8000"
upstream:
  url: "http://app:3000/base"
  timeout: 1m
  strip_authorization: true
  max_idle_conns_per_host: 10
routes:
  - prefix: "/api/token/"
    auth: none
  - prefix: "/api/token/refresh/"
    auth: refresh
  - prefix: "/api/private/"
jwt:
  jwks_url: "https://issuer.example/jwks.json"
  jwks_refresh: 10m
  public_key_files: ["/keys/a.pem", "/keys/b.pem"]
  algorithms: [RS256, ES256]
  issuer: "https://issuer.example"
  audience: ["api", "admin"]
  leeway: 0
  subject_claim: user_id
  session_claim: ""
  required_claims: {token_type: access}
  refresh_required_claims: {token_type: refresh}
  refresh_reuse_detection: true
  lookup: ["header:Authorization:Bearer", "cookie:session"]
  forward_headers:
    X-User-Id: user_id
revocation:
  store: redis
  redis:
    addrs: ["s1:26379", "s2:26379"]
    master_name: mymaster
    db: 2
    min_replicas_ack: 1
    min_replicas_timeout: 2s
  on_store_error: open
  max_token_lifetime: 12h
logout:
  path: ""
admin:
  listen: "0.0.0.0:9090"
  tokens:
    - name: ops
      token: "ops-token-0123456789"
log:
  level: debug
  format: text
server:
  write_timeout: 0
`)
	want := Default()
	want.Listen = ":8000"
	want.Upstream = Upstream{URL: "http://app:3000/base", Timeout: time.Minute, StripAuthorization: true, MaxIdleConnsPerHost: 10}
	want.Routes = []Route{
		{Prefix: "/api/token/", Auth: "none"},
		{Prefix: "/api/token/refresh/", Auth: "refresh"},
		{Prefix: "/api/private/", Auth: "required"}, // Load fills the default
	}
	want.JWT.JWKSURL = "https://issuer.example/jwks.json"
	want.JWT.JWKSRefresh = 10 * time.Minute
	want.JWT.PublicKeyFiles = []string{"/keys/a.pem", "/keys/b.pem"}
	want.JWT.Algorithms = []string{"RS256", "ES256"}
	want.JWT.Issuer = StringList{"https://issuer.example"}
	want.JWT.Audience = StringList{"api", "admin"}
	want.JWT.Leeway = 0
	want.JWT.SubjectClaim = "user_id"
	want.JWT.SessionClaim = "" // an explicit "" turns the default off
	want.JWT.RequiredClaims = map[string]any{"token_type": "access"}
	want.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	want.JWT.RefreshReuseDetection = true
	want.JWT.Lookup = []string{"header:Authorization:Bearer", "cookie:session"}
	want.JWT.ForwardHeaders = map[string]string{"X-User-Id": "user_id"}
	want.Revocation.Redis = Redis{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 2, KeyPrefix: "revgate:", MinReplicasAck: 1, MinReplicasTimeout: 2 * time.Second}
	want.Revocation.OnStoreError = "open"
	want.Revocation.MaxTokenLifetime = 12 * time.Hour
	want.Logout.Path = ""
	want.Admin.Listen = "0.0.0.0:9090"
	want.Admin.Tokens = []AdminToken{{Name: "ops", Token: "ops-token-0123456789"}}
	want.Log = Log{Level: "debug", Format: "text"}
	if d := diff(want, *c); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}

func TestLoadDefaultsThatDependOnOtherKeys(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantURL string
	}{
		{"the redis url defaults when neither url nor addrs is set", "", nil, DefaultRedisURL},
		{"the redis url stays empty when the file gives addrs", "revocation: {redis: {addrs: [\"a:6379\"], cluster: true}}", nil, ""},
		{"the redis url stays empty when the environment gives addrs", "", map[string]string{"REVGATE_REVOCATION_REDIS_ADDRS": "a:6379,b:6379"}, ""},
		{"an explicit redis url is kept", "revocation: {redis: {url: \"rediss://r:6380/1\"}}", nil, "rediss://r:6380/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := mustLoadYAML(t, tt.yaml)
			if c.Revocation.Redis.URL != tt.wantURL {
				t.Errorf("revocation.redis.url = %q, want %q", c.Revocation.Redis.URL, tt.wantURL)
			}
		})
	}
}

func TestLoadNullKeepsTheDefault(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, "listen:\nlogout:\n  path: null\njwt:\n")
	if c.Listen != ":8080" || c.Logout.Path != "/auth/logout" {
		t.Errorf("listen = %q, logout.path = %q; want the defaults", c.Listen, c.Logout.Path)
	}
}

func TestLoadEnvironmentOverridesTheFile(t *testing.T) {
	file := `
listen: ":7000"
upstream: {url: "http://file:1", strip_authorization: false, max_idle_conns_per_host: 5}
routes: [{prefix: "/file/", auth: none}]
jwt:
  algorithms: [RS256]
  leeway: 5s
  issuer: "https://file.example"
  required_claims: {from: file}
  forward_headers: {X-From-File: sub}
admin: {tokens: [{name: file, token: "file-token-0123456789"}]}
`
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "without environment variables the file wins over the defaults",
			check: func(t *testing.T, c *Config) {
				if c.Listen != ":7000" || c.JWT.Leeway != 5*time.Second || c.JWT.RequiredClaims["from"] != "file" {
					t.Errorf("file values not loaded: %+v", c)
				}
			},
		},
		{
			name: "a string variable wins over the file",
			env:  map[string]string{"REVGATE_LISTEN": ":7001", "REVGATE_UPSTREAM_URL": "http://env:2"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != ":7001" || c.Upstream.URL != "http://env:2" {
					t.Errorf("listen = %q, upstream.url = %q", c.Listen, c.Upstream.URL)
				}
			},
		},
		{
			name: "a duration, a boolean and an integer variable win over the file",
			env:  map[string]string{"REVGATE_JWT_LEEWAY": "1m30s", "REVGATE_UPSTREAM_STRIP_AUTHORIZATION": "true", "REVGATE_UPSTREAM_MAX_IDLE_CONNS_PER_HOST": "64"},
			check: func(t *testing.T, c *Config) {
				if c.JWT.Leeway != 90*time.Second || !c.Upstream.StripAuthorization || c.Upstream.MaxIdleConnsPerHost != 64 {
					t.Errorf("leeway = %v, strip = %v, idle = %d", c.JWT.Leeway, c.Upstream.StripAuthorization, c.Upstream.MaxIdleConnsPerHost)
				}
			},
		},
		{
			name: "a list variable is comma-separated and replaces the file's list",
			env:  map[string]string{"REVGATE_JWT_ALGORITHMS": "RS256, ES256,,EdDSA", "REVGATE_JWT_ISSUER": "https://a.example,https://b.example"},
			check: func(t *testing.T, c *Config) {
				if d := cmp.Diff([]string{"RS256", "ES256", "EdDSA"}, c.JWT.Algorithms); d != "" {
					t.Errorf("algorithms (-want +got):\n%s", d)
				}
				if d := cmp.Diff(StringList{"https://a.example", "https://b.example"}, c.JWT.Issuer); d != "" {
					t.Errorf("issuer (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "a map variable is JSON and replaces the file's map",
			env: map[string]string{
				"REVGATE_JWT_REQUIRED_CLAIMS": `{"token_type":"access","tokenVersion":2,"https://example.com/roles":["a"]}`,
				"REVGATE_JWT_FORWARD_HEADERS": `{"X-User":"sub","X-Email":"email"}`,
			},
			check: func(t *testing.T, c *Config) {
				wantClaims := map[string]any{"token_type": "access", "tokenVersion": 2, "https://example.com/roles": []any{"a"}}
				if d := cmp.Diff(wantClaims, c.JWT.RequiredClaims); d != "" {
					t.Errorf("required_claims (-want +got):\n%s", d)
				}
				if d := cmp.Diff(map[string]string{"X-User": "sub", "X-Email": "email"}, c.JWT.ForwardHeaders); d != "" {
					t.Errorf("forward_headers (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "a list of mappings variable is JSON and replaces the file's list",
			env: map[string]string{
				"REVGATE_ROUTES":       `[{"prefix":"/env/","auth":"refresh"},{"prefix":"/env2/"}]`,
				"REVGATE_ADMIN_TOKENS": `[{"name":"env","token":"env-token-0123456789"}]`,
			},
			check: func(t *testing.T, c *Config) {
				if d := cmp.Diff([]Route{{Prefix: "/env/", Auth: "refresh"}, {Prefix: "/env2/", Auth: "required"}}, c.Routes); d != "" {
					t.Errorf("routes (-want +got):\n%s", d)
				}
				if d := cmp.Diff([]AdminToken{{Name: "env", Token: "env-token-0123456789"}}, c.Admin.Tokens); d != "" {
					t.Errorf("admin.tokens (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "a variable set to the empty string empties the key",
			env:  map[string]string{"REVGATE_LOGOUT_PATH": "", "REVGATE_JWT_ISSUER": "", "REVGATE_JWT_FORWARD_HEADERS": "", "REVGATE_ROUTES": ""},
			check: func(t *testing.T, c *Config) {
				if c.Logout.Path != "" || len(c.JWT.Issuer) != 0 || len(c.JWT.ForwardHeaders) != 0 || len(c.Routes) != 0 {
					t.Errorf("logout.path = %q, issuer = %v, forward_headers = %v, routes = %v", c.Logout.Path, c.JWT.Issuer, c.JWT.ForwardHeaders, c.Routes)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tt.check(t, mustLoadYAML(t, file))
		})
	}
}

// TestLoadEveryKeyHasAnEnvironmentVariable sets each leaf key's variable
// alone and checks that it reached the field.
func TestLoadEveryKeyHasAnEnvironmentVariable(t *testing.T) {
	secretFile := writeFile(t, "secret", "a-secret-that-is-long-enough-for-anything-0123456789abcdefghijklmnop\n")
	for _, l := range leaves() {
		t.Run(envVar(l.key)+" sets "+l.key, func(t *testing.T) {
			cleanEnv(t)
			ft := configType.FieldByIndex(l.index).Type
			var env string
			var want any
			switch {
			case strings.HasSuffix(l.key, "_file") && ft.Kind() == reflect.String:
				env, want = secretFile, secretFile
			case ft == durationType:
				env, want = "7s", 7*time.Second
			case ft.Kind() == reflect.String:
				env, want = "from-env", "from-env"
			case ft.Kind() == reflect.Bool:
				env, want = "true", true
			case ft.Kind() == reflect.Int:
				env, want = "7", 7
			case ft == reflect.TypeFor[[]string]():
				env, want = "a,b", []string{"a", "b"}
			case ft == reflect.TypeFor[StringList]():
				env, want = "a,b", StringList{"a", "b"}
			case ft == reflect.TypeFor[map[string]string]():
				env, want = `{"X-A":"b"}`, map[string]string{"X-A": "b"}
			case ft == reflect.TypeFor[map[string]any]():
				env, want = `{"Claim.A":"b"}`, map[string]any{"Claim.A": "b"}
			case ft == reflect.TypeFor[[]Route]():
				env, want = `[{"prefix":"/p/","auth":"none"}]`, []Route{{Prefix: "/p/", Auth: "none"}}
			case ft == reflect.TypeFor[[]AdminToken]():
				env, want = `[{"name":"n","token":"t"}]`, []AdminToken{{Name: "n", Token: "t"}}
			case ft == reflect.TypeFor[[]OAuthClient]():
				env, want = `[{"id":"c","secret":"s","revoke_any":true}]`, []OAuthClient{{ID: "c", Secret: "s", RevokeAny: true}}
			default:
				t.Fatalf("no test value for %s of type %v", l.key, ft)
			}
			t.Setenv(envVar(l.key), env)
			c := mustLoadYAML(t, "")
			got := reflect.ValueOf(*c).FieldByIndex(l.index).Interface()
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s=%q: %s (-want +got):\n%s", envVar(l.key), env, l.key, d)
			}
		})
	}
}

func TestLoadKeepsClaimAndHeaderNamesAsWritten(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, `
JWT:
  Required_Claims:
    tokenType: access
    "https://example.com/claims.role": admin
    nested: {innerKey: [1, "two"]}
  forward_headers:
    X-User-ID: user_id
    x-lower: sub
`)
	wantClaims := map[string]any{
		"tokenType":                       "access",
		"https://example.com/claims.role": "admin",
		"nested":                          map[string]any{"innerKey": []any{1, "two"}},
	}
	if d := cmp.Diff(wantClaims, c.JWT.RequiredClaims); d != "" {
		t.Errorf("required_claims (-want +got):\n%s", d)
	}
	wantHeaders := map[string]string{"X-User-ID": "user_id", "x-lower": "sub"}
	if d := cmp.Diff(wantHeaders, c.JWT.ForwardHeaders); d != "" {
		t.Errorf("forward_headers (-want +got):\n%s", d)
	}

	t.Run("an empty forward_headers in the file removes the default header", func(t *testing.T) {
		c := mustLoadYAML(t, "jwt: {forward_headers: {}}")
		if len(c.JWT.ForwardHeaders) != 0 {
			t.Errorf("forward_headers = %v, want none", c.JWT.ForwardHeaders)
		}
	})
	t.Run("forward_headers absent from the file keeps the default", func(t *testing.T) {
		c := mustLoadYAML(t, "jwt: {leeway: 1s}")
		if d := cmp.Diff(Default().JWT.ForwardHeaders, c.JWT.ForwardHeaders); d != "" {
			t.Errorf("forward_headers (-want +got):\n%s", d)
		}
	})
}

func TestLoadUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []Problem
	}{
		{
			name: "a typo at the top level is named",
			yaml: "listn: \":8080\"",
			want: []Problem{{Message: `unknown key "listn" (did you mean "listen"?)`}},
		},
		{
			name: "a typo in a section is named with its full path",
			yaml: "jwt:\n  algoritms: [RS256]",
			want: []Problem{{Message: `unknown key "jwt.algoritms" (did you mean "jwt.algorithms"?)`}},
		},
		{
			name: "a typo two sections deep is named with its full path",
			yaml: "revocation:\n  redis:\n    pasword: x",
			want: []Problem{{Message: `unknown key "revocation.redis.pasword" (did you mean "revocation.redis.password"?)`}},
		},
		{
			name: "a typo inside the second route is named with its index",
			yaml: "routes:\n  - prefix: /a/\n  - prefix: /b/\n    auht: none",
			want: []Problem{{Message: `unknown key "routes[1].auht" (did you mean "routes[1].auth"?)`}},
		},
		{
			name: "a typo inside an admin token is named with its index",
			yaml: "admin:\n  tokens:\n    - name: ops\n      tokn_file: /x",
			want: []Problem{{Message: `unknown key "admin.tokens[0].tokn_file" (did you mean "admin.tokens[0].token_file"?)`}},
		},
		{
			name: "a key in the wrong section points to the right one",
			yaml: "leeway: 10s",
			want: []Problem{{Message: `unknown key "leeway" (did you mean "jwt.leeway"?)`}},
		},
		{
			name: "a key nobody could mean gets no suggestion",
			yaml: "jwt:\n  frobnicate: true",
			want: []Problem{{Message: `unknown key "jwt.frobnicate"`}},
		},
		{
			name: "a typo inside a route given as JSON in the environment names the variable",
			env:  map[string]string{"REVGATE_ROUTES": `[{"prefix":"/a/","auht":"none"}]`},
			want: []Problem{{Message: `unknown key "routes[0].auht" (did you mean "routes[0].auth"?) (from REVGATE_ROUTES)`}},
		},
		{
			name: "every unknown key is reported at once, in config order",
			yaml: "zzz: 1\nupstream: {urll: x}\njwt: {leewey: 1s, algoritms: []}\nlisten: \":1\"\naaa: 2",
			want: []Problem{
				{Message: `unknown key "upstream.urll" (did you mean "upstream.url"?)`},
				{Message: `unknown key "jwt.algoritms" (did you mean "jwt.algorithms"?)`},
				{Message: `unknown key "jwt.leewey" (did you mean "jwt.leeway"?)`},
				{Message: `unknown key "aaa"`},
				{Message: `unknown key "zzz"`},
			},
		},
		{
			name: "two spellings of one key that differ only in case are an error",
			yaml: "jwt:\n  leeway: 1s\n  Leeway: 2s",
			want: []Problem{{Key: "jwt.leeway", Message: `set twice, as "Leeway" and "leeway" (keys are case-insensitive)`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := loadYAML(t, tt.yaml)
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want unknown-key errors", c)
			}
			if d := cmp.Diff(tt.want, problemsOf(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadWrongTypes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []Problem
	}{
		{
			name: "a duration that does not parse is quoted",
			yaml: "jwt: {leeway: thirty}",
			want: []Problem{{"jwt.leeway", `expected a duration like 30s, got "thirty"`}},
		},
		{
			name: "a duration without a unit is refused",
			yaml: "upstream: {timeout: 30}",
			want: []Problem{{"upstream.timeout", "expected a duration like 30s, got 30 (a number needs a unit)"}},
		},
		{
			name: "a duration from the environment names the variable",
			env:  map[string]string{"REVGATE_REVOCATION_LOOKUP_TIMEOUT": "soon"},
			want: []Problem{{"revocation.lookup_timeout", `expected a duration like 30s, got "soon" (from REVGATE_REVOCATION_LOOKUP_TIMEOUT)`}},
		},
		{
			name: "a boolean that does not parse is quoted",
			env:  map[string]string{"REVGATE_REVOCATION_REDIS_CLUSTER": "yes please"},
			want: []Problem{{"revocation.redis.cluster", `expected true or false, got "yes please" (from REVGATE_REVOCATION_REDIS_CLUSTER)`}},
		},
		{
			name: "a string where a boolean belongs is refused",
			yaml: "upstream: {strip_authorization: \"maybe\"}",
			want: []Problem{{"upstream.strip_authorization", `expected true or false, got "maybe"`}},
		},
		{
			name: "an integer that does not parse is quoted",
			yaml: "server: {max_header_bytes: lots}",
			want: []Problem{{"server.max_header_bytes", `expected an integer, got "lots"`}},
		},
		{
			name: "a number where a string belongs asks for quotes",
			yaml: "listen: 8080",
			want: []Problem{{"listen", "expected a string, got a number (quote it)"}},
		},
		{
			name: "a mapping where a list belongs is refused",
			yaml: "jwt: {algorithms: {RS256: true}}",
			want: []Problem{{"jwt.algorithms", "expected a list of strings (or one comma-separated string), got a mapping"}},
		},
		{
			name: "a list element that is not a string is named by index",
			yaml: "jwt: {lookup: [\"cookie:a\", 5]}",
			want: []Problem{{"jwt.lookup[1]", "expected a string, got a number (quote it)"}},
		},
		{
			name: "a string where a section belongs is refused",
			yaml: "upstream: \"http://x\"",
			want: []Problem{{"upstream", "expected a mapping of keys, got a string"}},
		},
		{
			name: "a list where a claims map belongs is refused",
			yaml: "jwt: {required_claims: [token_type]}",
			want: []Problem{{"jwt.required_claims", "expected a mapping, got a list"}},
		},
		{
			name: "a forward header whose claim is not a string is named",
			yaml: "jwt: {forward_headers: {X-Id: 5}}",
			want: []Problem{{"jwt.forward_headers[X-Id]", "expected a string, got a number (quote it)"}},
		},
		{
			name: "routes that are not JSON in the environment are refused",
			env:  map[string]string{"REVGATE_ROUTES": "/a/:none"},
			want: []Problem{{"routes", "expected a list of mappings (as JSON in the environment): invalid character '/' looking for beginning of value (from REVGATE_ROUTES)"}},
		},
		{
			name: "claims that are a JSON list in the environment are refused",
			env:  map[string]string{"REVGATE_JWT_REQUIRED_CLAIMS": `["a"]`},
			want: []Problem{{"jwt.required_claims", "expected a mapping (as a JSON object in the environment), got a list (from REVGATE_JWT_REQUIRED_CLAIMS)"}},
		},
		{
			name: "every wrong value is reported at once, in config order",
			yaml: "server: {idle_timeout: x}\nlisten: 1\njwt: {leeway: y}",
			want: []Problem{
				{"listen", "expected a string, got a number (quote it)"},
				{"jwt.leeway", `expected a duration like 30s, got "y"`},
				{"server.idle_timeout", `expected a duration like 30s, got "x"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := loadYAML(t, tt.yaml)
			if d := cmp.Diff(tt.want, problemsOf(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadWrongTypesNeverShowStrings(t *testing.T) {
	cleanEnv(t)
	// A numeric password, unquoted, must be refused without printing it.
	_, err := loadYAML(t, "revocation: {redis: {password: 918273645546372819}}\nadmin: {tokens: [{name: a, token: 5647382910564738}]}")
	if err == nil {
		t.Fatal("Load succeeded, want a type error")
	}
	for _, secret := range []string{"918273645546372819", "5647382910564738"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret %s: %v", secret, err)
		}
	}
}

func TestLoadSecretFiles(t *testing.T) {
	const (
		hmac  = "hmac-secret-0123456789-0123456789-abcdef"
		pass  = "redis-password-xyz"
		token = "admin-token-0123456789"
	)
	t.Run("each *_file is read into its inline field and the path is kept", func(t *testing.T) {
		cleanEnv(t)
		hf := writeFile(t, "hmac", hmac+"\n")
		pf := writeFile(t, "pass", pass+"\r\n")
		tf := writeFile(t, "token", token+" \n")
		c := mustLoadYAML(t, "jwt: {hmac_secret_file: "+hf+"}\nrevocation: {redis: {password_file: "+pf+"}}\nadmin: {tokens: [{name: a, token: inline-token-0123456789}, {name: b, token_file: "+tf+"}]}")
		got := []string{c.JWT.HMACSecret, c.JWT.HMACSecretFile, c.Revocation.Redis.Password, c.Revocation.Redis.PasswordFile, c.Admin.Tokens[0].Token, c.Admin.Tokens[1].Token, c.Admin.Tokens[1].TokenFile}
		want := []string{hmac, hf, pass, pf, "inline-token-0123456789", token, tf}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})

	t.Run("a *_file path from the environment is read", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("REVGATE_REVOCATION_REDIS_PASSWORD_FILE", writeFile(t, "pass", pass))
		c := mustLoadYAML(t, "")
		if c.Revocation.Redis.Password != pass {
			t.Errorf("password was not read from the file")
		}
	})

	hf := writeFile(t, "hmac", hmac)
	missing := filepath.Join(t.TempDir(), "missing")
	empty := writeFile(t, "empty", " \n")
	dir := t.TempDir()
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		{
			name: "an inline secret and a file together are an error naming the key",
			yaml: "jwt: {hmac_secret: " + hmac + ", hmac_secret_file: " + hf + "}",
			want: []Problem{{"jwt.hmac_secret", "set either jwt.hmac_secret or jwt.hmac_secret_file, not both"}},
		},
		{
			name: "a missing file is an error naming the key and the path",
			yaml: "revocation: {redis: {password_file: " + missing + "}}",
			want: []Problem{{"revocation.redis.password_file", `cannot read "` + missing + `": no such file or directory`}},
		},
		{
			name: "a directory is an error naming the key and the path",
			yaml: "admin: {tokens: [{name: a, token_file: " + dir + "}]}",
			want: []Problem{{"admin.tokens[0].token_file", `cannot read "` + dir + `": is a directory`}},
		},
		{
			name: "an empty file is an error",
			yaml: "jwt: {hmac_secret_file: " + empty + "}",
			want: []Problem{{"jwt.hmac_secret_file", `"` + empty + `" is empty`}},
		},
		{
			name: "every secret problem is reported at once",
			yaml: "jwt: {hmac_secret: " + hmac + ", hmac_secret_file: " + hf + "}\nadmin: {tokens: [{name: a, token: " + token + ", token_file: " + hf + "}, {name: b, token_file: " + missing + "}]}",
			want: []Problem{
				{"jwt.hmac_secret", "set either jwt.hmac_secret or jwt.hmac_secret_file, not both"},
				{"admin.tokens[0].token", "set either admin.tokens[0].token or admin.tokens[0].token_file, not both"},
				{"admin.tokens[1].token_file", `cannot read "` + missing + `": no such file or directory`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			_, err := loadYAML(t, tt.yaml)
			if d := cmp.Diff(tt.want, problemsOf(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			for _, secret := range []string{hmac, pass, token} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret: %v", err)
				}
			}
		})
	}
}

func TestLoadedExampleIsValid(t *testing.T) {
	cleanEnv(t)
	c, err := Load(filepath.Join("testdata", "revgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("testdata/revgate.yaml does not validate:\n%v", err)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
)

// TestEveryRedisKeyReachesTheClientOrTheStore fills every field of
// config.Redis with a value of its own and finds each in the field of the
// same name of revocation.ClientOptions or revocation.RedisOptions: a key
// added to the configuration but not mapped fails here.
func TestEveryRedisKeyReachesTheClientOrTheStore(t *testing.T) {
	// Load reads these files into Password and SentinelPassword.
	readByLoad := map[string]bool{"PasswordFile": true, "SentinelPasswordFile": true}

	var r config.Redis
	rv := reflect.ValueOf(&r).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("value-%d", i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64: // int, time.Duration
			f.SetInt(int64(i + 1))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{fmt.Sprintf("a-%d:1", i), fmt.Sprintf("b-%d:2", i)}))
		default:
			t.Fatalf("config.Redis.%s is a %s: teach this test to set one", rv.Type().Field(i).Name, f.Kind())
		}
	}
	client, store := reflect.ValueOf(clientOptions(r)), reflect.ValueOf(storeOptions(r))
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		if readByLoad[name] {
			continue
		}
		got := client.FieldByName(name)
		if !got.IsValid() {
			got = store.FieldByName(name)
		}
		switch {
		case !got.IsValid():
			t.Errorf("config.Redis.%s has no field of that name in revocation.ClientOptions or RedisOptions", name)
		case !reflect.DeepEqual(got.Interface(), rv.Field(i).Interface()):
			t.Errorf("config.Redis.%s = %v arrives as %v", name, rv.Field(i).Interface(), got.Interface())
		}
	}
}

// TestServeStopsOnACAFileItCannotRead covers the one client setting
// config.Validate cannot judge, since it reads no files: serve must stop
// at once and say which file.
func TestServeStopsOnACAFileItCannotRead(t *testing.T) {
	s := newSigner(t)
	missing := filepath.Join(t.TempDir(), "missing-ca.pem")
	path := filepath.Join(t.TempDir(), "revgate.yaml")
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:3000\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\n"+
		"revocation:\n  redis:\n    url: rediss://127.0.0.1:1/0\n    ca_file: %q\nadmin:\n  listen: 127.0.0.1:0\n  tokens:\n    - name: ops\n      token: %q\n",
		s.jwksPath, missing, adminToken)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(t, "serve", "--config", path)
	if code != exitError || !strings.Contains(out, "redis client: CAFile: open "+missing) {
		t.Fatalf("exit %d, want 1 naming the CA file:\n%s", code, out)
	}
}

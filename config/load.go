package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// DefaultFile is the configuration file Load reads when given no path,
// if it exists in the working directory.
const DefaultFile = "revgate.yaml"

// Load reads the configuration: defaults, then the YAML file, then the
// environment. path "" means DefaultFile if it exists, else defaults and
// the environment only; an explicit path must exist.
//
// Every key can be overridden by REVGATE_ + the key path in upper case with
// '.' replaced by '_' (REVGATE_REVOCATION_REDIS_URL). A variable that is
// set, even to "", wins. List keys take a comma-separated value
// (REVGATE_JWT_ALGORITHMS="RS256,ES256"); maps and lists of mappings take
// JSON (REVGATE_JWT_REQUIRED_CLAIMS='{"token_type":"access"}').
//
// Unknown keys and values of the wrong type are errors. Secrets given as
// *_file are read into their inline field (jwt.hmac_secret,
// revocation.redis.password, revocation.redis.sentinel_password,
// admin.tokens[].token, oauth.clients[].secret); the path stays set.
// Decoding problems are returned together as a *ValidationError.
//
// Load does not validate: call Validate on the result.
func Load(path string) (*Config, error) {
	raw, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var ps problems
	checkDuplicateKeys(raw, "", &ps)
	// Maps whose keys are data, not config keys (claim and header names),
	// bypass viper: it lower-cases every key and splits keys on '.', which
	// would turn the claim "https://example.com/role" into nested maps and
	// "tokenType" into "tokentype".
	all := leaves()
	var dataMaps []leaf
	for _, l := range all {
		if configType.FieldByIndex(l.index).Type.Kind() == reflect.Map {
			dataMaps = append(dataMaps, l)
		}
	}
	fromFile := make(map[string]any)
	for _, l := range dataMaps {
		if v, ok := extract(raw, l.key); ok {
			fromFile[l.key] = v
		}
	}
	pruneNulls(raw)

	v := viper.New()
	v.AllowEmptyEnv(true)
	defaults := reflect.ValueOf(viperDefaults())
	for _, l := range all {
		if d := defaults.FieldByIndex(l.index); !isNilCollection(d) {
			v.SetDefault(l.key, d.Interface())
		}
		if err := v.BindEnv(l.key, envVar(l.key)); err != nil {
			return nil, fmt.Errorf("binding %s: %w", envVar(l.key), err)
		}
	}
	if err := v.MergeConfigMap(raw); err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}

	var c Config
	err = v.UnmarshalExact(&c, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = decodeHook
		dc.WeaklyTypedInput = false
	})
	addDecodeProblems(err, &ps)

	cv := reflect.ValueOf(&c).Elem()
	for _, l := range dataMaps {
		in, ok := fromFile[l.key]
		if _, fromEnv := os.LookupEnv(envVar(l.key)); fromEnv || !ok {
			continue
		}
		field := cv.FieldByIndex(l.index)
		field.SetZero()
		d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook:  decodeHook,
			ErrorUnused: true,
			Result:      field.Addr().Interface(),
			RootName:    l.key,
		})
		if err != nil {
			return nil, fmt.Errorf("decoder for %s: %w", l.key, err)
		}
		addDecodeProblems(d.Decode(in), &ps)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}

	// Defaults viper cannot express: one depends on another key, the other
	// applies to every element of a list.
	if c.Revocation.Redis.URL == "" && len(c.Revocation.Redis.Addrs) == 0 {
		c.Revocation.Redis.URL = DefaultRedisURL
	}
	for i := range c.Routes {
		if c.Routes[i].Auth == "" {
			c.Routes[i].Auth = AuthRequired
		}
	}

	readSecretFiles(&c, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// viperDefaults is Default without the defaults Load applies itself.
func viperDefaults() Config {
	d := Default()
	d.Revocation.Redis.URL = ""
	return d
}

func isNilCollection(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		return v.IsNil()
	}
	return false
}

// readFile reads and parses the configuration file; see Load for which.
func readFile(path string) (map[string]any, error) {
	if path == "" {
		if _, err := os.Stat(DefaultFile); errors.Is(err, fs.ErrNotExist) {
			return map[string]any{}, nil
		}
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config file %q: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config file %q: %w", path, err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, nil
}

// asMap returns m as a map[string]any, converting YAML's map[any]any.
func asMap(m any) (map[string]any, bool) {
	switch m := m.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// extract removes the value at key from raw and returns it. Config keys
// match case-insensitively, as viper matches them.
func extract(raw map[string]any, key string) (any, bool) {
	segs := strings.Split(key, ".")
	m := raw
	for i, seg := range segs {
		k, ok := findKey(m, seg)
		if !ok {
			return nil, false
		}
		v := m[k]
		if i == len(segs)-1 {
			delete(m, k)
			return v, true
		}
		sub, ok := asMap(v)
		if !ok {
			return nil, false
		}
		m[k] = sub
		m = sub
	}
	return nil, false
}

// findKey returns the key of m that matches name case-insensitively.
func findKey(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// pruneNulls drops keys without a value ("key:" or "key: null"), so they
// keep their default.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
			continue
		}
		if sub, ok := asMap(v); ok {
			pruneNulls(sub)
			m[k] = sub
		}
	}
}

// checkDuplicateKeys reports keys that differ only in case: keys are
// case-insensitive, and which of the two would win is undefined.
func checkDuplicateKeys(v any, prefix string, ps *problems) {
	if list, ok := v.([]any); ok {
		for i, e := range list {
			checkDuplicateKeys(e, fmt.Sprintf("%s[%d]", prefix, i), ps)
		}
		return
	}
	m, ok := asMap(v)
	if !ok {
		return
	}
	seen := make(map[string]string, len(m))
	for k := range m {
		lk := strings.ToLower(k)
		key := joinKey(prefix, lk)
		if other, dup := seen[lk]; dup {
			a, b := min(other, k), max(other, k)
			ps.add(key, "set twice, as %q and %q (keys are case-insensitive)", a, b)
			continue
		}
		seen[lk] = k
		if t := typeAt(key); t != nil && t.Kind() == reflect.Map {
			continue // its keys are data (claim, header names): case matters
		}
		checkDuplicateKeys(m[k], key, ps)
	}
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// addDecodeProblems turns mapstructure's errors into Problems naming the
// full key path.
func addDecodeProblems(err error, ps *problems) {
	if err == nil {
		return
	}
	const invalidKeys = "has invalid keys: "
	walkDecodeError(err, func(name string, err error) {
		if name == configType.String() {
			name = "" // mapstructure names the root by its type
		}
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, invalidKeys); ok {
			for _, k := range strings.Split(rest, ", ") {
				full := joinKey(name, k)
				msg := fmt.Sprintf("unknown key %q", full)
				if s := suggest(name, k); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				ps.addAt(full, "%s%s", msg, fromEnv(full))
			}
			return
		}
		ps.add(name, "%s%s", msg, fromEnv(name))
	})
}

// walkDecodeError calls fn for every leaf error in mapstructure's tree of
// joined and wrapped errors, with the key the error is about.
func walkDecodeError(err error, fn func(name string, err error)) {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range e.Unwrap() {
			walkDecodeError(e, fn)
		}
	case *mapstructure.DecodeError:
		inner := e.Unwrap()
		var de *mapstructure.DecodeError
		if _, joined := inner.(interface{ Unwrap() []error }); joined || errors.As(inner, &de) {
			walkDecodeError(inner, fn)
			return
		}
		fn(e.Name(), inner)
	default:
		if u := errors.Unwrap(err); u != nil {
			walkDecodeError(u, fn)
			return
		}
		fn("", err)
	}
}

// fromEnv says which environment variable set key, if one did.
func fromEnv(key string) string {
	for _, l := range leaves() {
		if key == l.key || strings.HasPrefix(key, l.key+".") || strings.HasPrefix(key, l.key+"[") {
			if _, ok := os.LookupEnv(envVar(l.key)); ok {
				return " (from " + envVar(l.key) + ")"
			}
			return ""
		}
	}
	return ""
}

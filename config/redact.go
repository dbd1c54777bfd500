package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RedactedValue replaces every secret in the result of Redacted.
const RedactedValue = "<redacted>"

// Redacted returns a deep copy of c in which every secret that is set
// reads RedactedValue: jwt.hmac_secret, revocation.redis.password,
// revocation.redis.sentinel_password, admin.tokens[].token,
// oauth.clients[].secret, ssf.push_authorization, ssf.poll_authorization,
// and the
// password and query values of any URL. A secret
// read from a *_file shows as that path only (the inline key stays empty),
// so the printed configuration loads back as it was written. Print this,
// never c.
func (c *Config) Redacted() Config {
	r := c.clone()
	for _, s := range r.secrets() {
		switch {
		case s.file != "":
			*s.inline = ""
		case *s.inline != "":
			*s.inline = RedactedValue
		}
	}
	r.Upstream.URL = RedactURL(r.Upstream.URL)
	r.JWT.JWKSURL = RedactURL(r.JWT.JWKSURL)
	r.Revocation.Redis.URL = RedactURL(r.Revocation.Redis.URL)
	r.SSF.JWKSURL = RedactURL(r.SSF.JWKSURL)
	r.SSF.PollURL = RedactURL(r.SSF.PollURL)
	return r
}

// clone returns a deep copy of c.
func (c *Config) clone() Config {
	r := *c
	r.Routes = slices.Clone(c.Routes)
	r.JWT.PublicKeyFiles = slices.Clone(c.JWT.PublicKeyFiles)
	r.JWT.Algorithms = slices.Clone(c.JWT.Algorithms)
	r.JWT.Issuer = slices.Clone(c.JWT.Issuer)
	r.JWT.Audience = slices.Clone(c.JWT.Audience)
	r.JWT.RequiredClaims = cloneValue(c.JWT.RequiredClaims)
	r.JWT.RefreshRequiredClaims = cloneValue(c.JWT.RefreshRequiredClaims)
	r.JWT.Lookup = slices.Clone(c.JWT.Lookup)
	r.JWT.ForwardHeaders = maps.Clone(c.JWT.ForwardHeaders)
	r.Revocation.Redis.Addrs = slices.Clone(c.Revocation.Redis.Addrs)
	r.Admin.Tokens = slices.Clone(c.Admin.Tokens)
	r.OAuth.Clients = slices.Clone(c.OAuth.Clients)
	return r
}

// cloneValue deep-copies the maps and lists of a decoded YAML or JSON value.
func cloneValue[T any](v T) T {
	out, _ := cloneAny(v).(T)
	return out
}

func cloneAny(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneAny(e)
		}
		return m
	case map[any]any:
		m := make(map[any]any, len(v))
		for k, e := range v {
			m[k] = cloneAny(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = cloneAny(e)
		}
		return l
	}
	return v
}

// RedactError is err's text with every URL in it redacted as RedactURL
// redacts: the URL of each *url.Error in its chain (Go masks the password
// there but keeps the query, where an ?api_key= lives) and each of urls (a
// library may quote the URL it fetched as it is). Every error that may name
// a configured URL is logged through it.
func RedactError(err error, urls ...string) string {
	s := err.Error()
	for _, u := range urls {
		if u != "" {
			s = strings.ReplaceAll(s, u, RedactURL(u))
		}
	}
	var ue *url.Error
	for e := err; errors.As(e, &ue); e = ue.Err {
		if ue.URL != "" {
			s = strings.ReplaceAll(s, ue.URL, RedactURL(ue.URL))
		}
	}
	return s
}

// RedactURL replaces the password in raw's user info and every query value
// (a JWKS URL may carry ?api_key=...). A URL that does not parse but may
// hold either is replaced whole.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if strings.ContainsAny(raw, "@?") {
			return RedactedValue
		}
		return raw
	}
	query := ""
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			parts[i] = k + "=" + RedactedValue
		}
		query = "?" + strings.Join(parts, "&")
		u.RawQuery = ""
	}
	userinfo := ""
	if _, ok := u.User.Password(); ok {
		userinfo = url.User(u.User.Username()).String() + ":" + RedactedValue + "@"
		u.User = nil
	} else if query == "" {
		return raw
	}
	fragment := ""
	if u.Fragment != "" {
		fragment = "#" + u.EscapedFragment()
		u.Fragment, u.RawFragment = "", ""
	}
	rest, ok := strings.CutPrefix(u.String(), u.Scheme+"://")
	if !ok {
		return RedactedValue
	}
	return u.Scheme + "://" + userinfo + rest + query + fragment
}

// WriteYAML writes c as YAML with the keys Load reads, in declaration
// order, durations as Go strings ("30s", "5m", "24h"). It writes c as
// given: pass c.Redacted() unless the output is meant to hold secrets.
func WriteYAML(w io.Writer, c Config) error {
	n, err := yamlNode(reflect.ValueOf(c))
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return fmt.Errorf("writing yaml: %w", err)
	}
	return enc.Close()
}

func yamlNode(v reflect.Value) (*yaml.Node, error) {
	if v.Type() == durationType {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: formatDuration(time.Duration(v.Int()))}, nil
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
		return yamlNode(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			val, err := yamlNode(v.Field(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, val)
		}
		return n, nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Len() == 0 || v.Type().Elem().Kind() == reflect.String {
			n.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			e, err := yamlNode(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, e)
		}
		return n, nil
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			kn, err := yamlNode(k)
			if err != nil {
				return nil, err
			}
			val, err := yamlNode(v.MapIndex(k))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, kn, val)
		}
		return n, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return nil, fmt.Errorf("encoding %v: %w", v.Type(), err)
	}
	return n, nil
}

// formatDuration is time.Duration.String without trailing zero units:
// "5m" rather than "5m0s", "24h" rather than "24h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// decodeHook converts what YAML and the environment give into the type of
// the key, or says what was expected. Environment values are always
// strings, so a string is also accepted for booleans, integers, lists
// (comma-separated) and maps or lists of mappings (JSON).
//
// Messages quote the value only for durations, booleans and integers: a
// string key may hold a secret.
func decodeHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to == durationType {
		return toDuration(data)
	}
	switch to.Kind() {
	case reflect.String:
		if s, ok := data.(string); ok {
			return s, nil
		}
		switch data.(type) {
		case bool, int, int64, uint64, float64, time.Time:
			// YAML read an unquoted value as another type.
			return nil, fmt.Errorf("expected a string, got %s (quote it)", describe(data))
		}
		return nil, fmt.Errorf("expected a string, got %s", describe(data))
	case reflect.Bool:
		switch v := data.(type) {
		case bool:
			return v, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("expected true or false, got %q", v)
			}
			return b, nil
		}
		return nil, fmt.Errorf("expected true or false, got %s", describe(data))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return toInt(data)
	case reflect.Slice:
		if to.Elem().Kind() == reflect.String {
			return toStringList(data)
		}
		return toList(data)
	case reflect.Map:
		return toMap(data)
	case reflect.Struct:
		if _, ok := asMap(data); ok {
			return data, nil
		}
		return nil, fmt.Errorf("expected a mapping of keys, got %s", describe(data))
	}
	return data, nil
}

func toDuration(data any) (any, error) {
	const expected = "expected a duration like 30s"
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s, got %q", expected, v)
		}
		return d, nil
	case int, int64, uint64, float64:
		if reflect.ValueOf(v).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%s, got %v (a number needs a unit)", expected, v)
	}
	return nil, fmt.Errorf("%s, got %s", expected, describe(data))
}

func toInt(data any) (any, error) {
	const expected = "expected an integer"
	switch v := data.(type) {
	case int:
		return v, nil
	case int64:
		return v, nil
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s, got %q", expected, v)
		}
		return n, nil
	default:
		return nil, fmt.Errorf("%s, got %s", expected, describe(data))
	}
	return nil, fmt.Errorf("%s, got %v", expected, data)
}

// toStringList accepts a list, or one string of comma-separated items
// (blank items dropped; "" is the empty list).
func toStringList(data any) (any, error) {
	switch v := data.(type) {
	case string:
		out := []string{}
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	case []string, StringList, []any:
		return v, nil
	}
	return nil, fmt.Errorf("expected a list of strings (or one comma-separated string), got %s", describe(data))
}

// toList accepts a list, or (from the environment) a JSON list.
func toList(data any) (any, error) {
	const expected = "expected a list of mappings"
	switch v := data.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return []any{}, nil
		}
		parsed, err := parseJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s (as JSON in the environment): %w", expected, err)
		}
		if _, ok := parsed.([]any); !ok {
			return nil, fmt.Errorf("%s (as JSON in the environment), got %s", expected, describe(parsed))
		}
		return parsed, nil
	}
	if reflect.ValueOf(data).Kind() == reflect.Slice {
		return data, nil
	}
	return nil, fmt.Errorf("%s, got %s", expected, describe(data))
}

// toMap accepts a mapping, or (from the environment) a JSON object.
func toMap(data any) (any, error) {
	const expected = "expected a mapping"
	switch v := data.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return map[string]any{}, nil
		}
		parsed, err := parseJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s (as a JSON object in the environment): %w", expected, err)
		}
		if _, ok := parsed.(map[string]any); !ok {
			return nil, fmt.Errorf("%s (as a JSON object in the environment), got %s", expected, describe(parsed))
		}
		return parsed, nil
	}
	if reflect.ValueOf(data).Kind() == reflect.Map {
		return data, nil
	}
	return nil, fmt.Errorf("%s, got %s", expected, describe(data))
}

// parseJSON decodes one JSON value. Integral numbers become int, as YAML
// gives them, so a claim value compares the same from either source.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("extra data after the JSON value")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			if int64(int(n)) == n {
				return int(n)
			}
			return n
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	}
	return v
}

// describe names the kind of a value without showing it.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return "a number"
	case time.Time:
		return "a date"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

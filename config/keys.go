package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every environment variable that overrides a key.
const envPrefix = "REVGATE_"

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

// leaf is a key that holds a value, as opposed to a section (a struct) that
// only holds keys. Lists and maps are leaves: the environment sets them whole.
type leaf struct {
	key   string // "jwt.leeway"
	index []int  // field index path from Config
}

// leaves lists every leaf key of Config in declaration order.
func leaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := tagName(f)
			if name == "" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key, idx)
				continue
			}
			out = append(out, leaf{key: key, index: idx})
		}
	}
	walk(configType, "", nil)
	return out
}

// envVar is the environment variable that overrides key.
func envVar(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// splitKey splits "admin.tokens[0].token" into "admin", "tokens", "[0]",
// "token". A bracketed segment is an index or a map key.
func splitKey(key string) []string {
	var segs []string
	for key != "" {
		switch {
		case key[0] == '.':
			key = key[1:]
		case key[0] == '[':
			end := strings.LastIndexByte(key, ']')
			if next := strings.Index(key, "]."); next >= 0 {
				end = next
			} else if next := strings.Index(key, "]["); next >= 0 {
				end = next
			}
			if end < 0 {
				return append(segs, key)
			}
			segs = append(segs, key[:end+1])
			key = key[end+1:]
		default:
			end := strings.IndexAny(key, ".[")
			if end < 0 {
				return append(segs, key)
			}
			segs = append(segs, key[:end])
			key = key[end:]
		}
	}
	return segs
}

// keyOrder places key in declaration order: the field index (or list
// index) of each segment. Unknown segments sort after known ones.
func keyOrder(key string) []int {
	const unknown = 1 << 30
	var order []int
	t := configType
	for _, seg := range splitKey(key) {
		if t == nil {
			order = append(order, unknown)
			continue
		}
		if strings.HasPrefix(seg, "[") {
			n, err := strconv.Atoi(seg[1 : len(seg)-1])
			if err != nil || t.Kind() == reflect.Map {
				n = 0 // map keys: ties are broken by the key's text
			}
			order = append(order, n)
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
				t = t.Elem()
			} else {
				t = nil
			}
			continue
		}
		i, ft := fieldByTag(t, seg)
		if i < 0 {
			order = append(order, unknown)
			t = nil
			continue
		}
		order = append(order, i)
		t = ft
	}
	return order
}

// typeAt returns the type of the value at key, or nil if there is none.
func typeAt(key string) reflect.Type {
	t := configType
	for _, seg := range splitKey(key) {
		if strings.HasPrefix(seg, "[") {
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
				return nil
			}
			t = t.Elem()
			continue
		}
		_, ft := fieldByTag(t, seg)
		if ft == nil {
			return nil
		}
		t = ft
	}
	return t
}

func fieldByTag(t reflect.Type, name string) (int, reflect.Type) {
	if t.Kind() != reflect.Struct || t == durationType {
		return -1, nil
	}
	for i := range t.NumField() {
		if tagName(t.Field(i)) == name {
			return i, t.Field(i).Type
		}
	}
	return -1, nil
}

// compareKeys orders two keys as they appear in Config.
func compareKeys(a, b string) int {
	oa, ob := keyOrder(a), keyOrder(b)
	for i := 0; i < len(oa) && i < len(ob); i++ {
		if oa[i] != ob[i] {
			return oa[i] - ob[i]
		}
	}
	if len(oa) != len(ob) {
		return len(oa) - len(ob)
	}
	return strings.Compare(a, b)
}

// suggest returns the known key an unknown one was probably meant to be:
// a sibling within edit distance 2, or a key elsewhere with the same name
// (a key written in the wrong section). It returns "" if nothing fits.
func suggest(parent, name string) string {
	join := func(p, n string) string {
		if p == "" {
			return n
		}
		return p + "." + n
	}
	if t := typeAt(parent); t != nil && t.Kind() == reflect.Struct {
		best, bestDist := "", 3
		for i := range t.NumField() {
			n := tagName(t.Field(i))
			if d := editDistance(name, n); d < bestDist && d < len(n) {
				best, bestDist = n, d
			}
		}
		if best != "" {
			return join(parent, best)
		}
	}
	var found string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := join(prefix, tagName(f))
			if tagName(f) == name && found == "" {
				found = key
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key)
			}
		}
	}
	walk(configType, "")
	if found == join(parent, name) {
		return ""
	}
	return found
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

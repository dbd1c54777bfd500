package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// TestEveryValueIsDocumented: every key of values.yaml has a comment, or is
// a group whose every key has one.
func TestEveryValueIsDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m *yamlv3.Node)
	walk = func(prefix string, m *yamlv3.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, val := m.Content[i], m.Content[i+1]
			path := strings.TrimPrefix(prefix+"."+key.Value, ".")
			if strings.TrimSpace(key.HeadComment) != "" || strings.TrimSpace(key.LineComment) != "" {
				continue
			}
			if val.Kind == yamlv3.MappingNode && len(val.Content) > 0 {
				walk(path, val)
				continue
			}
			t.Errorf("values.yaml: %s has no comment", path)
		}
	}
	walk("", doc.Content[0])
}

// TestSchemaCoversValues: every key the schema allows is in values.yaml
// (so it is documented there), and the schema allows no more at the top
// level than values.yaml has.
func TestSchemaCoversValues(t *testing.T) {
	var schema map[string]any
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	if schema["additionalProperties"] != false {
		t.Errorf("the schema allows unknown top-level values")
	}
	var values map[string]any
	if err := yamlv3.Unmarshal(mustRead(t, filepath.Join(chartDir, "values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	defs, _ := schema["definitions"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			d, _ := defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
			return d
		}
		return s
	}
	var walk func(prefix string, s map[string]any, v map[string]any)
	walk = func(prefix string, s map[string]any, v map[string]any) {
		props, _ := s["properties"].(map[string]any)
		if len(props) > 0 && s["additionalProperties"] != false {
			t.Errorf("schema %s: lists properties but allows others", prefix)
		}
		for name, p := range props {
			path := strings.TrimPrefix(prefix+"."+name, ".")
			if path == "global" {
				continue // Helm's, passed to every chart
			}
			val, ok := v[name]
			if !ok {
				t.Errorf("schema allows %s, which values.yaml does not have (and so does not document)", path)
				continue
			}
			if child, ok := val.(map[string]any); ok {
				walk(path, resolve(p.(map[string]any)), child)
			}
		}
	}
	walk("", schema, values)
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

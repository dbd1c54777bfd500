package tests

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

func TestChartREADMEListsEveryCIValuesFile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(ciDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("ci/*.yaml: %v, %d files", err, len(files))
	}
	readme := string(mustRead(t, filepath.Join(chartDir, "README.md")))
	for _, f := range files {
		if name := "ci/" + filepath.Base(f); !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("the chart README does not list %s", name)
		}
	}
}

// semver is the one version scheme: plain semver, no "v".
var semver = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// TestOneVersionScheme: the chart's version and appVersion, the image tag it
// deploys, and the VERSION and image tags in the READMEs and the Dockerfile
// are all plain semver, and the READMEs build the version the chart deploys.
func TestOneVersionScheme(t *testing.T) {
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"version": chart.Version, "appVersion": chart.AppVersion} {
		if !semver.MatchString(v) {
			t.Errorf("Chart.yaml %s %q is not plain semver", name, v)
		}
	}
	var values struct {
		Image struct {
			Tag string `json:"tag"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(chartDir, "values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	if values.Image.Tag != "" {
		t.Errorf("values.yaml image.tag %q: the default must be appVersion (empty)", values.Image.Tag)
	}

	versionRe := regexp.MustCompile(`VERSION=(\S+)`)
	tagRe := regexp.MustCompile(`revgate:([v0-9][0-9A-Za-z.+-]*)`)
	for _, c := range []struct {
		path           string
		wantAppVersion bool // a README builds the version the chart deploys
	}{
		{filepath.Join(repoRoot, "README.md"), true},
		{filepath.Join(chartDir, "README.md"), true},
		{filepath.Join(repoRoot, "Dockerfile"), false},
	} {
		text := string(mustRead(t, c.path))
		var found []string
		for _, m := range versionRe.FindAllStringSubmatch(text, -1) {
			found = append(found, m[1])
		}
		for _, m := range tagRe.FindAllStringSubmatch(text, -1) {
			found = append(found, m[1])
		}
		if len(found) == 0 && c.wantAppVersion {
			t.Errorf("%s names no VERSION or image tag", c.path)
		}
		for _, v := range found {
			switch {
			case v == "dev" && !c.wantAppVersion: // the Dockerfile's default
			case !semver.MatchString(v):
				t.Errorf("%s: version %q is not plain semver", c.path, v)
			case c.wantAppVersion && v != chart.AppVersion:
				t.Errorf("%s: version %q, but the chart deploys appVersion %s", c.path, v, chart.AppVersion)
			}
		}
	}
}

func TestTheDefaultImageIsMarkedAsAPlaceholder(t *testing.T) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(mustRead(t, filepath.Join(chartDir, "values.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	var comment, repository string
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "image" {
			continue
		}
		image := top.Content[i+1]
		for j := 0; j+1 < len(image.Content); j += 2 {
			if image.Content[j].Value == "repository" {
				comment, repository = image.Content[j].HeadComment, image.Content[j+1].Value
			}
		}
	}
	if repository != "ghcr.io/revgate/revgate" || !strings.Contains(comment, "placeholder") {
		t.Errorf("values.yaml image.repository %q is not marked as a placeholder: %q", repository, comment)
	}
	readme := string(mustRead(t, filepath.Join(chartDir, "README.md")))
	if !strings.Contains(readme, "`ghcr.io/revgate/revgate` (a placeholder") {
		t.Errorf("the chart README's values table does not mark the default image as a placeholder")
	}
	t.Run("the install notes warn while it is unchanged", func(t *testing.T) {
		notes := renderNotes(t, "-f", filepath.Join(ciDir, "standalone-values.yaml"))
		if !strings.Contains(notes, "WARNING: image.repository") {
			t.Fatalf("no warning about the placeholder image:\n%s", notes)
		}
	})
	t.Run("and not once it is set", func(t *testing.T) {
		notes := renderNotes(t, "-f", filepath.Join(ciDir, "standalone-values.yaml"), "--set", "image.repository=registry.example.com/revgate")
		if strings.Contains(notes, "image.repository") {
			t.Fatalf("a warning about a set image.repository:\n%s", notes)
		}
	})
}

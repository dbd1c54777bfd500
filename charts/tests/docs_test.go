package tests

import (
	"path/filepath"
	"strings"
	"testing"
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

package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The report reads row ids that bench/run.sh writes and bench/README.md
// documents for --rows; these tests keep the three in step.

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBenchREADMEListsEveryRowIDOfRunSh(t *testing.T) {
	run := readFile(t, "../run.sh")
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:gw_)?row ([a-z0-9-]+) "`).FindAllStringSubmatch(run, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) < 10 {
		t.Fatalf("found %d rows in run.sh: %v", len(ids), ids)
	}
	readme := readFile(t, "../README.md")
	var documented []string
	for _, line := range strings.Split(readme, "\n") {
		first, _, ok := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		if !strings.HasPrefix(line, "| `") || !ok {
			continue
		}
		for _, id := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(first, -1) {
			documented = append(documented, id[1])
		}
	}
	slices.Sort(ids)
	slices.Sort(documented)
	if !slices.Equal(ids, documented) {
		t.Fatalf("run.sh has rows %v; bench/README.md's table lists %v", ids, documented)
	}
}

func TestBenchREADMEAndRunShNeedTheSameTools(t *testing.T) {
	run := readFile(t, "../run.sh")
	checked := regexp.MustCompile(`for tool in ([a-z -]+); do`).FindStringSubmatch(run)
	if checked == nil {
		t.Fatal("run.sh no longer checks its tools")
	}
	header := regexp.MustCompile(`(?m)^# Needs: ([a-z, -]+)\.`).FindStringSubmatch(run)
	if header == nil {
		t.Fatal("run.sh's help has no Needs: line")
	}
	readme := readFile(t, "../README.md")
	for _, tool := range strings.Fields(checked[1]) {
		if !slices.Contains(strings.Split(header[1], ", "), tool) {
			t.Errorf("run.sh checks for %s, its --help does not list it", tool)
		}
		if !strings.Contains(readme, "`"+tool+"`") {
			t.Errorf("run.sh checks for %s, bench/README.md does not list it", tool)
		}
	}
}

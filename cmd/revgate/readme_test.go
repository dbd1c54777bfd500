package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	readmeUseRe = regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`)
	readmeDefRe = regexp.MustCompile(`(?:^|\s)([A-Z][A-Z0-9_]*)=|read -rs ([A-Z][A-Z0-9_]*)`)
)

// shellBlocks returns the lines of a Markdown file's ```sh blocks, in order.
func shellBlocks(markdown string) []string {
	var lines []string
	in := false
	for _, line := range strings.Split(markdown, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```sh":
			in = true
		case in && trimmed == "```":
			in = false
		case in:
			lines = append(lines, line)
		}
	}
	return lines
}

// TestREADMESnippetsDefineTheVariablesTheyUse follows the READMEs'
// shell snippets top to bottom: every $VARIABLE a command uses is set by
// an earlier line of that README, so the snippets work when pasted as
// they are.
func TestREADMESnippetsDefineTheVariablesTheyUse(t *testing.T) {
	// Set outside the snippets: the shell's own, and the export lines the
	// demo prints for the README's first block.
	given := []string{"PATH", "HOME", "ALICE", "ALICE2", "BOB"}
	for _, path := range []string{"../../README.md", "../../examples/simplejwt/README.md", "../../examples/hydra/README.md", "../../charts/revgate/README.md"} {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defined := map[string]bool{}
			for _, v := range given {
				defined[v] = true
			}
			for _, line := range shellBlocks(string(b)) {
				code, _, _ := strings.Cut(line, " #") // comments may name variables
				for _, m := range readmeUseRe.FindAllStringSubmatch(code, -1) {
					if !defined[m[1]] {
						t.Errorf("$%s is used before any snippet sets it: %s", m[1], strings.TrimSpace(line))
					}
				}
				for _, m := range readmeDefRe.FindAllStringSubmatch(code, -1) {
					defined[m[1]+m[2]] = true
				}
			}
		})
	}
}

func TestShellBlocksReadOnlyShellSnippets(t *testing.T) {
	md := "text $NOT\n```sh\necho $A\n```\n```yaml\nk: $B\n```\n  ```sh\n  X=1\n  ```\n"
	if got := shellBlocks(md); !slices.Equal(got, []string{"echo $A", "  X=1"}) {
		t.Fatalf("shellBlocks = %q", got)
	}
}

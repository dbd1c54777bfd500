package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// renderNotes renders the chart's NOTES.txt with values, as helm install
// prints it. helm template leaves NOTES.txt out, so a copy of the chart
// gets one more template that renders the notes with tpl (the same
// engine, values and named templates) into a YAML string.
func renderNotes(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "revgate")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chartDir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// .Files cannot read templates/, so the copy sits at the chart's root.
	if err := os.WriteFile(filepath.Join(dir, "notes-under-test.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := `notes: {{ tpl (.Files.Get "notes-under-test.txt") . | toJson }}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "notes-under-test.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := helm(t, append([]string{"template", "rel", dir, "--namespace", "ns", "--show-only", "templates/notes-under-test.yaml"}, args...)...)
	if err != nil {
		t.Fatalf("rendering NOTES.txt: %v\n%s", err, errOut)
	}
	var doc struct{ Notes string }
	if err := yaml.Unmarshal([]byte(strings.TrimPrefix(out, "---\n")), &doc); err != nil || doc.Notes == "" {
		t.Fatalf("rendered NOTES.txt does not decode (%v):\n%s", err, out)
	}
	return doc.Notes
}

var (
	shellUseRe = regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`)
	shellDefRe = regexp.MustCompile(`(?:^|\s)([A-Z][A-Z0-9_]*)=|read -rs ([A-Z][A-Z0-9_]*)`)
)

// undefinedVariables lists the shell variables the commands in text use
// before any line defines them (VAR=..., export VAR=..., read -rs VAR).
func undefinedVariables(text string) []string {
	defined := map[string]bool{}
	var missing []string
	for _, line := range strings.Split(text, "\n") {
		for _, m := range shellUseRe.FindAllStringSubmatch(line, -1) {
			if !defined[m[1]] {
				missing = append(missing, m[1])
			}
		}
		for _, m := range shellDefRe.FindAllStringSubmatch(line, -1) {
			defined[m[1]+m[2]] = true
		}
	}
	return missing
}

func TestInstallNotesKeepTheAdminTokenOffTheCommandLine(t *testing.T) {
	t.Run("a token from a Secret is read from it into REVGATE_ADMIN_TOKEN", func(t *testing.T) {
		notes := renderNotes(t, "-f", filepath.Join(ciDir, "standalone-values.yaml"))
		for _, want := range []string{
			"export REVGATE_ADMIN_URL=http://127.0.0.1:9090\n",
			`export REVGATE_ADMIN_TOKEN="$(kubectl -n ns get secret `,
			"| base64 -d)\"",
			"\n  revgate revoke subject alice\n",
		} {
			if !strings.Contains(notes, want) {
				t.Errorf("the notes lack %q:\n%s", want, notes)
			}
		}
		if strings.Contains(notes, "--admin-token") {
			t.Errorf("the notes put the admin token on a command line:\n%s", notes)
		}
		if missing := undefinedVariables(notes); len(missing) > 0 {
			t.Errorf("the notes use %v without defining them:\n%s", missing, notes)
		}
	})
	t.Run("a Secret key with a dot is escaped for kubectl's jsonpath", func(t *testing.T) {
		notes := renderNotes(t, "--set", "admin.tokens[0].name=ops", "--set", "admin.tokens[0].secretRef.name=admin",
			"--set", "admin.tokens[0].secretRef.key=token.txt")
		if !strings.Contains(notes, `get secret admin -o jsonpath='{.data.token\.txt}' | base64 -d`) {
			t.Fatalf("the notes do not read key token.txt:\n%s", notes)
		}
	})
	t.Run("a token given as a file in the pod is asked for, not put on a command line", func(t *testing.T) {
		notes := renderNotes(t, "--set", "admin.tokens[0].name=ops", "--set", "admin.tokens[0].tokenFile=/mnt/secrets/admin-token")
		if !strings.Contains(notes, "read -rs REVGATE_ADMIN_TOKEN && export REVGATE_ADMIN_TOKEN") || strings.Contains(notes, "--admin-token") {
			t.Fatalf("notes:\n%s", notes)
		}
		if missing := undefinedVariables(notes); len(missing) > 0 {
			t.Errorf("the notes use %v without defining them:\n%s", missing, notes)
		}
	})
}

func TestUndefinedVariablesFindsAVariableNobodySet(t *testing.T) {
	if got := undefinedVariables("  revgate revoke --admin-token \"$TOKEN\"\n"); len(got) != 1 || got[0] != "TOKEN" {
		t.Fatalf("undefinedVariables = %v, want [TOKEN]", got)
	}
	if got := undefinedVariables("  export TOKEN=x\n  revgate --admin-token \"$TOKEN\"\n"); len(got) != 0 {
		t.Fatalf("undefinedVariables = %v, want none", got)
	}
}

package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The version and commit the test build stamps in, through the Dockerfile's
// VERSION and COMMIT build args.
const (
	testVersion = "v0.0.0-charttest"
	testCommit  = "c0ffee0charttest"
)

// binDir holds the revgate binary the tests build. TestMain makes it
// world-readable so the binary can also run as the image's nonroot user.
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "revgate-charttest-")
	if err == nil {
		err = os.Chmod(binDir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// dockerfileBuildCommand returns the shell command of the Dockerfile's one
// `RUN ... go build` instruction, continuation lines joined.
func dockerfileBuildCommand() (string, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		return "", err
	}
	var found []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		instr := cur.String()
		cur.Reset()
		if run, ok := strings.CutPrefix(instr, "RUN "); ok && strings.Contains(run, "go build") {
			found = append(found, strings.TrimSpace(run))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("Dockerfile: want exactly one RUN with go build, found %d", len(found))
	}
	return found[0], nil
}

var buildOnce = sync.OnceValues(func() (string, error) {
	cmdline, err := dockerfileBuildCommand()
	if err != nil {
		return "", err
	}
	if strings.Count(cmdline, "/out/revgate") != 1 {
		return "", fmt.Errorf("the Dockerfile's go build line does not write /out/revgate exactly once: %s", cmdline)
	}
	bin := filepath.Join(binDir, "revgate")
	cmd := exec.Command("sh", "-c", strings.Replace(cmdline, "/out/revgate", bin, 1))
	cmd.Dir = repoRoot
	// The build args, as `docker build --build-arg` would set them; empty
	// TARGETOS and TARGETARCH build for this machine.
	cmd.Env = append(os.Environ(), "VERSION="+testVersion, "COMMIT="+testCommit, "TARGETOS=", "TARGETARCH=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s\n%v\n%s", cmdline, err, out)
	}
	return bin, nil
})

// revgateBinary builds ../../cmd/revgate once, with the Dockerfile's own go
// build line, and returns the binary's path.
func revgateBinary(t testing.TB) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatalf("building revgate from ../../cmd/revgate with the Dockerfile's go build line failed: %v", err)
	}
	return bin
}

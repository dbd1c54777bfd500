//go:build linux

package tests

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestDockerfileBuildsAStaticBinary runs the Dockerfile's go build line (see
// revgateBinary) and checks what the distroless static image needs: no
// dynamic loader, no shared libraries, version and commit stamped in, and a
// binary that runs as the image's nonroot user.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	bin := revgateBinary(t)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a PT_INTERP program header: it needs a dynamic loader, which the static image lacks")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED) %v", libs)
	}

	var out bytes.Buffer
	cmd := exec.Command(bin, "version")
	cmd.Dir = binDir
	cmd.Env = []string{"HOME=/nonexistent"}
	cmd.Stdout, cmd.Stderr = &out, &out
	if os.Geteuid() == 0 {
		// As in the image: USER 65532:65532.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("revgate version (uid %d): %v\n%s", nonrootUID(), err, out.String())
	}
	for _, want := range []string{testVersion, testCommit} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("revgate version printed %q, which lacks %q: do -X main.version / main.commit still name the variables in cmd/revgate?", out.String(), want)
		}
	}
}

func nonrootUID() int {
	if os.Geteuid() == 0 {
		return 65532
	}
	return os.Geteuid()
}

// TestDockerfileShape checks the instructions the chart and the README rely
// on: a distroless static nonroot base, the nonroot user by number (so
// runAsNonRoot can verify it), the ports, and an exec-form entrypoint.
func TestDockerfileShape(t *testing.T) {
	data := string(mustRead(t, filepath.Join(repoRoot, "Dockerfile")))
	var froms []string
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(.+)$`).FindAllStringSubmatch(data, -1) {
		froms = append(froms, strings.TrimSpace(m[1]))
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, found FROM %v", froms)
	}
	if !strings.Contains(froms[0], "golang:1.26") {
		t.Errorf("builder stage %q: want golang:1.26", froms[0])
	}
	if final := froms[len(froms)-1]; !strings.HasPrefix(final, "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("final stage %q: want gcr.io/distroless/static-debian12:nonroot", final)
	}
	for _, want := range []string{
		"\nUSER 65532:65532\n",
		"\nEXPOSE 8080 9090\n",
		"\nENTRYPOINT [\"/revgate\"]\n",
		"\nCMD [\"serve\", \"--config\", \"/etc/revgate/revgate.yaml\"]\n",
		"\nARG VERSION",
		"\nARG COMMIT",
	} {
		if !strings.Contains(data, want) {
			t.Errorf("Dockerfile lacks %q", strings.TrimSpace(want))
		}
	}
	build, err := dockerfileBuildCommand()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/revgate"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build line lacks %q: %s", want, build)
		}
	}

	// .dockerignore: keeps .git and the charts out, never the Go sources.
	var ignored []string
	for line := range strings.SplitSeq(string(mustRead(t, filepath.Join(repoRoot, ".dockerignore"))), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, line)
		}
	}
	for _, want := range []string{".git", "charts"} {
		if !slices.Contains(ignored, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	for _, p := range ignored {
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "config", "gateway", "revocation", "internal", "*.go", "**/*.go"} {
			if p == needed {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	}
}

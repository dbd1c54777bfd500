package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeRedisLines returns the example README's lines that start its Redis
// (from REDIS_PORT= up to the revgate serve line) and the line that stops
// it, as a user pastes them.
func readmeRedisLines(t *testing.T) (start, stop string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(simplejwtExample, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range shellBlocks(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "REDIS_PORT="):
			lines = []string{line}
		case lines != nil && start == "" && strings.Contains(line, "revgate serve"):
			start = strings.Join(lines, "\n")
		case lines != nil && start == "":
			lines = append(lines, line)
		case strings.Contains(line, "$REDIS_PID") && strings.HasPrefix(line, "kill"):
			stop = line
		}
	}
	if start == "" || stop == "" {
		t.Fatalf("the example README has no Redis start lines (REDIS_PORT= ... revgate serve) or no kill \"$REDIS_PID\" line")
	}
	return start, stop
}

// redisCommand sends one inline command to a Redis and returns its first
// reply line.
func redisCommand(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s\r\n", cmd); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	var reply []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		reply = append(reply, strings.TrimRight(line, "\r\n"))
		// Arrays (CONFIG GET) end after their last bulk string.
		if !strings.HasPrefix(reply[0], "*") || len(reply) == 1+2*atoiOr0(strings.TrimPrefix(reply[0], "*")) {
			return strings.Join(reply, " "), nil
		}
	}
}

func atoiOr0(s string) int { n, _ := strconv.Atoi(s); return n }

func TestSimpleJWTExampleRunsARedisOfItsOwnAndStopsIt(t *testing.T) {
	start, stop := readmeRedisLines(t)
	dir := t.TempDir() // the example directory, as far as Redis is concerned
	sh := exec.Command("bash", "-c", start+"\necho \"$REDIS_PORT $REDIS_PID\"")
	sh.Dir, sh.Env = dir, cleanEnv()
	// A file, not a pipe: the Redis left running inherits bash's output,
	// and a pipe would stay open until it exits.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	sh.Stdout, sh.Stderr = outFile, outFile
	err = sh.Run()
	out, _ := os.ReadFile(outFile.Name())
	if err != nil {
		t.Fatalf("the README's Redis lines failed: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		t.Fatalf("the README's Redis lines set no REDIS_PORT and REDIS_PID:\n%s", out)
	}
	port, pid := fields[len(fields)-2], atoiOr0(fields[len(fields)-1])
	if pid <= 0 {
		t.Fatalf("REDIS_PID %q", fields[len(fields)-1])
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // the Redis these lines started, by its id
	if port == "6379" || atoiOr0(port) == 0 {
		t.Fatalf("the README's Redis listens on %q, want a free port other than 6379", port)
	}
	addr := "127.0.0.1:" + port

	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := redisCommand(addr, "PING")
		if err == nil && reply == "+PONG" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the README's Redis does not answer on %s: %q %v", addr, reply, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for cmd, want := range map[string]string{
		"CONFIG GET save":             `*2 $4 save $0 `,
		"CONFIG GET maxmemory-policy": `*2 $16 maxmemory-policy $10 noeviction`,
		"CONFIG GET appendonly":       `*2 $10 appendonly $2 no`,
	} {
		if reply, err := redisCommand(addr, cmd); err != nil || reply != want {
			t.Errorf("%s: %q (%v), want %q", cmd, reply, err, want)
		}
	}

	kill := exec.Command("bash", "-c", "REDIS_PID="+strconv.Itoa(pid)+"\n"+stop)
	kill.Dir = dir
	if out, err := kill.CombinedOutput(); err != nil {
		t.Fatalf("the README's stop line failed: %v\n%s", err, out)
	}
	// Gone when its port refuses connections (the process itself may
	// linger as a zombie where nothing reaps orphans).
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := redisCommand(addr, "PING"); errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis still answers after the README's stop line")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err == nil {
		t.Error("Redis wrote dump.rdb although --save '' was given")
	}
}

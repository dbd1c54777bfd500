// Package redistest starts real redis-server processes for tests. Every test
// in revgate that needs Redis uses it, so there is one place that knows how
// to find a free port, wait for readiness and clean up.
//
// A Server is one redis-server process; Options turn on TLS (with
// certificates generated for the test) and ACL users. StartSentinel and
// StartCluster build the other topologies revgate supports from several
// Servers. Every process runs on a free loopback port (never 6379) in a
// temporary directory, every wait has a deadline, and everything is killed
// when the test ends.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the program Start runs, looked up in PATH.
const Binary = "redis-server"

// reservedPort belongs to a Redis that is not ours on this machine (and the
// default port everywhere): never start on it, never connect to it.
const reservedPort = 6379

// Timeouts of the helper; generous because tests run with -race and in
// parallel with other packages.
const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
	// restartBindWait is how long Restart keeps trying to rebind its port
	// when something briefly holds it (another test's free-port probe).
	restartBindWait = 5 * time.Second
	startAttempts   = 5
)

// Options configure a Server. The zero value is a plain server without
// authentication.
type Options struct {
	// Password, when set, is passed as --requirepass and used by URL and
	// NewClient. Prefer it over a raw --requirepass in Args so the helper's
	// clients authenticate.
	Password string
	// Args are extra redis-server arguments appended after the helper's own,
	// e.g. {"--maxmemory-policy", "allkeys-lru"} or
	// {"--rename-command", "CONFIG", ""}. Later arguments win, so Args can
	// override the helper's defaults.
	Args []string
	// TLS serves TLS only (--port 0, --tls-port) with a CA and certificates
	// generated in the server's directory; see Server.TLS. Clients may
	// present the client certificate but need not (--tls-auth-clients
	// optional), like a managed Redis that authenticates by password.
	TLS bool
	// Users are ACL users created at start, besides the default user
	// (which Password protects).
	Users []User

	// sentinelConfig, when set, runs redis-server in Sentinel mode with a
	// configuration file holding this text. The file lives in the server's
	// directory and is written once: Sentinel rewrites it with what it
	// learns, and a restarted Sentinel must read that back.
	sentinelConfig string
	// cluster runs a Redis Cluster node with its own bus port.
	cluster bool
}

// User is an ACL user: Start adds "on", the password and Rules.
type User struct {
	Name     string
	Password string
	// Rules are ACL rules such as "~revgate:*", "+get" or "+config|get".
	Rules []string
}

// Server is a running (or stopped) redis-server owned by one test.
type Server struct {
	// Addr is "127.0.0.1:PORT". It stays the same across Stop and Restart.
	Addr string
	// Port is Addr's port.
	Port int
	// TLS holds the certificate files when Options.TLS is set, else nil.
	TLS *TLSFiles

	tb      testing.TB
	opts    Options
	dir     string // data directory and log file
	socket  string // unix socket, used to know that the answering server is ours
	busPort int    // Cluster bus port, when opts.cluster

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// Start runs redis-server on a free 127.0.0.1 port in a temporary
// directory, waits until it answers, and stops it when the test ends. It
// fails the test if the binary is missing or the server does not come up.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		tb.Fatalf("redistest: %s not found in PATH (install it, e.g. `apt-get install redis-server`): %v", Binary, err)
	}
	s := &Server{tb: tb, opts: opts, dir: tb.TempDir()}
	s.socket = socketPath(tb, s.dir)
	if opts.TLS {
		files, err := writeTLSFiles(s.dir)
		if err != nil {
			tb.Fatalf("redistest: generating TLS certificates: %v", err)
		}
		s.TLS = files
	}
	tb.Cleanup(s.Stop)

	// Between choosing a free port and redis-server binding it, another
	// process may take it: retry with a new port.
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: finding a free port: %v", err)
		}
		s.Port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if opts.cluster {
			if s.busPort, err = freePort(); err != nil {
				tb.Fatalf("redistest: finding a free port: %v", err)
			}
		}
		err = s.start()
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	tb.Fatalf("redistest: starting %s: %v", Binary, lastErr)
	return nil
}

// URL is the redis:// URL of the server (rediss:// with TLS), with the
// default user's password if any.
func (s *Server) URL() string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/0"}
	if s.TLS != nil {
		u.Scheme = "rediss"
	}
	if s.opts.Password != "" {
		u.User = url.UserPassword("", s.opts.Password)
	}
	return u.String()
}

// NewClient returns a client of the server, closed when the test ends. Like
// revgate's own client it honors context deadlines, and its timeouts are
// short so a test against a stopped server fails fast.
func (s *Server) NewClient() *redis.Client {
	c := redis.NewClient(s.clientOptions())
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) clientOptions() *redis.Options {
	o := &redis.Options{
		Addr:         s.Addr,
		Password:     s.opts.Password,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		// Without it go-redis ignores context deadlines on the socket.
		ContextTimeoutEnabled: true,
	}
	if s.TLS != nil {
		o.TLSConfig = s.TLS.clientConfig()
	}
	return o
}

// Stop kills the server (SIGTERM, then SIGKILL). Data is lost: the server
// runs without persistence. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	p := s.takeProcess()
	if p == nil {
		return
	}
	// A paused process would queue SIGINT until continued.
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill ends the server with SIGKILL, as a crash or a lost machine would:
// no shutdown, no final save, no goodbye to replicas or Sentinels. Killing
// a stopped server does nothing; Restart starts it again.
func (s *Server) Kill() {
	p := s.takeProcess()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// takeProcess detaches the running process, nil when there is none.
func (s *Server) takeProcess() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	s.proc = nil
	return p
}

// Pause freezes the server with SIGSTOP: its connections stay open but it
// answers nothing, like a replica stuck behind a slow disk or a network
// partition. Resume continues it; Stop and Kill work on a paused server.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		_ = s.proc.cmd.Process.Signal(sig)
	}
}

// Restart stops the server if it runs and starts it again on the same port,
// so clients configured with Addr reconnect to it. It starts empty. It
// fails the test that started the server, so call it from that test's
// goroutine.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	deadline := time.Now().Add(restartBindWait)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			s.tb.Fatalf("redistest: restarting %s on %s: %v", Binary, s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var errAddrInUse = errors.New("address already in use")

// start runs redis-server on s.Port and waits until it answers on its unix
// socket. The socket lives in our own directory, so an answer there proves
// the process is ours, and redis-server creates it only after binding its
// TCP port: no other server that happened to take the port can fool us.
func (s *Server) start() error {
	_ = os.Remove(s.socket)
	logFile := filepath.Join(s.dir, "redis.log")
	_ = os.Remove(logFile)
	var args []string
	if s.opts.sentinelConfig != "" {
		conf := filepath.Join(s.dir, "sentinel.conf")
		if _, err := os.Stat(conf); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(conf, []byte(s.opts.sentinelConfig), 0o600); err != nil {
				return err
			}
		}
		// The configuration file must come first; the arguments after it
		// override it.
		args = append(args, conf, "--sentinel")
	}
	port := strconv.Itoa(s.Port)
	if s.TLS != nil {
		args = append(args,
			"--port", "0",
			"--tls-port", port,
			"--tls-cert-file", s.TLS.CertFile,
			"--tls-key-file", s.TLS.KeyFile,
			"--tls-ca-cert-file", s.TLS.CAFile,
			"--tls-auth-clients", "optional",
		)
	} else {
		args = append(args, "--port", port)
	}
	if s.opts.cluster {
		// An explicit bus port: the default, port+10000, may be taken or
		// beyond 65535 for a high free port.
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(s.busPort),
			"--cluster-node-timeout", "2000",
		)
	}
	args = append(args,
		"--bind", "127.0.0.1",
		"--unixsocket", s.socket,
		"--unixsocketperm", "700",
		"--dir", s.dir,
		"--logfile", logFile,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
	)
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	for _, u := range s.opts.Users {
		// Each argument becomes one word of a "user" configuration line.
		args = append(args, "--user", u.Name, "reset", "on", ">"+u.Password)
		args = append(args, u.Rules...)
	}
	args = append(args, s.opts.Args...)

	cmd := exec.Command(Binary, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	if err := waitReady(s.socket, p); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		log, _ := os.ReadFile(logFile)
		if strings.Contains(string(log), "Address already in use") {
			return errAddrInUse
		}
		return fmt.Errorf("%w; log:\n%s", err, lastLines(string(log), 20))
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// waitReady polls the unix socket with PING until the server answers (any
// reply, including NOAUTH, means it is up), the process exits, or time
// runs out.
func waitReady(socket string, p *process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("redis-server exited: %v", p.err)
		default:
		}
		if ping(socket) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer within %s", readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(socket string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return false
	}
	// "+PONG" or an error reply such as "-NOAUTH ..."; "-LOADING" means
	// not ready yet.
	return strings.HasPrefix(line, "+") || (strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "-LOADING"))
}

// freePort asks the kernel for a free port on 127.0.0.1, never 6379.
func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, err
		}
		if port != reservedPort {
			return port, nil
		}
	}
}

// socketPath returns a unix socket path in dir, or in a fresh short
// directory when dir is too long for a socket address (108 bytes on Linux).
func socketPath(tb testing.TB, dir string) string {
	const maxLen = 100
	p := filepath.Join(dir, "redis.sock")
	if len(p) <= maxLen {
		return p
	}
	short, err := os.MkdirTemp("/tmp", "redistest")
	if err != nil {
		tb.Fatalf("redistest: creating a socket directory: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(short) })
	return filepath.Join(short, "redis.sock")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

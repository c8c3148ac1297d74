// Package chtest starts real clickhouse-server processes for tests: each on
// free loopback ports, with a minimal configuration and its data in a
// temporary directory (the packaged configuration points at system paths).
//
//	srv := chtest.Start(t)
//	st, err := clickhouse.Open(srv.URL("abacus"), clickhouse.Options{})
//
// Without a clickhouse-server binary on PATH the test is skipped, except
// under CI (CI=true), where it fails: CI installs the server (.ci/run).
// Launch starts the same server outside a test, for benchmarks.
package chtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one clickhouse-server process.
type Server struct {
	Dir      string // configuration, data and logs
	TCPPort  int    // native protocol
	HTTPPort int
	// With StartTLS: the native protocol over TLS, and the PEM file of the
	// self-signed certificate it presents (for 127.0.0.1).
	SecurePort int
	CAFile     string

	t    testing.TB // nil for a server from Launch
	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
	log  *bytes.Buffer
}

// Binary returns the path of clickhouse-server, skipping the test when there
// is none (failing it under CI).
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clickhouse-server is not installed (apt-get install clickhouse-server): %v", err)
		}
		t.Skipf("clickhouse-server is not installed (apt-get install clickhouse-server); set CI=true to make this a failure")
	}
	return bin
}

// Start starts a server and waits until it answers; it is killed when the
// test ends.
func Start(t testing.TB) *Server { t.Helper(); return start(t, false) }

// StartTLS starts a server that also serves the native protocol over TLS on
// SecurePort, with a self-signed certificate for 127.0.0.1 in CAFile.
func StartTLS(t testing.TB) *Server { t.Helper(); return start(t, true) }

func start(t testing.TB, withTLS bool) *Server {
	t.Helper()
	s := newServer(t)
	if withTLS {
		s.SecurePort = freePort(t)
		if err := s.writeCertificate(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.writeConfig(""); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	t.Cleanup(s.Kill) // its data goes with the test's directory: no need to wait for a clean stop
	return s
}

func newServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), Dir: t.TempDir()}
	s.TCPPort, s.HTTPPort = freePort(t), freePort(t)
	return s
}

// Launch starts a server outside a test (for benchmarks), with bin as the
// clickhouse-server binary and dir (created) for its configuration, data and
// logs, and waits until it answers. The caller stops it with Kill or Stop.
func Launch(bin, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{bin: bin, Dir: dir}
	var err error
	if s.TCPPort, err = port(); err != nil {
		return nil, err
	}
	if s.HTTPPort, err = port(); err != nil {
		return nil, err
	}
	if err := s.writeConfig(""); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// PID is the server process's ID (0 when it is not running).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// StartCluster starts n servers on loopback whose configurations name all of
// them, in order, as the shards (one replica each) of the cluster called
// name in remote_servers: a Distributed table on any of them reads and
// writes all n. There is no ZooKeeper, so no ON CLUSTER and no replication.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	srvs := make([]*Server, n)
	for i := range srvs {
		srvs[i] = newServer(t)
	}
	var shards strings.Builder
	for _, s := range srvs {
		fmt.Fprintf(&shards, "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", s.TCPPort)
	}
	remote := fmt.Sprintf("<remote_servers><%s>%s</%s></remote_servers>", name, shards.String(), name)
	for _, s := range srvs {
		if err := s.writeConfig(remote); err != nil {
			t.Fatal(err)
		}
		s.Restart()
		t.Cleanup(s.Kill)
	}
	return srvs
}

// Addr is the native protocol's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.TCPPort) }

// URL returns the store URL of database db on this server.
func (s *Server) URL(db string) string { return fmt.Sprintf("clickhouse://%s/%s", s.Addr(), db) }

func freePort(t testing.TB) int {
	t.Helper()
	p, err := port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// port returns a free loopback port.
func port() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) writeConfig(extra string) error {
	data := filepath.Join(s.Dir, "data") + "/"
	secure := ""
	if s.SecurePort != 0 {
		secure = fmt.Sprintf(`<tcp_port_secure>%d</tcp_port_secure>
  <openSSL><server>
    <certificateFile>%s</certificateFile><privateKeyFile>%s</privateKeyFile>
    <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
    <cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers>
  </server></openSSL>`, s.SecurePort, s.CAFile, filepath.Join(s.Dir, "server.key"))
	}
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[4]s</path>
  <tmp_path>%[4]stmp/</tmp_path>
  <user_files_path>%[4]suser_files/</user_files_path>
  <format_schema_path>%[4]sformat_schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <timezone>UTC</timezone>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  %[5]s
  %[6]s
</yandex>
`, s.Dir, s.TCPPort, s.HTTPPort, data, secure, extra)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(s.Dir, "config.xml"), []byte(config), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(users), 0o600)
}

// Restart starts the process again (after Stop or Kill) on the same ports
// and data, and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// start starts the process and waits until it answers.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("chtest: Restart of a running server")
	}
	s.log = &bytes.Buffer{}
	cmd := exec.Command(s.bin, "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start clickhouse-server: %w", err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	s.cmd, s.exit = cmd, exit
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", s.HTTPPort))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) == "Ok." {
				return nil
			}
		}
		select {
		case <-exit:
			s.cmd = nil
			return fmt.Errorf("clickhouse-server exited at start: %s\n%s", s.log, s.errLog())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exit
			s.cmd = nil
			return fmt.Errorf("clickhouse-server did not answer within 60s: %s\n%s", s.log, s.errLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) errLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.err.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop stops the server (SIGTERM, then SIGKILL after 30 s) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server (SIGKILL) and waits for it.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.exit:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exit
	}
	s.cmd = nil
}

// Query runs a query over the HTTP interface and returns its output, for
// tests that look at the tables directly.
func (s *Server) Query(ctx context.Context, query string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", s.HTTPPort), strings.NewReader(query))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ClickHouse answered %s: %s", resp.Status, body)
	}
	return string(body), nil
}

// writeCertificate makes a self-signed ECDSA certificate for 127.0.0.1, valid
// for a day: server.crt (CAFile) and server.key in Dir.
func (s *Server) writeCertificate() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "server.crt")
	if err := os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

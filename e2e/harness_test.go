// Package e2e drives the real abacus binary over HTTP: it builds cmd/abacus once,
// starts it on loopback with a data directory of the test's own, and kills or
// stops it for real.
package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// binary is the abacus binary under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "abacus-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "abacus")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	// The binary is built in the product's module (the repository root), so it
	// is the binary users build, with the product's dependencies.
	cmd := exec.Command("go", append(args, "./cmd/abacus")...)
	cmd.Dir = ".."
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build abacus:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testToken = "e2e-admin-token-0123456789abcdefghijk"

// proc is a running abacus serve.
type proc struct {
	t      testing.TB
	dir    string   // data directory
	addr   string   // host:port, kept across restarts
	args   []string // extra serve flags
	bin    string   // binary; "" = binary
	env    []string
	cmd    *exec.Cmd
	scheme string
	URL    string
	mu     sync.Mutex
	stdout bytes.Buffer // every run's output, for the privacy checks
	stderr bytes.Buffer
	exited chan struct{}
}

type serveOpts struct {
	https bool     // the args carry --tls-cert and --tls-key
	args  []string // extra flags
	env   []string // extra environment; ABACUS_TOKEN is set unless env names it
	dir   string   // data directory; "" = a new temporary one
	bin   string   // binary; "" = the one TestMain built
}

// startServer starts abacus serve and waits until it is ready.
func startServer(t testing.TB, o serveOpts) *proc {
	t.Helper()
	p := &proc{t: t, dir: o.dir, args: o.args, env: o.env, scheme: "http", bin: o.bin}
	if o.https {
		p.scheme = "https"
	}
	if p.dir == "" {
		p.dir = filepath.Join(t.TempDir(), "data")
	}
	p.addr = freeAddr(t)
	p.start()
	t.Cleanup(func() { p.kill() })
	return p
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (p *proc) start() {
	t := p.t
	t.Helper()
	args := append([]string{"serve", "--addr", p.addr, "--data", p.dir, "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1"}, p.args...)
	bin := p.bin
	if bin == "" {
		bin = binary
	}
	cmd := exec.Command(bin, args...)
	env := append(os.Environ(), p.env...)
	if !hasEnv(p.env, "ABACUS_TOKEN") {
		env = append(env, "ABACUS_TOKEN="+testToken)
	}
	cmd.Env = env
	cmd.Stdout = syncWriter{&p.mu, &p.stdout}
	cmd.Stderr = syncWriter{&p.mu, &p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { cmd.Wait(); close(p.exited) }()
	p.URL = p.scheme + "://" + p.addr
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := probe.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("abacus serve exited at start:\n%s", p.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("abacus serve not ready after 60s:\n%s", p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasEnv(env []string, name string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, name+"=") {
			return true
		}
	}
	return false
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// logs returns everything the process printed so far.
func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String() + p.stderr.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// term sends SIGTERM and waits for a clean exit.
func (p *proc) term() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("abacus did not stop within 60s of SIGTERM:\n%s", p.logs())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("abacus exited with %d after SIGTERM:\n%s", code, p.logs())
	}
}

// restart starts the process again on the same address and data directory.
func (p *proc) restart() { p.start() }

// --- requests ---

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) response(t *testing.T) wire.Response {
	t.Helper()
	var r wire.Response
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("202 body %q: %v", a.body, err)
	}
	return r
}

func (a answer) errorMsg(t *testing.T) string {
	t.Helper()
	var e wire.Error
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d body %q is not a JSON error", a.status, a.body)
	}
	return e.Error
}

// post sends body to path with the given headers.
func post(t *testing.T, url string, body []byte, headers map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// postBatch sends events as a gzip batch.
func postBatch(t *testing.T, url string, events []wire.Event) answer {
	t.Helper()
	body, err := json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return post(t, url+wire.BatchPath, gz(body), map[string]string{"Content-Encoding": "gzip"})
}

func adminGet(t testing.TB, url string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header}
}

// exported is one line of the export.
type exported struct {
	ID          string         `json:"id"`
	Event       string         `json:"event"`
	Time        time.Time      `json:"time"`
	ProjectID   string         `json:"projectId"`
	MachineID   string         `json:"machineId"`
	SessionID   string         `json:"sessionId"`
	Environment string         `json:"environment"`
	Properties  map[string]any `json:"properties"`
	Build       map[string]any `json:"build"`
}

func export(t testing.TB, p *proc) []exported {
	t.Helper()
	a := adminGet(t, p.URL+"/api/v1/export")
	if a.status != http.StatusOK {
		t.Fatalf("export: %d %s", a.status, a.body)
	}
	var out []exported
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Bytes(), err)
		}
		out = append(out, e)
	}
	return out
}

// --- events ---

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func machineID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// event makes a valid event of the default plan.
func event(project, name string, props map[string]any) wire.Event {
	return wire.Event{
		ID: newUUID(), Event: name, Timestamp: time.Now().UTC().Add(-time.Second),
		ProjectID: project, MachineID: machineID(), SessionID: newUUID(), Environment: wire.Development,
		Product: wire.Product{Name: "strapi", Version: "5.3.1"},
		Context: wire.Context{OS: "linux", OSVersion: "6.1.0", Arch: "amd64", CPUs: 8, MemoryMB: 16384,
			Runtime: "node", RuntimeVersion: "20.11.1", SDK: "abacus-go/0.1.0"},
		Build:      map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true},
		Properties: props,
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

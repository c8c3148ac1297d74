package telemetry

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// The proxy variables are read once per process by net/http, so each case runs
// the test binary again as a child with its own environment.
func TestProxyChild(t *testing.T) {
	if os.Getenv("ABACUS_PROXY_CHILD") != "1" {
		t.Skip("run by TestProxyFromEnvironment")
	}
	cfg := Config{
		Product:     "strapi",
		Endpoint:    os.Getenv("ABACUS_ENDPOINT"),
		Dir:         os.Getenv("ABACUS_DIR"),
		StateDir:    os.Getenv("ABACUS_STATE"),
		CloseBudget: 3 * time.Second,
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Track("ping", nil)
	c.Close(context.Background())
	want, _ := strconv.Atoi(os.Getenv("ABACUS_WANT_SENT"))
	if st := c.Status(); st.Sent != uint64(want) {
		t.Fatalf("sent %d, want %d (status %+v)", st.Sent, want, st)
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	// The collector, reachable only through the proxy under a name that does not resolve.
	var direct atomic.Int32
	tlsCollector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		direct.Add(1)
		io.Copy(io.Discard, r.Body)
		accept(w, 1, nil)
	}))
	defer tlsCollector.Close()
	certFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsCollector.Certificate().Raw}), 0o644)

	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		if r.Method == http.MethodConnect { // HTTPS: tunnel to the TLS collector
			if r.Host != "collector.example.com:443" {
				http.Error(w, "unexpected CONNECT "+r.Host, http.StatusBadGateway)
				return
			}
			upstream, err := net.Dial("tcp", tlsCollector.Listener.Addr().String())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			conn, _, _ := w.(http.Hijacker).Hijack()
			io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
			go func() { io.Copy(upstream, conn); upstream.Close() }()
			io.Copy(conn, upstream)
			conn.Close()
			return
		}
		if r.URL.Host != "collector.example.com" { // HTTP: an absolute-form request
			http.Error(w, "unexpected host "+r.URL.Host, http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, r.Body)
		accept(w, 1, nil)
	}))
	defer proxy.Close()

	for _, tc := range []struct {
		name, endpoint string
		env            []string
		sent           int
		viaProxy       bool
	}{
		{"HTTP_PROXY", "http://collector.example.com", []string{"HTTP_PROXY=" + proxy.URL}, 1, true},
		{"HTTPS_PROXY", "https://collector.example.com", []string{"HTTPS_PROXY=" + proxy.URL, "SSL_CERT_FILE=" + certFile}, 1, true},
		{"NO_PROXY", "http://collector.example.com", []string{"HTTP_PROXY=" + proxy.URL, "NO_PROXY=example.com"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxied.Store(0)
			cmd := exec.Command(os.Args[0], "-test.run=^TestProxyChild$", "-test.v")
			cmd.Env = append(os.Environ(),
				"ABACUS_PROXY_CHILD=1",
				"ABACUS_ENDPOINT="+tc.endpoint,
				"ABACUS_DIR="+newProject(t, projectManifest),
				"ABACUS_STATE="+t.TempDir(),
				"ABACUS_WANT_SENT="+strconv.Itoa(tc.sent),
				"XDG_CONFIG_HOME="+t.TempDir(),
				"DO_NOT_TRACK=", "STRAPI_TELEMETRY_DISABLED=", "STRAPI_TELEMETRY_DEBUG=",
				"HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=", "http_proxy=", "https_proxy=", "no_proxy=",
			)
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if got := proxied.Load() > 0; got != tc.viaProxy {
				t.Errorf("went through the proxy = %v, want %v", got, tc.viaProxy)
			}
		})
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry"
)

// With --tls-cert and --tls-key the collector serves HTTPS, and the SDK sends
// over it.
func TestTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t, t.TempDir())
	srv := startServer(t, serveOpts{https: true, args: []string{"--tls-cert", certFile, "--tls-key", keyFile}})
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("cannot read back the test certificate")
	}

	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED", "STRAPI_TELEMETRY_DEBUG"} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "package.json"), []byte(`{"name":"x"}`), 0o644)
	if _, err := telemetry.CreateProject(project, "strapi"); err != nil {
		t.Fatal(err)
	}
	c, err := telemetry.New(telemetry.Config{
		Product: "strapi", Version: "5.3.1", Endpoint: srv.URL, Dir: project, StateDir: t.TempDir(),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		CloseBudget: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Track("ping", nil)
	c.Close(context.Background())
	if st := c.Status(); st.Sent != 1 {
		t.Fatalf("SDK over TLS: %+v", st)
	}
	// Plain HTTP to the TLS port is refused.
	resp, err := http.Get("http://" + srv.addr + "/healthz")
	if err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
		resp.Body.Close()
	}
}

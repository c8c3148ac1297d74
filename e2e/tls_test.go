package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
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
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "abacus-e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)

	srv := startServer(t, serveOpts{https: true, args: []string{"--tls-cert", certFile, "--tls-key", keyFile}})
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)

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

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
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
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// A plain-HTTP request to the TLS port makes net/http log a TLS handshake
// error; the line reaches the collector's log without the client's address.
func TestTLSHandshakeErrorsHideTheClientAddress(t *testing.T) {
	certFile, keyFile := selfSigned(t, t.TempDir())
	srv := startServer(t, serveOpts{https: true, args: []string{"--tls-cert", certFile, "--tls-key", keyFile}})
	// From an address of its own, so that only the client can have put it there.
	c, err := dialerFrom(attackerAddr(7, 8)).Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().(*net.TCPAddr)
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: abacus\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c)
	c.Close()
	waitFor(t, "the handshake error in the log", func() bool { return strings.Contains(srv.logs(), "TLS handshake error") })
	logs := srv.logs()
	if strings.Contains(logs, client.IP.String()) {
		t.Errorf("the client address %s is in the collector's log:\n%s", client.IP, logs)
	}
	if strings.Contains(logs, ":"+strconv.Itoa(client.Port)) {
		t.Errorf("the client port %d is in the collector's log:\n%s", client.Port, logs)
	}
}

package server

import (
	"log"
	"log/slog"
	"net"
	"regexp"
	"sync"
)

// LimitListener returns a listener that has at most n connections open at
// once: past n, Accept waits for one to close, and new clients wait in the
// kernel's queue. n <= 0 means no limit.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// addrPattern matches the IP addresses (with or without a port) that net/http
// writes into its error log, such as "TLS handshake error from
// 203.0.113.9:51234": IPv4, and IPv6 in brackets or bare.
var addrPattern = regexp.MustCompile(`\[[0-9A-Fa-f:.%a-zA-Z0-9]+\](:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?`)

// ErrorLog returns the logger for http.Server.ErrorLog: net/http's messages
// (TLS handshake errors, bad requests) go to logger at warning level, with
// every IP address replaced by "[address]", so that no client address reaches
// the collector's logs.
func ErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(maskWriter{logger}, "", 0)
}

type maskWriter struct{ logger *slog.Logger }

func (w maskWriter) Write(p []byte) (int, error) {
	msg := addrPattern.ReplaceAllString(string(p), "[address]")
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	w.logger.Warn(msg)
	return len(p), nil
}

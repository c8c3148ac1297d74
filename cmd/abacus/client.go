package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultServer is the --server of the client commands.
const defaultServer = "http://127.0.0.1:8080"

// reachTimeout bounds the first contact with a collector.
const reachTimeout = 5 * time.Second

// serverURL reads --server: the collector's base URL. Without a scheme,
// http:// is assumed (127.0.0.1:8080 is http://127.0.0.1:8080).
func serverURL(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: --server: expected the collector's base URL such as http://127.0.0.1:8080, got %q", errUsage, s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// reachable checks within reachTimeout that a collector answers at base.
func reachable(ctx context.Context, client *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("cannot reach the collector at %s: %w", base, err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the collector at %s: %w (is abacus serve running there?)", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot use the collector at %s: GET /healthz answered %s, expected 200 from abacus serve", base, resp.Status)
	}
	return nil
}

// noArgs refuses positional arguments left after the flags.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (flags start with --)", errUsage, fs.Arg(0))
	}
	return nil
}

// isSet reports whether a flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// verdict classifies a request's outcome.
type verdict int

const (
	delivered verdict = iota // 2xx: accepted, duplicate or rejected per event
	retry                    // network error, 408, 429, 5xx: send again later
	tooLarge                 // 413: split the batch
	refused                  // other 4xx: the collector will never take it
)

type result struct {
	verdict    verdict
	resp       wire.Response
	retryAfter time.Duration
	err        error
}

const (
	backoffBase   = 500 * time.Millisecond
	backoffMax    = 60 * time.Second
	maxRetryAfter = 10 * time.Minute
)

// sender posts batches. It runs on flight goroutines, one at a time.
type sender struct {
	client *http.Client
	url    string
	own    bool // client made here, so its idle connections are ours to close
}

func newSender(cfg Config) *sender {
	s := &sender{url: cfg.Endpoint + wire.BatchPath}
	if cfg.HTTPClient != nil {
		// The host's client, minus redirects: a copy, so the host's is unchanged.
		hc := *cfg.HTTPClient
		hc.CheckRedirect = noRedirects
		s.client = &hc
	} else {
		s.own = true
		s.client = &http.Client{
			CheckRedirect: noRedirects,
			Timeout:       30 * time.Second,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout:   5 * time.Second,
				ResponseHeaderTimeout: 10 * time.Second,
				IdleConnTimeout:       30 * time.Second,
				MaxIdleConns:          2,
				ForceAttemptHTTP2:     true,
			},
		}
	}
	return s
}

// noRedirects makes a client return a 3xx answer instead of following it: a
// batch goes to the configured collector or nowhere. A redirect would carry the
// project and machine IDs to another host, and a 302 would turn the POST into
// a GET that "succeeds" while the events are gone.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (s *sender) closeIdle() {
	if s.own {
		s.client.CloseIdleConnections()
	}
}

// post sends one batch and classifies the answer.
func (s *sender) post(ctx context.Context, events []queued) (res result) {
	defer func() {
		if r := recover(); r != nil {
			res = result{verdict: retry, err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	// The events are encoded already; only the envelope is written here.
	fmt.Fprintf(zw, `{"sentAt":%q,"events":[`, time.Now().UTC().Format(wireTimeLayout))
	for i, ev := range events {
		if i > 0 {
			zw.Write([]byte{','})
		}
		zw.Write(ev.raw)
	}
	zw.Write([]byte("]}"))
	if err := zw.Close(); err != nil {
		return result{verdict: refused, err: fmt.Errorf("cannot compress batch: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, &buf)
	if err != nil {
		return result{verdict: refused, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", "abacus-go/"+SDKVersion)
	resp, err := s.client.Do(req)
	if err != nil {
		return result{verdict: retry, err: fmt.Errorf("cannot send batch: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return result{verdict: retry, err: fmt.Errorf("cannot read answer: %w", err)}
	}
	switch code := resp.StatusCode; {
	case code/100 == 2:
		res := result{verdict: delivered}
		if json.Unmarshal(body, &res.resp) != nil {
			// A 2xx without our body (a proxy, an old collector): the batch was taken.
			res.resp = wire.Response{Accepted: len(events)}
		}
		return res
	case code/100 == 3:
		// Not delivered: kept, retried and spooled like a network error.
		return result{verdict: retry, err: fmt.Errorf("collector answered %d, a redirect to %q, which is never followed: set Config.Endpoint to the collector's own URL", code, resp.Header.Get("Location"))}
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return result{verdict: retry, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()), err: statusError(code, body)}
	case code == http.StatusRequestEntityTooLarge:
		return result{verdict: tooLarge, err: statusError(code, body)}
	default:
		return result{verdict: refused, err: statusError(code, body)}
	}
}

func statusError(code int, body []byte) error {
	var e wire.Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("collector answered %d: %s", code, e.Error)
	}
	return fmt.Errorf("collector answered %d", code)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date), capped at
// maxRetryAfter; 0 means absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// backoff is the wait before attempt n+1 after n failures: exponential from
// backoffBase, capped at backoffMax, with half of it random so that many hosts
// cut off at once do not come back at once.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 20 {
		d = min(backoffMax, backoffBase<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

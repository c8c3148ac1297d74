package telemetry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config configures a Client. Only Product is required; the zero value of every other
// field means its default.
type Config struct {
	// Product is the product's name, e.g. "strapi". It is the key of the project's
	// entry in package.json, the prefix of the environment variables the SDK reads
	// (STRAPI_TELEMETRY_DISABLED, …) and the key of the machine-ID hash.
	Product string
	// Version is the product's version, sent with every event.
	Version string
	// Endpoint is the collector's base URL; batches go to Endpoint + "/v1/batch".
	// Required unless debug mode is on.
	Endpoint string
	// Dir is the project root holding package.json; "" means the working directory.
	Dir string
	// Environment is development, staging, production, test or other; "" means
	// detected from <PRODUCT>_ENV, then NODE_ENV or APP_ENV, else development.
	Environment string
	// Build is the project's build configuration: plugin list, flags. Values follow
	// the same rules as event properties.
	Build map[string]any
	// StateDir holds the spool and the fallback machine ID; "" means
	// os.UserCacheDir()/<product>/telemetry. It is created only when needed.
	StateDir string
	// CloseBudget bounds Close, whatever the network does; 0 means 300ms.
	CloseBudget time.Duration
	// HTTPClient sends the batches; nil means a client that honours HTTPS_PROXY,
	// HTTP_PROXY and NO_PROXY, with short dial and header timeouts.
	HTTPClient *http.Client
	// Debug is where debug mode (<PRODUCT>_TELEMETRY_DEBUG=1) prints each event as
	// one JSON line; nil means os.Stderr.
	Debug io.Writer

	// QueueSize bounds the events waiting in memory between Track and the sender;
	// 0 means 1000. When it is full, Track drops the newest event and counts it.
	QueueSize int
	// FlushInterval is how long a tracked event may wait for a batch to fill while
	// the program runs; 0 means 5s. Close sends whatever is left.
	FlushInterval time.Duration
}

const (
	defaultCloseBudget   = 300 * time.Millisecond
	defaultQueueSize     = 1000
	defaultFlushInterval = 5 * time.Second
)

// validProduct reports whether name matches ^[a-z0-9][a-z0-9._-]{0,63}$.
func validProduct(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return false
	}
	return true
}

// resolve checks cfg and fills in the defaults that need no I/O.
func (cfg Config) resolve() (Config, error) {
	if !validProduct(cfg.Product) {
		return cfg, fmt.Errorf("telemetry: Config.Product: expected a lowercase name matching ^[a-z0-9][a-z0-9._-]{0,63}$, got %q", cfg.Product)
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("telemetry: Config.Endpoint: expected an http or https URL, got %q", cfg.Endpoint)
		}
		cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	}
	if cfg.Environment != "" {
		cfg.Environment = normalizeEnvironment(cfg.Environment)
	}
	if cfg.CloseBudget <= 0 {
		cfg.CloseBudget = defaultCloseBudget
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueueSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = defaultFlushInterval
	}
	if cfg.Debug == nil {
		cfg.Debug = os.Stderr
	}
	if cfg.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return cfg, fmt.Errorf("telemetry: cannot find the working directory for Config.Dir: %w", err)
		}
		cfg.Dir = wd
	}
	if cfg.StateDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return cfg, fmt.Errorf("telemetry: Config.StateDir: no user cache directory, set StateDir: %w", err)
		}
		cfg.StateDir = filepath.Join(cache, cfg.Product, "telemetry")
	}
	return cfg, nil
}

// envPrefix turns a product name into its environment-variable prefix:
// "my-cms" becomes "MY_CMS".
func envPrefix(product string) string {
	b := []byte(strings.ToUpper(product))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// truthy reports whether an environment value means "on": 1, true or yes.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// optsOut reports whether an opt-out variable (DO_NOT_TRACK,
// <PRODUCT>_TELEMETRY_DISABLED) set to v says no: any non-empty value except 0,
// false, no and off (trimmed, any case). An unusual value ("on", "2", "y") is
// read the privacy-safe way.
func optsOut(v string) bool {
	if v == "" {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

var errNoEndpoint = errors.New("telemetry: Config.Endpoint: required to send events (or set <PRODUCT>_TELEMETRY_DEBUG=1)")

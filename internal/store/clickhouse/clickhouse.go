package clickhouse

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/abacushq/abacus/internal/store"
)

// Options tune a Store beyond what its URL says.
type Options struct {
	// Logger receives the migration log (default: slog.Default()).
	Logger *slog.Logger
	// InsertTimeout bounds one Insert once its data is on the way: a caller's
	// cancellation then waits for the server's answer, up to this long, so
	// that an Insert that returns an error has stored nothing (default 60 s).
	InsertTimeout time.Duration
}

// Store keeps events in a ClickHouse database. It implements store.Store.
type Store struct {
	conn   driver.Conn
	db     string // database name, already quoted for SQL
	dbName string
	opts   Options
	logger *slog.Logger

	closeMu sync.RWMutex // held for reading by every call, for writing by Close
	closed  bool

	migrateMu sync.Mutex
	migrated  bool

	// cluster is the remote_servers cluster of the sharded layout ("" for
	// one server). Then events, event_ids and erasures are Distributed
	// tables over the *_local tables of every shard, and hosts holds a
	// connection to each of the cluster's servers (set by Migrate), for
	// what a Distributed table does not pass on: DDL, mutations, parts.
	cluster string
	chOpts  *ch.Options
	hosts   []driver.Conn

	insertMu sync.Mutex // one Insert at a time: "how many were new" is exact per store

	seen *seen // the IDs this store has seen stored: Existing asks the table only for these

	away atomic.Pointer[away] // the last failure of Existing, and until when to repeat it
}

// away is a recent failure that Existing repeats without asking the server.
type away struct {
	until time.Time
	err   error
}

// ParseURL checks a clickhouse:// URL and returns clickhouse-go's options and
// the database name. The URL is
//
//	clickhouse://[user[:password]@]host:port[,host:port…]/database[?param=value&…]
//
// with the native protocol's port (9000, or 9440 with TLS). Parameters:
// dial_timeout, read_timeout (durations such as 10s), max_open_conns,
// max_idle_conns, conn_max_lifetime, secure=true (TLS), skip_verify=true
// (TLS without checking the certificate; for tests only), ca_file=PATH (TLS
// trusting the PEM certificates in PATH, such as a private CA's, instead of
// the system's), compress=lz4, cluster=NAME (the sharded layout over the
// cluster NAME of the server's remote_servers; see the package doc).
func ParseURL(raw string) (*ch.Options, string, error) {
	o, db, _, err := parseURL(raw)
	return o, db, err
}

func parseURL(raw string) (opts *ch.Options, db, cluster string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", "", fmt.Errorf("cannot parse the ClickHouse URL: %w", err)
	}
	if u.Scheme != "clickhouse" {
		return nil, "", "", fmt.Errorf("cannot use the store URL %q: expected the scheme clickhouse://", redact(u))
	}
	if u.Host == "" {
		return nil, "", "", fmt.Errorf("cannot use the store URL %q: expected a host:port (the native protocol's, 9000)", redact(u))
	}
	db = strings.Trim(u.Path, "/")
	if db == "" {
		return nil, "", "", fmt.Errorf("cannot use the store URL %q: expected a database name after the host, as in clickhouse://host:9000/abacus", redact(u))
	}
	if !validName(db) {
		return nil, "", "", fmt.Errorf("cannot use the database name %q: expected letters, digits and underscores", db)
	}
	q := u.Query()
	for k := range q {
		if !knownParams[k] {
			return nil, "", "", fmt.Errorf("cannot use the store URL parameter %q: expected one of dial_timeout, read_timeout, max_open_conns, max_idle_conns, conn_max_lifetime, secure, skip_verify, ca_file, compress, cluster", k)
		}
	}
	if q.Has("cluster") {
		cluster = q.Get("cluster")
		if !validName(cluster) {
			return nil, "", "", fmt.Errorf("cannot use the cluster name %q: expected letters, digits and underscores, as in remote_servers", cluster)
		}
	}
	// The database is created by Open, so the connection starts in default.
	v := *u
	v.Path = "/default"
	caFile := q.Get("ca_file")
	q.Del("ca_file")
	q.Del("cluster")
	v.RawQuery = q.Encode()
	opts, err = ch.ParseDSN(v.String())
	if err != nil {
		return nil, "", "", fmt.Errorf("cannot use the store URL %q: %w", redact(u), err)
	}
	if caFile != "" {
		if opts.TLS == nil {
			return nil, "", "", fmt.Errorf("cannot use the store URL %q: ca_file needs secure=true", redact(u))
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "", "", fmt.Errorf("cannot read the ca_file %q: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", "", fmt.Errorf("cannot use the ca_file %q: expected PEM certificates", caFile)
		}
		opts.TLS.RootCAs = pool
	}
	return opts, db, cluster, nil
}

var knownParams = map[string]bool{
	"dial_timeout": true, "read_timeout": true, "max_open_conns": true, "max_idle_conns": true,
	"conn_max_lifetime": true, "secure": true, "skip_verify": true, "ca_file": true, "compress": true,
	"cluster": true,
}

func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = url.User(u.User.Username())
	return v.String()
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return len(s) > 0 && len(s) <= 64
}

// Open connects to the ClickHouse server of rawURL (see ParseURL). It does not
// wait for the server: the schema is created or migrated by Migrate, which
// every method runs first until it has succeeded once, so a collector can
// start while ClickHouse is away and keep events in its write-ahead log.
func Open(rawURL string, opts Options) (*Store, error) {
	o, db, cluster, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = time.Minute
	}
	conn, err := ch.Open(o)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to ClickHouse: %w", err)
	}
	return &Store{conn: conn, db: "`" + db + "`", dbName: db, opts: opts, logger: opts.Logger, cluster: cluster, chOpts: o, seen: newSeen(seenCapacity)}, nil
}

// enter takes the close lock for a call; the caller runs the returned func
// when done.
func (s *Store) enter(ctx context.Context) (func(), error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.closeMu.RUnlock()
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.closeMu.RUnlock()
		return nil, err
	}
	return s.closeMu.RUnlock, nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach ClickHouse: %w", err)
	}
	return nil
}

// ServerVersion returns the server's version, as in "18.16.1".
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cannot read the ClickHouse version: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch), nil
}

// Close releases the connections. Methods after Close return store.ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.closed = true
	for _, h := range s.hosts {
		if h != s.conn {
			h.Close()
		}
	}
	return s.conn.Close()
}

// ctxErr prefers ctx's error to the driver's when ctx is done, so that
// callers can tell a cancellation with errors.Is.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

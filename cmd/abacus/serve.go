package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/server"
	"github.com/abacushq/abacus/internal/simulate"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse"
	"github.com/abacushq/abacus/internal/store/duckdb"
	"github.com/abacushq/abacus/telemetry"
)

// serve runs the collector until SIGINT or SIGTERM. Shutdown stops accepting
// connections, finishes the requests in flight, stores every acknowledged event
// and closes the store, in that order.
func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [flags]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", "./abacus-data", "data directory: events.duckdb, wal/, secret, token")
	secretFile := fs.String("secret-file", "", "file with the re-keying secret (64+ hex characters; created if missing); collectors sharing a store share it (default <data>/secret)")
	planFile := fs.String("plan", "", "tracking plan YAML (default: the built-in headless-CMS plan)")
	demo := fs.Bool("demo", false, "on a new data directory, load 90 days of a simulated population (see abacus simulate)")
	retention := days(400 * 24 * time.Hour)
	fs.Var(&retention, "retention", "how long events are kept, in `days` (400d); older ones are deleted daily")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	rateIP := fs.Float64("rate-ip", 50, "requests per second per client address (burst 10s' worth); negative: no limit")
	rateProject := fs.Float64("rate-project", 100, "events per second per project (burst 60s' worth); negative: no limit")
	trustProxy := fs.Bool("trust-proxy", false, "take the client address for the per-address limits from X-Forwarded-For (only behind proxies that set it)")
	trustedHops := fs.Int("trusted-hops", 1, "with --trust-proxy: how many proxies append to X-Forwarded-For; the entry this far from the right is the client")
	rateIPEvents := fs.Float64("rate-ip-events", 5000, "events per second per client address (burst 60s' worth); negative: no limit")
	rateIPProjects := fs.Float64("rate-ip-new-projects", 1000, "new projects per hour per client address (burst 5h' worth); negative: no limit")
	maxConns := fs.Int("max-conns", 1024, "connections open at once; more wait for one to close; 0: no limit")
	bodyMemory := fs.String("max-body-memory", "64MiB", "request bodies in memory at once, read and gunzipped; past it, 503")
	minFree := fs.String("min-free", "", "free disk space kept for the store (e.g. 256MiB, 5%); below it, ingest answers 503 (default: 5% of the volume, at least 64MiB, at most 256MiB or half the volume; 0: none)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	storeURL := fs.String("store", "", "where events are kept: empty for the embedded DuckDB file <data>/events.duckdb, or\n"+
		"clickhouse://[user[:password]@]host:9000[,host:9000…]/database[?param=value&…] for a ClickHouse server\n"+
		"(18.16 or later; native protocol) shared by many collectors; the schema is created and migrated at start.\n"+
		"Parameters: dial_timeout (5s), read_timeout (300s), max_open_conns (pool size), max_idle_conns,\n"+
		"conn_max_lifetime, secure=true (TLS, port 9440), ca_file=PATH (TLS trusting the PEM certificates in PATH),\n"+
		"skip_verify=true (TLS without checking the certificate), compress=lz4, cluster=NAME (shard by project over the\n"+
		"cluster NAME of the servers' remote_servers: local tables on every server, Distributed tables over them)")
	storeMemory := fs.String("store-memory", "64MB", "memory limit of the embedded DuckDB store (DuckDB syntax: 128MB, 1GB)")
	storeThreads := fs.Int("store-threads", 1, "threads the embedded DuckDB store may use; 1 keeps a core free for ingest on small machines")
	debugAddr := fs.String("debug-addr", "", "serve Go's /debug/pprof on this separate address (keep it on loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	if *trustedHops < 1 {
		return fmt.Errorf("%w: --trusted-hops: expected 1 or more, got %d", errUsage, *trustedHops)
	}
	bodyBytes, err := parseSize(*bodyMemory)
	if err != nil || bodyBytes <= 0 {
		return fmt.Errorf("%w: --max-body-memory: expected a size such as 64MiB, got %q", errUsage, *bodyMemory)
	}
	minFreeBytes, minFreePct, err := parseMinFree(*minFree)
	if err != nil {
		return fmt.Errorf("%w: --min-free: %v", errUsage, err)
	}
	// Files the collector and its store create are for its user only.
	restrictUmask()
	// The collector should fit a small VM: beside DuckDB's own --store-memory,
	// the Go heap has a soft cap. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(144 << 20)
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	p, err := loadPlan(*planFile)
	if err != nil {
		return err
	}
	// The addresses come first: a start that cannot listen creates nothing,
	// not even the admin token.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on --addr %s: %w", *addr, err)
	}
	defer ln.Close()
	var dln net.Listener
	if *debugAddr != "" {
		if dln, err = net.Listen("tcp", *debugAddr); err != nil {
			return fmt.Errorf("cannot listen on --debug-addr %s: %w", *debugAddr, err)
		}
		defer dln.Close()
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("cannot create data directory %q: %w", *data, err)
	}
	st, ins, err := openStore(*storeURL, *data, p, duckdb.Options{MemoryLimit: *storeMemory, Threads: *storeThreads}, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("cannot close the store", "err", err)
		}
	}()
	srv, err := server.Open(server.Config{
		DataDir: *data, SecretFile: *secretFile, Plan: p, Store: st, Insights: ins, Token: os.Getenv("ABACUS_TOKEN"), Retention: time.Duration(retention),
		RateIP: *rateIP, RateProject: *rateProject, TrustProxy: *trustProxy, TrustedHops: *trustedHops,
		RateIPEvents: *rateIPEvents, RateIPNewProjects: *rateIPProjects, BodyMemory: bodyBytes,
		MinFree: minFreeBytes, MinFreePercent: minFreePct, Logger: logger,
	})
	if err != nil {
		return err
	}
	switch token, created := srv.Token(); {
	case created:
		fmt.Fprintf(stdout, "Admin token (shown once; also kept in %s):\n  %s\n",
			filepath.Join(*data, "token"), token)
	case os.Getenv("ABACUS_TOKEN") != "":
		fmt.Fprintln(stdout, "Admin token: the one in ABACUS_TOKEN")
	default:
		fmt.Fprintf(stdout, "Admin token: kept in %s\n", filepath.Join(*data, "token"))
	}

	if *debugAddr != "" {
		go http.Serve(dln, pprofMux())
	}
	ln = server.LimitListener(ln, *maxConns)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// The protocol's headers, the admin token and a browser's cookies
		// fit in a few KB; Go's default of 1 MiB a connection lets a
		// thousand unfinished headers take a gigabyte.
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       server.ErrorLog(logger),
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	// The port answers /healthz at once; /readyz and ingest wait for the replay.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		hs.Close()
		srv.Close()
		return err
	}
	logger.Info("abacus is serving", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "data", *data,
		"plan", p.Product, "version", version)
	fmt.Fprintf(stdout, "abacus %s serving on %s://%s (data in %s)\n", version, scheme, ln.Addr(), *data)
	fmt.Fprintf(stdout, "Dashboard: %s://%s/ (sign in with the admin token)\n", scheme, ln.Addr())

	if *demo {
		if n, err := st.Stats(ctx); err == nil && n.Events == 0 {
			go seedDemo(ctx, scheme+"://"+ln.Addr().String(), *tlsCert != "", stdout, logger)
		} else {
			logger.Info("--demo: the data directory already holds events; nothing loaded")
		}
	}

	select {
	case err := <-errc:
		srv.Close()
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests, storing acknowledged events")
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShutdown()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("requests still running at shutdown were cut off", "err", err)
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("cannot close the collector cleanly: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// openStore opens the store --store names, with the reports over it: the
// DuckDB file in the data directory, or a ClickHouse database. ClickHouse's
// schema is migrated now when the server answers; when it does not, the
// collector starts anyway, keeps events in its write-ahead log and migrates
// when the server is back.
func openStore(url, data string, p *plan.Plan, dopts duckdb.Options, logger *slog.Logger) (store.Store, *insights.Insights, error) {
	if url == "" {
		st, err := duckdb.Open(filepath.Join(data, "events.duckdb"), dopts)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot open the store: %w", err)
		}
		return st, insights.New(insights.DuckDB(st.DB()), p), nil
	}
	if !strings.HasPrefix(url, "clickhouse://") {
		return nil, nil, fmt.Errorf("%w: --store: expected empty (DuckDB in --data) or a clickhouse:// URL, got %q", errUsage, url)
	}
	st, err := clickhouse.Open(url, clickhouse.Options{Logger: logger.With("component", "clickhouse")})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --store: %v", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := st.Migrate(ctx); err != nil {
		logger.Error("ClickHouse does not answer; events wait in the write-ahead log until it does", "err", err)
	} else if v, err := st.ServerVersion(ctx); err == nil {
		logger.Info("ClickHouse store ready", "server_version", v, "schema_version", clickhouse.SchemaVersion)
	}
	return st, insights.New(st.Reports(), p), nil
}

// seedDemo sends a simulated population (90 days) to this collector,
// through the SDK's transport like any client, with the progress on stdout.
func seedDemo(ctx context.Context, url string, tlsOn bool, stdout io.Writer, logger *slog.Logger) {
	var client *http.Client
	if tlsOn { // our own certificate, on our own address
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	sender, err := telemetry.NewSender(url, client)
	if err != nil {
		logger.Error("--demo: cannot send", "err", err)
		return
	}
	fmt.Fprintln(stdout, "--demo: loading 90 days of a simulated population…")
	if _, err := simulate.Run(ctx, simulate.Demo, sender, 0, stdout); err != nil {
		logger.Error("--demo: loading stopped", "err", err)
	}
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level: expected debug, info, warn or error, got %q", errUsage, level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format: expected text or json, got %q", errUsage, format)
}

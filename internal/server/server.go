package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/wal"
	"github.com/abacushq/abacus/internal/wal/walrec"
	"github.com/abacushq/abacus/internal/web"
)

// Config configures a collector. DataDir, Plan and Store are required; the zero
// value of every other field means its default.
type Config struct {
	// DataDir holds the write-ahead log (wal/), the re-keying secret and the
	// admin token. Created with mode 0700 if missing.
	DataDir string
	// SecretFile holds the re-keying secret (64 or more hex characters); ""
	// means <DataDir>/secret. Created on first use. Collectors sharing a store
	// share it, so that they re-key IDs alike.
	SecretFile string
	// Plan is the tracking plan events are checked against.
	Plan *plan.Plan
	// Store keeps the events. The collector does not close it.
	Store store.Store
	// Insights computes the reports of GET /api/v1/reports/{name}; nil means the
	// store offers none (the route answers 404).
	Insights *insights.Insights
	// Token is the admin token; "" means the one in <DataDir>/token, created on
	// first start.
	Token string
	// Retention is how long events are kept; 0 means 400 days.
	Retention time.Duration
	// RateIP is the requests per second one client address may make (burst: 10
	// seconds' worth); 0 means 50, negative means no limit.
	RateIP float64
	// RateProject is the events per second one project may send (burst: 60
	// seconds' worth); 0 means 100, negative means no limit.
	RateProject float64
	// TrustProxy takes the client address for the per-address limits from
	// X-Forwarded-For instead of the TCP peer: the entry TrustedHops from the
	// right (0 means 1: the one the nearest proxy added), if it is an IP
	// address. Only behind proxies that set it.
	TrustProxy  bool
	TrustedHops int
	// RateIPEvents is the events per second one client address may send
	// (burst: 60 seconds' worth); 0 means 5,000, negative means no limit.
	RateIPEvents float64
	// RateIPNewProjects is the new projects (never seen by the collector) one
	// client address may bring an hour (burst: 5 hours' worth); 0 means 1,000,
	// negative means no limit.
	RateIPNewProjects float64
	// BodyMemory is the budget of request bodies in memory at once, as read
	// and after gunzip (see ingest.Budget); 0 means 64 MiB, negative means
	// no budget. Past it, ingest answers 503. It stays well under the Go
	// heap's soft limit (144 MiB in abacus serve), where the garbage
	// collector would run without pause.
	BodyMemory int64
	// MaxLagBytes is how many bytes of acknowledged events may wait for the
	// store, beside MaxLag; 0 means 64 MiB.
	MaxLagBytes int
	// MinFree and MinFreePercent are the free space ingest leaves on the
	// disks of the data directory and of the log, for the store: below it,
	// 503. The floor is the smaller of the two given; with neither, 5% of
	// the volume, at least 64 MiB and at most 256 MiB (and half the volume). A negative MinFree
	// keeps no floor. Below twice the floor, the store is checkpointed (at
	// most every 10 seconds) to give its own log back.
	MinFree        int64
	MinFreePercent float64
	// MaxInflight is how many ingest requests are read and processed at
	// once; 0 means 64. More wait up to a second, then get 503.
	MaxInflight int
	// MaxLag is how many acknowledged events may wait for the store before
	// ingest answers 503; 0 means 200,000. It bounds the memory of the queue
	// (a few hundred bytes an event) and of the pending-ID set: a store that
	// cannot keep up sheds load instead of growing the heap until the garbage
	// collector takes the whole machine.
	MaxLag int
	// WAL tunes the write-ahead log.
	WAL wal.Options
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running collector: ingest, write-ahead log, store writer, admin
// API and operations endpoints.
type Server struct {
	patterns []string // the routes Handler registered
	cfg      Config
	logger   *slog.Logger
	token    string
	created  bool
	keyer    *ingest.Keyer
	pipeline *ingest.Pipeline
	log      *wal.Log
	dedup    *dedup
	writer   *writer
	metrics  *serverMetrics
	ipLimit  *limiter
	prjLimit *limiter
	// Per client address: events a second, new projects an hour.
	ipEvents    *limiter
	newPrjLimit *limiter
	seen        *projectsSeen
	budget      *ingest.Budget // request bodies in memory
	vols        []volume       // disks and their floors of free space
	relieved    atomic.Int64   // unix nanoseconds of the last checkpoint for disk space
	// The last refusal logged (unix nanoseconds) and those not logged since.
	refusalLogged, refusalsQuiet atomic.Int64
	ipKey                        []byte // keys the hash of client addresses for the limiter
	erased                       *erasures
	dash                         *web.Handler
	inflight                     chan struct{} // admission: one token per ingest request in progress

	closeOnce sync.Once
	closeErr  error

	compactMu sync.Mutex // one compaction (see compact.go) at a time
	authFails *limiter   // failed admin authentications per address

	ready   atomic.Bool // the log is replayed; ingest is open
	started atomic.Bool // Start succeeded: the writer and retention run
	stop    chan struct{}
	stopped chan struct{}

	// storeWait is why the start waits for the store (it refuses the
	// replayed events), for /readyz; nil when it does not.
	storeWait atomic.Pointer[string]
}

// Open prepares a collector in cfg.DataDir: the secret, the token, the log.
// Nothing is served or replayed until Start.
func Open(cfg Config) (*Server, error) {
	if cfg.DataDir == "" || cfg.Plan == nil || cfg.Store == nil {
		return nil, errors.New("server: Config needs DataDir, Plan and Store")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 400 * 24 * time.Hour
	}
	if cfg.RateIP == 0 {
		cfg.RateIP = 50
	}
	if cfg.RateProject == 0 {
		cfg.RateProject = 100
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 64
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 200_000
	}
	if cfg.MaxLagBytes <= 0 {
		cfg.MaxLagBytes = 64 << 20
	}
	if cfg.RateIPEvents == 0 {
		cfg.RateIPEvents = 5000
	}
	if cfg.RateIPNewProjects == 0 {
		cfg.RateIPNewProjects = 1000
	}
	if cfg.BodyMemory == 0 {
		cfg.BodyMemory = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data directory %q: %w", cfg.DataDir, err)
	}
	tightenPermissions(cfg.DataDir, cfg.Logger)
	secretFile := cfg.SecretFile
	if secretFile == "" {
		secretFile = filepath.Join(cfg.DataDir, "secret")
	}
	secret, err := serverSecret(secretFile)
	if err != nil {
		return nil, err
	}
	token, created, err := adminToken(cfg.DataDir, cfg.Token)
	if err != nil {
		return nil, err
	}
	erased, err := loadErasures(cfg.DataDir, secret, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.WAL.Logger == nil {
		cfg.WAL.Logger = cfg.Logger.With("component", "wal")
	}
	log, err := wal.Open(filepath.Join(cfg.DataDir, "wal"), cfg.WAL)
	if err != nil {
		return nil, fmt.Errorf("cannot open the write-ahead log: %w", err)
	}
	s := &Server{
		cfg:         cfg,
		logger:      cfg.Logger,
		token:       token,
		created:     created,
		keyer:       ingest.NewKeyer(secret),
		log:         log,
		dedup:       newDedup(cfg.Store),
		metrics:     newServerMetrics(),
		ipLimit:     newLimiter(cfg.RateIP, cfg.RateIP*10),
		prjLimit:    newLimiter(cfg.RateProject, cfg.RateProject*60),
		ipEvents:    newLimiter(cfg.RateIPEvents, cfg.RateIPEvents*60),
		newPrjLimit: newLimiter(cfg.RateIPNewProjects/3600, cfg.RateIPNewProjects*5),
		seen:        newProjectsSeen(),
		budget:      ingest.NewBudget(cfg.BodyMemory, runtime.GOMAXPROCS(0)),
		vols:        floors(cfg),
		ipKey:       secret,
		authFails:   newAuthLimiter(),
		erased:      erased,
		inflight:    make(chan struct{}, cfg.MaxInflight),
		stop:        make(chan struct{}),
		stopped:     make(chan struct{}),
	}
	s.pipeline = ingest.New(ingest.Config{Plan: cfg.Plan, Keyer: s.keyer, Retention: cfg.Retention})
	if s.dash, err = newDashboard(cfg, secret, token); err != nil {
		log.Close()
		return nil, err
	}
	s.writer = newWriter(cfg.Store, log, s.dedup, cfg.Logger.With("component", "writer"), s.metrics)
	s.registerGauges()
	return s, nil
}

// Token returns the admin token and whether Open created it (the caller prints
// a new token once).
func (s *Server) Token() (token string, created bool) { return s.token, s.created }

// Start replays the write-ahead log into the store, opens ingest and starts
// the store writer and the daily retention job. It returns when ingest is open.
func (s *Server) Start(ctx context.Context) error {
	start := time.Now()
	n, err := s.replay(ctx)
	if err != nil {
		return err
	}
	projects := 0
	if pl, ok := s.cfg.Store.(projectLister); ok {
		if err := pl.Projects(ctx, func(id string) error { s.seen.add(id); projects++; return nil }); err != nil {
			return fmt.Errorf("cannot read stored projects: %w", err)
		}
	}
	s.logger.Info("write-ahead log replayed", "events", n, "known_projects", projects, "took", time.Since(start).Round(time.Millisecond))
	s.started.Store(true)
	go s.writer.run()
	go s.retention()
	s.ready.Store(true)
	return nil
}

// untilStored runs f, a call to the store during the start, until it
// succeeds or ctx ends. A store on a server (ClickHouse) may be away when a
// collector starts: the log keeps the events meanwhile, and /readyz says what
// the start waits for. An embedded store's error is final.
func (s *Server) untilStored(ctx context.Context, what string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil {
			s.storeWait.Store(nil)
			return err
		}
		if _, remote := s.cfg.Store.(pinger); !remote {
			return err
		}
		reason := fmt.Sprintf("cannot %s: %v", what, err)
		s.storeWait.Store(&reason)
		if attempt == 1 || attempt%12 == 0 {
			s.logger.Error("the store does not take events; the start waits for it, acknowledged events stay in the write-ahead log",
				"what", what, "err", err, "attempt", attempt)
		}
		select {
		case <-ctx.Done():
			s.storeWait.Store(nil)
			return ctx.Err()
		case <-time.After(min(time.Duration(attempt)*time.Second, 5*time.Second)):
		}
	}
}

// pinger is a store on a server, which can say whether the server answers
// (ClickHouse).
type pinger interface {
	Ping(ctx context.Context) error
}

// replay stores every event left in the log by the last run (acknowledged,
// maybe not stored) and releases the log. Inserts are idempotent, so events
// that were stored already are skipped.
func (s *Server) replay(ctx context.Context) (int, error) {
	var batch []store.Event
	var last wal.Pos
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.untilStored(ctx, "store the replayed events", func() error {
			_, err := s.cfg.Store.Insert(ctx, batch)
			return err
		}); err != nil {
			return fmt.Errorf("cannot store replayed events: %w", err)
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	st, err := s.log.Replay(func(rec []byte, end wal.Pos) error {
		events, err := walrec.Decode(rec)
		if err != nil {
			// A record that passed its checksum but does not decode was written
			// by a different version; keep going rather than refuse to start.
			s.logger.Error("skipping an undecodable write-ahead log record", "pos", end.String(), "err", err)
			return nil
		}
		for _, e := range events {
			if !s.erased.erased(e.ProjectID, e.ReceivedAt) {
				batch = append(batch, e)
			}
		}
		last = end
		if len(batch) >= 20000 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("cannot replay the write-ahead log: %w", err)
	}
	for _, t := range st.Tails {
		s.logger.Warn("write-ahead log had a torn tail (an append that was never acknowledged)",
			"segment", t.Segment, "offset", t.Offset, "skipped_bytes", t.Skipped, "reason", t.Reason)
	}
	if err := flush(); err != nil {
		return total, err
	}
	if len(st.Damaged) > 0 {
		records, skipped := 0, int64(0)
		for _, d := range st.Damaged {
			records += d.Records
			skipped += d.Skipped
		}
		s.metrics.walDamaged.Add(uint64(records))
		s.logger.Error("write-ahead log damaged: skipped damaged records between intact ones; their events are lost, the segments are kept in wal/"+wal.DamagedDir+"/",
			"damaged_records", records, "damaged_bytes", skipped, "runs", len(st.Damaged),
			"replayed_records", st.Records, "replayed_events", total)
	}
	if err := s.log.Release(last); err != nil {
		s.logger.Warn("cannot release replayed write-ahead log segments", "err", err)
	}
	return total, nil
}

// retention deletes events past the retention window, at start (a shorter
// --retention takes effect at once) and daily; at start and every
// compactEvery it also removes from disk what erasures deleted.
func (s *Server) retention() {
	defer close(s.stopped)
	t := time.NewTimer(0)
	defer t.Stop()
	compact := time.NewTicker(compactEvery)
	defer compact.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-compact.C:
			s.compactPending()
			continue
		case <-t.C:
		}
		s.compactPending()
		cutoff := time.Now().Add(-s.cfg.Retention)
		n, err := s.cfg.Store.DeleteBefore(context.Background(), cutoff)
		if err != nil {
			s.logger.Error("retention: cannot delete old events", "err", err)
		} else if n > 0 {
			s.logger.Info("retention: deleted old events", "events", n, "before", cutoff.Format(time.DateOnly))
		}
		t.Reset(24 * time.Hour)
	}
}

// Close stops ingest, stores every acknowledged event and closes the log. Call
// it after the HTTP server has finished its requests; the caller closes the store.
// Later calls return what the first returned.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.ready.Store(false)
	if s.started.Load() {
		close(s.stop)
		<-s.stopped
		s.writer.close()
		// Everything acknowledged is stored: leave no log to replay.
		if n, _ := s.writer.lag(); n == 0 {
			if err := s.log.ReleaseAll(s.log.End()); err != nil {
				s.logger.Warn("cannot remove the write-ahead log at shutdown", "err", err)
			}
		}
	}
	return s.log.Close()
}

package simulate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// Product is the product name every generated event carries (the default plan's).
const Product = "strapi"

// SDK is the context.sdk of every generated event.
const SDK = "abacus-node/0.4.2"

// Defaults of Config.
const (
	DefaultProjects = 2000
	DefaultDays     = 90
)

// Bounds of Config, so that a typo cannot ask for a week of generation.
const (
	MaxProjects = 1_000_000
	MaxDays     = 3650
)

// The planted effects. Truths reports them with the parameters derived from a Config.
const (
	plantedFeature   = "releases"
	plantedPlugin    = "seo"
	pluginLift       = 3.0
	pluginShare      = 0.08 // of the projects outside the cohort
	slowOS           = "windows"
	slowFactor       = 2.5
	slowDays         = 14
	fadingMajor      = "16"
	fadeFrom         = 0.20
	fadeTo           = 0.01
	growingMajor     = "22"
	errorCode        = "E_ADMIN_BUILD_CRASH"
	errorVersion     = "5.4.0"
	errorReleaseDays = 21
	errorShare       = 0.45 // of projects, susceptible to errorCode once on errorVersion
	errorRate        = 0.7  // chance a susceptible project's admin build crashes on errorVersion
	setupFailRate    = 0.08
	lateSessionShare = 0.16 // of the sessions of an offline-prone laptop, delivered late
	maxLate          = 72 * time.Hour
	minLate          = 15 * time.Minute
)

// The base setup time distribution: setupFloor + setupMedian·e^(setupSigma·Z).
const (
	setupFloor  = 40 * time.Second
	setupMedian = 6 * time.Minute
	setupSigma  = 1.3
	setupMax    = 72 * time.Hour
	z90         = 1.2815515655446004 // the standard normal 0.9 quantile
)

// Config says what population to generate.
type Config struct {
	Projects int       // projects created over the window; 0 = 2000
	Days     int       // window length in days, ending at End; 0 = 90
	Seed     uint64    // same seed + same End = same events, byte for byte
	End      time.Time // end of the window (exclusive); zero = now truncated to the hour (UTC)
}

// Demo is the population of abacus serve --demo: 3,000 projects over the 90
// days up to the current hour (about 300,000 events), enough setups that the
// setup report finds the planted windows slowdown whatever the hour the demo
// ends at (with the default 2,000, about 75 windows setups in the 14 days
// compared, it found it at 9 hours in 12). TestDemoSlowdownEveryHour in
// internal/insights holds it to that.
var Demo = Config{Projects: 3000}

// normalize fills in the defaults: End is made UTC and truncated to the millisecond, the
// precision of the protocol.
func (c Config) normalize() (Config, error) {
	switch {
	case c.Projects < 0 || c.Projects > MaxProjects:
		return c, fmt.Errorf("simulate: Projects = %d, expected 0 (default) to %d", c.Projects, MaxProjects)
	case c.Days < 0 || c.Days > MaxDays:
		return c, fmt.Errorf("simulate: Days = %d, expected 0 (default) to %d", c.Days, MaxDays)
	}
	if c.Projects == 0 {
		c.Projects = DefaultProjects
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.End.IsZero() {
		c.End = time.Now().UTC().Truncate(time.Hour)
	}
	c.End = c.End.UTC().Truncate(time.Millisecond)
	return c, nil
}

// start returns the beginning of the window (inclusive) of a normalized Config.
func (c Config) start() time.Time { return c.End.Add(-time.Duration(c.Days) * 24 * time.Hour) }

// Truths are the planted effects, with the parameters the generator used, so a test can
// state what the reports must find. The population has other, natural regularities too
// (growth, weekly rhythm, production lagging development in runtime and databases,
// graphql-playground used only with the graphql plugin), but only these are planted with
// known sizes.
type Truths struct {
	// Projects that use Feature (emit didUseFeature with properties.feature = Feature at
	// least once) have Plugin in build.plugins PluginLift times as often as the other
	// projects, of which PluginShare have it. A project carries Plugin on all its events or on
	// none (it is never installed later), and the assignment is stratified, so over the
	// whole window share(cohort)/share(rest) = PluginLift up to rounding (one project). In a
	// shorter period the cohort is the projects that used Feature in it and the rest
	// includes some users of Feature that were active but did not use it then, which dilutes
	// the lift a little (still well above 2 for the last 30 days at the default size).
	Feature, Plugin string
	PluginLift      float64
	PluginShare     float64

	// Setup time is the time from a project's willCreateProject to its first didStartServer,
	// both on the machine that created the project (so context.os is the same on both).
	// Its base distribution is SetupFloor + a log-normal part with median SetupMedian−
	// SetupFloor; SetupMedian and SetupP90 are its median and 90th percentile. SetupFailRate
	// of projects never complete setup: they emit didFailWithError with a setup code
	// (E_DEPENDENCY_INSTALL, E_DB_CONNECT, E_PORT_IN_USE, E_TEMPLATE_DOWNLOAD) and nothing
	// after it.
	//
	// On SlowOS, for projects created at or after SlowSince (the UTC midnight 14
	// days before End's day), the upper half of the log-normal part is stretched: a setup at normal quantile z > 0 takes
	// SlowFactor^min(1, z/1.2816) times as long (floor excluded), so the median does not
	// move and the p90 and above are SlowFactor times longer (the total's p90 about
	// SlowP90Ratio times). Other OSes and earlier weeks are unchanged. Setup quantiles are
	// stratified per OS, so sample percentiles sit close to the distribution's.
	SlowOS        string
	SlowFactor    float64
	SlowSince     time.Time
	SlowP90Ratio  float64
	SetupFloor    time.Duration
	SetupMedian   time.Duration
	SetupP90      time.Duration
	SetupFailRate float64

	// The share of active projects running node FadingMajor (context.runtimeVersion
	// "16.x.y") falls linearly from FadingFrom at the start of the window to FadingTo at End.
	// It is a property of the project (all its machines run the same major while it is on
	// FadingMajor); projects leave it for a newer major and never come back. GrowingMajor's
	// share grows over the window (not planted with an exact size).
	FadingMajor  string
	FadingFrom   float64
	FadingTo     float64
	GrowingMajor string

	// didFailWithError with code ErrorCode appears only on events whose product.version is
	// ErrorVersion, which is released at ErrorRelease (End − 21 days): never before it, never
	// on another version. ErrorShare of the projects are susceptible: once on ErrorVersion,
	// ErrorRate of their admin builds (development, CI or deploy) crash with ErrorCode
	// instead of emitting didBuildAdmin. Projects reach ErrorVersion by being created on it or
	// upgrading to it.
	ErrorCode    string
	ErrorVersion string
	ErrorRelease time.Time
	ErrorShare   float64
	ErrorRate    float64

	// About LateShare of the events (whole sessions of offline-prone developer laptops) are
	// delivered late: Generate emits them after events with later timestamps, up to MaxLate
	// after their own timestamp. Setup sessions are never late.
	LateShare float64
	MaxLate   time.Duration
}

// Summary describes a generated population.
type Summary struct {
	Projects, Machines, Events int       // distinct projects and machines in the events; events emitted
	First, Last                time.Time // earliest and latest event timestamp
	Late                       int       // events emitted late: after events with later timestamps
	Truths                     Truths

	// Filled in by Run only: the collector's answers, summed over all batches.
	Accepted, Duplicates, Rejected int
	Elapsed                        time.Duration
}

// TruthsFor returns the planted effects of the population cfg describes, without
// generating it.
func TruthsFor(cfg Config) (Truths, error) {
	c, err := cfg.normalize()
	if err != nil {
		return Truths{}, err
	}
	return truths(c), nil
}

func truths(c Config) Truths {
	base := func(z float64, stretch float64) time.Duration {
		return setupFloor + time.Duration(float64(setupMedian)*math.Exp(setupSigma*z)*stretch)
	}
	p90 := base(z90, 1)
	return Truths{
		Feature:       plantedFeature,
		Plugin:        plantedPlugin,
		PluginLift:    pluginLift,
		PluginShare:   pluginShare,
		SlowOS:        slowOS,
		SlowFactor:    slowFactor,
		SlowSince:     slowSince(c.End),
		SlowP90Ratio:  float64(base(z90, slowFactor)) / float64(p90),
		SetupFloor:    setupFloor,
		SetupMedian:   base(0, 1),
		SetupP90:      p90,
		SetupFailRate: setupFailRate,
		FadingMajor:   fadingMajor,
		FadingFrom:    fadeFrom,
		FadingTo:      fadeTo,
		GrowingMajor:  growingMajor,
		ErrorCode:     errorCode,
		ErrorVersion:  errorVersion,
		ErrorRelease:  c.End.Add(-errorReleaseDays * 24 * time.Hour),
		ErrorShare:    errorShare,
		ErrorRate:     errorRate,
		LateShare:     0.03,
		MaxLate:       maxLate,
	}
}

// Generate produces the population's events and calls emit for each, in the order they
// would reach a collector ("send order"): by timestamp, except that about 3% of the events
// (sessions of offline laptops, see Truths.LateShare) come up to 3 days after their
// timestamp, behind later events. Every timestamp lies in [End−Days, End), in whole
// milliseconds, UTC. The same Config (Seed, End, Projects, Days) gives the same events, byte
// for byte; the only randomness is a PCG generator seeded from Seed. (The model does
// floating-point math, so a program built for another CPU architecture, where the compiler
// may fuse operations differently, could differ in the last millisecond of a rare duration.)
//
// emit owns each event it receives (Generate keeps no reference to it); values in Build and
// Properties have the types encoding/json decodes into (float64, []any, string, bool). If
// emit returns an error, Generate stops and returns it with the summary so far.
func Generate(cfg Config, emit func(*wire.Event) error) (Summary, error) {
	c, err := cfg.normalize()
	if err != nil {
		return Summary{}, err
	}
	if emit == nil {
		return Summary{}, errors.New("simulate: Generate: emit is nil")
	}
	g := newGen(c)
	g.emit = func(r *rec) error { return emit(g.event(r)) }
	return g.run()
}

// count generates the population without building events: its Summary only. It stops
// early when ctx ends.
func count(ctx context.Context, c Config) (Summary, error) {
	g := newGen(c)
	g.ctx = ctx
	return g.run()
}

// slowSince is when the planted setup slowdown starts: the UTC midnight
// slowDays before End's day, so that the reports' "last 14 complete days"
// (which end at the start of today) are all slowed, whatever the hour End
// is.
func slowSince(end time.Time) time.Time {
	return end.UTC().Truncate(24*time.Hour).AddDate(0, 0, -slowDays)
}

package storetest

import (
	"encoding/hex"
	"math/rand/v2"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

// Population sizes the synthetic traffic of a Generator.
type Population struct {
	Projects int           // distinct projects (default 2000)
	Machines int           // distinct machines (default 5000)
	Start    time.Time     // ReceivedAt of the first event (default 2026-01-01)
	Interval time.Duration // mean time between events (default 2.6s: 1M events ≈ 30 days)
}

// Generator makes realistic traffic for a headless-CMS product: projects with
// a version and a build (0-6 plugins out of 20, typescript, database),
// machines with fixed OS/runtime/CI facts, sessions of 2-21 events with one
// environment, and requests of 1-4 events from one session that share
// ReceivedAt (the SDK batches for up to 5 s); 1% of requests come from the
// offline spool with events up to two days old. Event IDs are version-7 UUIDs
// of the event time, project, machine and session IDs 32 hex characters, like
// the re-keyed IDs the collector stores. Ten event names carry the small
// properties the default plan declares. The same seed gives the same events.
type Generator struct {
	r        *rand.Rand
	projects []genProject
	machines []genMachine
	active   []genSession
	now      time.Time
	interval time.Duration
	buf      []store.Event
}

type genProject struct {
	id, version string
	build       map[string]any
}

type genMachine struct {
	id, os, osVersion, arch, runtimeVersion, ciName string
	cpus                                            int
	memoryMB                                        int64
	ci, docker, wsl                                 bool
	projects                                        []int
}

type genSession struct {
	id, env       string
	machine, proj int
	left          int
}

var (
	genPlugins  = []string{"i18n", "graphql", "users-permissions", "upload", "email", "documentation", "sentry", "seo", "color-picker", "ckeditor", "@strapi/plugin-cloud", "import-export", "config-sync", "navigation", "transformer", "slugify", "redirects", "menus", "comments", "webhooks"}
	genNames    = []string{"willCreateProject", "didCreateProject", "didStartServer", "didStopServer", "didUseFeature", "didFailWithError", "didBuildAdmin", "didInstallPlugin", "didDeploy", "didRunMigration"}
	genWeights  = []int{2, 2, 30, 20, 25, 5, 8, 3, 2, 3}
	genFeatures = []string{"content-types", "media-library", "i18n", "review-workflows", "audit-logs", "sso", "releases", "api-tokens", "webhooks", "graphql-playground", "blocks-editor", "preview", "history", "custom-fields", "transfer"}
	genCodes    = []string{"E_DB_CONNECT", "E_PORT_IN_USE", "E_PLUGIN_LOAD", "E_BUILD_FAILED", "E_MIGRATION", "E_PERMISSION", "E_TIMEOUT", "E_CONFIG_INVALID", "E_OUT_OF_MEMORY", "E_UNKNOWN"}
	genVersions = []string{"4.25.1", "5.0.0", "5.1.2", "5.2.0", "5.3.1", "5.4.0", "5.5.2", "5.6.0"}
	genRuntimes = []string{"18.20.4", "20.11.1", "20.18.0", "22.11.0", "22.12.0", "23.3.0"}
	genOS       = [][2]string{{"linux", "6.1.0"}, {"linux", "5.15.0"}, {"linux", "6.8.0"}, {"darwin", "23.4.0"}, {"darwin", "24.1.0"}, {"windows", "10.0.22631"}, {"windows", "10.0.19045"}}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func genHex32(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:])
}

func genUUID7(r *rand.Rand, t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	for i := 6; i < 16; i++ {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewGenerator returns a Generator for population p (zero fields take the
// defaults) seeded with seed.
func NewGenerator(seed uint64, p Population) *Generator {
	if p.Projects <= 0 {
		p.Projects = 2000
	}
	if p.Machines <= 0 {
		p.Machines = 5000
	}
	if p.Start.IsZero() {
		p.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if p.Interval <= 0 {
		p.Interval = 2600 * time.Millisecond
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{r: r, now: p.Start, interval: p.Interval}
	for range p.Projects {
		var plugins []any
		for _, j := range r.Perm(len(genPlugins))[:r.IntN(7)] {
			plugins = append(plugins, genPlugins[j])
		}
		b := map[string]any{"typescript": r.IntN(2) == 0, "database": pick(r, []string{"sqlite", "postgres", "mysql", "mariadb"})}
		if plugins != nil {
			b["plugins"] = plugins
		} else if r.IntN(2) == 0 {
			b["plugins"] = []any{}
		}
		g.projects = append(g.projects, genProject{id: genHex32(r), version: pick(r, genVersions), build: b})
	}
	for range p.Machines {
		o := pick(r, genOS)
		m := genMachine{id: genHex32(r), os: o[0], osVersion: o[1], arch: pick(r, []string{"amd64", "arm64"}),
			runtimeVersion: pick(r, genRuntimes), cpus: pick(r, []int{2, 4, 8, 10, 12, 16}),
			memoryMB: pick(r, []int64{4096, 8192, 16384, 32768, 65536}),
			ci:       r.IntN(5) == 0, docker: r.IntN(4) == 0, wsl: o[0] == "linux" && r.IntN(6) == 0}
		if m.ci {
			m.ciName = pick(r, []string{"github-actions", "gitlab", "circleci", "jenkins"})
		}
		for range 1 + r.IntN(2) {
			m.projects = append(m.projects, r.IntN(p.Projects))
		}
		g.machines = append(g.machines, m)
	}
	return g
}

// Next returns the next event in arrival order.
func (g *Generator) Next() store.Event {
	if len(g.buf) == 0 {
		g.request()
	}
	e := g.buf[0]
	g.buf = g.buf[1:]
	return e
}

// Batch returns the next n events.
func (g *Generator) Batch(n int) []store.Event {
	out := make([]store.Event, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func (g *Generator) newSession() genSession {
	r := g.r
	m := r.IntN(len(g.machines))
	env := "development"
	switch x := r.IntN(10); {
	case x == 0:
		env = "staging"
	case x < 3:
		env = "production"
	case x == 3 && g.machines[m].ci:
		env = "test"
	}
	s := genSession{env: env, machine: m, proj: pick(r, g.machines[m].projects), left: 2 + r.IntN(20)}
	if r.IntN(20) != 0 {
		s.id = genHex32(r)
	}
	return s
}

func (g *Generator) request() {
	r := g.r
	for len(g.active) < 300 {
		g.active = append(g.active, g.newSession())
	}
	i := r.IntN(len(g.active))
	k := 1
	for k < 4 && r.IntN(2) == 0 {
		k++
	}
	g.now = g.now.Add(time.Duration(r.Int64N(int64(2 * g.interval * time.Duration(k)))))
	spooled := r.IntN(100) == 0
	recv := g.now.Truncate(time.Microsecond)
	for range k {
		lag := time.Duration(r.IntN(5000)) * time.Millisecond
		if spooled {
			lag += time.Duration(r.IntN(48*3600)) * time.Second
		}
		g.buf = append(g.buf, g.event(i, recv, recv.Add(-lag).Truncate(time.Millisecond)))
	}
}

func (g *Generator) event(i int, recv, t time.Time) store.Event {
	r := g.r
	s := &g.active[i]
	m := &g.machines[s.machine]
	p := &g.projects[s.proj]
	x := r.IntN(100)
	name := genNames[0]
	for k, w := range genWeights {
		if x < w {
			name = genNames[k]
			break
		}
		x -= w
	}
	props := map[string]any{}
	switch name {
	case "willCreateProject":
		props["quickstart"] = r.IntN(2) == 0
	case "didStartServer":
		props["durationMs"] = int64(200 + r.ExpFloat64()*3000)
	case "didUseFeature":
		props["feature"] = pick(r, genFeatures)
	case "didFailWithError":
		props["code"] = pick(r, genCodes)
	case "didBuildAdmin":
		props["durationMs"] = int64(5000 + r.ExpFloat64()*30000)
		props["ratio"] = float64(r.IntN(1000)) / 1000
	case "didInstallPlugin":
		props["plugin"] = pick(r, genPlugins)
	case "didRunMigration":
		props["count"] = int64(r.IntN(30))
	}
	e := store.Event{ID: genUUID7(r, t), Name: name, Time: t, ReceivedAt: recv,
		ProjectID: p.id, MachineID: m.id, SessionID: s.id, Environment: s.env,
		Product: "strapi", ProductVersion: p.version, OS: m.os, OSVersion: m.osVersion, Arch: m.arch,
		CPUs: m.cpus, MemoryMB: m.memoryMB, Runtime: "node", RuntimeVersion: m.runtimeVersion, CI: m.ci, CIName: m.ciName,
		Docker: m.docker, WSL: m.wsl, SDK: "abacus-go/0.1.0", Build: p.build, Properties: props}
	s.left--
	if s.left <= 0 {
		g.active[i] = g.newSession()
	}
	return e
}

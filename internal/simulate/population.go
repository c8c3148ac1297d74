package simulate

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// Times are kept as Unix milliseconds, the precision of the protocol.
const (
	secondMs = int64(1000)
	minuteMs = 60 * secondMs
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
)

// project is one project of the population, with everything decided at its creation: its
// machines, its setup and its schedule. Its own rng draws the details of each day.
type project struct {
	rng        *rng
	id         string
	created    int64
	tz         float64 // hours east of UTC
	typescript bool
	pkgMgr     string
	quickstart bool
	template   string
	plugins    []any   // current list; replaced, never modified, when a plugin is installed
	features   []int   // indexes into features, adopted
	rel        int     // index into releases: the version the project is on
	line       int     // 4 or 5
	u16        float64 // on node 16 while u16 < its share (a golden-ratio sequence in creation order)
	vulnerable bool    // to errorCode, once on errorVersion

	machines []*machine // [0] created the project
	setupOK  bool       // setup completes (maybe after End)
	readyAt  int64      // the first didStartServer, when setupOK
	setupMs  int64
	devDays  []int // days (indexes in the window) the developers work on the project
	next     int   // next index into devDays
	lastDay  int   // no activity after this day
	used     bool  // has an event emitted
}

// machine is one machine of a project.
type machine struct {
	id                  string
	kind                int
	env                 string
	os, osVersion, arch string
	cpus                int
	memoryMB            int64
	ci                  bool
	ciName              string
	docker, wsl         bool
	db                  string
	v                   float64 // picks the runtime major (see runtimeAt)
	lag                 int     // releases behind the newest of its major
	offline             bool    // delivers some sessions late
	from, until         int     // first and last active day (until only for servers)
	session             string  // current server process (servers)
	pingMin             int64   // minute of the day a server pings
	used                bool
}

// prop is one event property.
type prop struct {
	key  string
	kind byte // 's' string, 'n' number, 'b' bool; 0 = none
	s    string
	n    int64
}

func pstr(k, v string) prop { return prop{key: k, kind: 's', s: v} }
func pnum(k string, v int64) prop {
	return prop{key: k, kind: 'n', n: min(max(v, 0), 86_400_000)}
}
func pbool(k string, v bool) prop {
	n := int64(0)
	if v {
		n = 1
	}
	return prop{key: k, kind: 'b', n: n}
}

// rec is one generated event before it is built into a wire.Event.
type rec struct {
	send, ts   int64
	seq        uint64
	name       string
	p          *project
	m          *machine
	session    string
	idHi, idLo uint64
	version    string
	runtime    string
	plugins    []any
	props      [2]prop
}

// gen generates one population.
type gen struct {
	cfg        Config
	start, end int64
	slowSince  int64 // ms: the planted setup slowdown's start
	days       int
	seq        uint64
	pending    []*rec // a min-heap by (send, seq)
	free       []*rec
	emit       func(*rec) error // nil: count only
	ctx        context.Context  // when not nil, checked once a day
	sum        Summary

	// stratification state, in creation order
	accIn, accOut float64            // planted plugin, for the feature cohort and the rest
	u16           float64            // offset of the golden sequence of u16
	setupQ        map[string]float64 // per OS: the last setup quantile
}

func newGen(c Config) *gen {
	return &gen{
		cfg:       c,
		start:     c.start().UnixMilli(),
		end:       c.End.UnixMilli(),
		slowSince: slowSince(c.End).UnixMilli(),
		days:      c.Days,
	}
}

// day returns the index of the day of the window t falls in.
func (g *gen) day(t int64) int { return int((t - g.start) / dayMs) }

// frac returns how far t is into the window, in [0, 1).
func (g *gen) frac(t int64) float64 { return float64(t-g.start) / float64(g.end-g.start) }

// released returns the Unix millisecond a release made `days` before End came out.
func (g *gen) released(days float64) int64 { return g.end - int64(days*float64(dayMs)) }

// run generates the population day by day: the events of a day are made, queued by send
// time, and every queued event due before the day ends is emitted. An event is only ever
// made on or after the day it falls in, and no event is due before its timestamp, so the
// queue releases events in send order.
func (g *gen) run() (Summary, error) {
	g.sum.Truths = truths(g.cfg)
	projects := g.population()
	var live []*project
	next := 0
	for d := 0; d < g.days; d++ {
		dayEnd := g.start + int64(d+1)*dayMs
		for next < len(projects) && projects[next].created < dayEnd {
			p := projects[next]
			g.setup(p)
			live = append(live, p)
			next++
		}
		keep := live[:0]
		for _, p := range live {
			g.activity(p, d)
			if p.lastDay > d {
				keep = append(keep, p)
			}
		}
		clear(live[len(keep):])
		live = keep
		if err := g.flush(dayEnd); err != nil {
			return g.sum, err
		}
		if g.ctx != nil && g.ctx.Err() != nil {
			return g.sum, g.ctx.Err()
		}
	}
	if err := g.flush(math.MaxInt64); err != nil {
		return g.sum, err
	}
	return g.sum, nil
}

// flush emits the queued events due before t.
func (g *gen) flush(t int64) error {
	for len(g.pending) > 0 && g.pending[0].send < t {
		r := g.pop()
		if r.send > r.ts {
			g.sum.Late++
		}
		if g.sum.Events == 0 || r.ts < g.sum.First.UnixMilli() {
			g.sum.First = time.UnixMilli(r.ts).UTC()
		}
		if r.ts > g.sum.Last.UnixMilli() {
			g.sum.Last = time.UnixMilli(r.ts).UTC()
		}
		g.sum.Events++
		if !r.m.used {
			r.m.used = true
			g.sum.Machines++
		}
		if !r.p.used {
			r.p.used = true
			g.sum.Projects++
		}
		if g.emit != nil {
			if err := g.emit(r); err != nil {
				return err
			}
		}
		*r = rec{}
		g.free = append(g.free, r)
	}
	return nil
}

// add queues an event of p on m at ts, delivered delay ms late. Events at or after End are
// dropped: they have not happened yet.
func (g *gen) add(p *project, m *machine, session, name string, ts, delay int64, a, b prop) {
	if ts >= g.end {
		return
	}
	var r *rec
	if n := len(g.free); n > 0 {
		r, g.free = g.free[n-1], g.free[:n-1]
	} else {
		r = new(rec)
	}
	g.seq++
	*r = rec{
		send: ts + delay, ts: ts, seq: g.seq, name: name, p: p, m: m, session: session,
		idHi: p.rng.Uint64(), idLo: p.rng.Uint64(),
		version: releases[p.rel].version, runtime: g.runtimeAt(p, m, ts), plugins: p.plugins,
		props: [2]prop{a, b},
	}
	g.push(r)
}

// event builds the wire form of r.
func (g *gen) event(r *rec) *wire.Event {
	p, m := r.p, r.m
	plugins := make([]any, len(r.plugins))
	copy(plugins, r.plugins)
	e := &wire.Event{
		ID:          uuid(r.idHi, r.idLo),
		Event:       r.name,
		Timestamp:   time.UnixMilli(r.ts).UTC(),
		ProjectID:   p.id,
		MachineID:   m.id,
		SessionID:   r.session,
		Environment: m.env,
		Product:     wire.Product{Name: Product, Version: r.version},
		Context: wire.Context{
			OS: m.os, OSVersion: m.osVersion, Arch: m.arch, CPUs: m.cpus, MemoryMB: m.memoryMB,
			Runtime: "node", RuntimeVersion: r.runtime,
			CI: m.ci, CIName: m.ciName, Docker: m.docker, WSL: m.wsl, SDK: SDK,
		},
		Build: map[string]any{
			"plugins":        plugins,
			"typescript":     p.typescript,
			"database":       m.db,
			"packageManager": p.pkgMgr,
		},
	}
	for _, pr := range r.props {
		if pr.kind == 0 {
			continue
		}
		if e.Properties == nil {
			e.Properties = make(map[string]any, 2)
		}
		switch pr.kind {
		case 's':
			e.Properties[pr.key] = pr.s
		case 'n':
			e.Properties[pr.key] = float64(pr.n)
		case 'b':
			e.Properties[pr.key] = pr.n == 1
		}
	}
	return e
}

// The queue: a binary min-heap by (send, seq).

func (g *gen) less(i, j int) bool {
	a, b := g.pending[i], g.pending[j]
	return a.send < b.send || a.send == b.send && a.seq < b.seq
}

func (g *gen) push(r *rec) {
	g.pending = append(g.pending, r)
	i := len(g.pending) - 1
	for i > 0 {
		up := (i - 1) / 2
		if !g.less(i, up) {
			break
		}
		g.pending[i], g.pending[up] = g.pending[up], g.pending[i]
		i = up
	}
}

func (g *gen) pop() *rec {
	h := g.pending
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	g.pending = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && g.less(r, l) {
			c = r
		}
		if !g.less(c, i) {
			break
		}
		g.pending[i], g.pending[c] = g.pending[c], g.pending[i]
		i = c
	}
	return top
}

// releaseAt returns the index of the release of line that was newest at t, `back` releases
// before it when there are enough.
func (g *gen) releaseAt(line int, t int64, back int) int {
	var idx []int
	for i, r := range releases {
		if r.line == line && g.released(r.days) <= t {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 { // a window reaching back before the line: its first release
		for i, r := range releases {
			if r.line == line {
				return i
			}
		}
	}
	return idx[max(0, len(idx)-1-back)]
}

// runtimeAt returns the node version m runs at t. A project on the fading major runs it on
// every machine; otherwise each machine runs the major its v falls into under the shares of
// the time, production lagging development. The shares only move one way, so a machine
// only ever upgrades.
func (g *gen) runtimeAt(p *project, m *machine, t int64) string {
	f := g.frac(t)
	var major string
	if p.u16 < fadeFrom+(fadeTo-fadeFrom)*f {
		major = fadingMajor
	} else {
		w22, w20 := 0.22+0.25*f, 0.70+0.20*f // cumulative: 22, then 20, then 18
		if m.kind == kindServer || m.kind == kindStaging {
			w22, w20 = 0.10+0.20*f, 0.55+0.25*f
		}
		switch {
		case m.v < w22:
			major = "22"
		case m.v < w20:
			major = "20"
		default:
			major = "18"
		}
	}
	list := nodeReleases[major]
	i := 0
	for i+1 < len(list) && g.released(list[i+1].days) <= t {
		i++
	}
	return list[max(0, i-m.lag)].version
}

// population draws every project, in creation order, with its plan.
func (g *gen) population() []*project {
	master := newRNG(g.cfg.Seed, 0)
	n := g.cfg.Projects
	created := make([]int64, n)
	growth := math.Log(2) // the creation rate at End is twice that at the start
	span := float64(g.end - g.start)
	for i := range created {
		for {
			u := master.Float64()
			f := math.Log1p(u*(math.Exp(growth)-1)) / growth
			t := min(g.start+int64(f*span), g.end-1)
			if wd := time.UnixMilli(t).UTC().Weekday(); (wd == time.Saturday || wd == time.Sunday) && !master.chance(0.55) {
				continue
			}
			created[i] = t
			break
		}
	}
	slices.Sort(created)
	g.accIn, g.accOut, g.u16 = master.Float64(), master.Float64(), master.Float64()
	g.setupQ = map[string]float64{}
	for _, os := range []string{"darwin", "linux", "windows"} {
		g.setupQ[os] = master.Float64()
	}
	projects := make([]*project, n)
	for i, t := range created {
		projects[i] = g.newProject(i, t)
	}
	return projects
}

func (g *gen) newProject(i int, t int64) *project {
	r := newRNG(g.cfg.Seed, uint64(i)+1)
	p := &project{rng: r, created: t}
	p.id = r.newUUID()
	if r.chance(0.08) {
		p.id = "getstarted-" + p.id
	}
	x := r.Float64()
	for _, z := range timeZones {
		p.tz = z.h
		if x < z.w {
			break
		}
		x -= z.w
	}
	p.typescript = r.chance(0.45 + 0.2*g.frac(t))
	p.pkgMgr = r.pick(packageManagers)
	p.quickstart = r.chance(0.6)
	if r.chance(0.25) {
		p.template = r.pick(templates)
	}
	p.line = 5
	if r.chance(0.07) {
		p.line = 4
	}
	back := 0
	if x := r.Float64(); x < 0.03 {
		back = 2
	} else if x < 0.15 {
		back = 1
	}
	p.rel = g.releaseAt(p.line, t, back)
	p.vulnerable = r.chance(errorShare)
	p.u16 = math.Mod(g.u16+float64(i)*golden, 1)

	// Plugins (but the planted one) and features.
	var names []string
	for _, pl := range plugins {
		if r.chance(pl.p) {
			names = append(names, pl.name)
		}
	}
	hasGraphQL := slices.Contains(names, "graphql")
	for fi, f := range features {
		adopt := f.adopt
		if f.name == "graphql-playground" && !hasGraphQL {
			adopt = 0
		}
		if r.chance(adopt) {
			p.features = append(p.features, fi)
		}
	}

	// Machines: the creator's laptop and up to two more.
	p.machines = []*machine{g.newMachine(r, kindLaptop)}
	extra := 0
	if x := r.Float64(); x < 0.25 {
		extra = 2
	} else if x < 0.65 {
		extra = 1
	}
	kinds := []weighted{{"server", 0.45}, {"ci", 0.25}, {"laptop", 0.20}, {"staging", 0.10}}
	for k := 0; k < extra; k++ {
		kind := r.pick(kinds)
		kinds = slices.DeleteFunc(kinds, func(w weighted) bool { return w.v == kind })
		p.machines = append(p.machines, g.newMachine(r, map[string]int{
			"server": kindServer, "ci": kindCI, "laptop": kindLaptop, "staging": kindStaging}[kind]))
	}

	// Setup: whether it completes and how long it takes.
	creator := p.machines[0]
	p.setupOK = !r.chance(setupFailRate)
	if p.setupOK {
		q := math.Mod(g.setupQ[creator.os]+golden, 1)
		g.setupQ[creator.os] = q
		z := normalQuantile(q)
		stretch := 1.0
		if creator.os == slowOS && t >= g.slowSince && z > 0 {
			stretch = math.Pow(slowFactor, min(1, z/z90))
		}
		d := setupFloor + time.Duration(float64(setupMedian)*math.Exp(setupSigma*z)*stretch)
		p.setupMs = min(d, setupMax).Milliseconds()
		p.readyAt = t + p.setupMs
	}

	// Schedule: the days developers work on it, until they stop.
	p.lastDay = g.day(t)
	if p.setupOK && p.readyAt < g.end {
		life := r.between(0, 3) // a quick try, abandoned
		if !r.chance(0.25) {
			life = r.ExpFloat64() * 150
		}
		endDay := g.day(p.readyAt + int64(life*float64(dayMs)))
		for d := g.day(p.readyAt) + 1; d <= endDay && d < g.days; d++ {
			wd := time.UnixMilli(g.start + int64(d)*dayMs + 12*hourMs).UTC().Weekday()
			pd := 0.7
			if wd == time.Saturday || wd == time.Sunday {
				pd = 0.25
			}
			if r.chance(pd) {
				p.devDays = append(p.devDays, d)
			}
		}
		p.lastDay = max(p.lastDay, endDay)
		for _, m := range p.machines[1:] {
			var k int
			switch m.kind {
			case kindLaptop:
				k = 1 + r.IntN(5)
			case kindCI:
				k = 1 + r.IntN(4)
			case kindServer:
				k = 1 + r.IntN(6)
			case kindStaging:
				k = 1 + r.IntN(5)
			}
			if k >= len(p.devDays) {
				m.from = math.MaxInt // never active
				continue
			}
			m.from = p.devDays[k]
			switch m.kind {
			case kindServer: // production outlives development
				m.until = endDay + int(r.ExpFloat64()*60)
			case kindStaging:
				m.until = endDay + int(r.ExpFloat64()*15)
			}
			p.lastDay = max(p.lastDay, m.until)
		}
	}
	p.lastDay = min(p.lastDay, g.days-1)

	// The planted plugin: stratified by cohort, in creation order, so that each group's
	// share is exact. The cohort is the projects that will use the planted feature: adopters
	// with a development day, whose first one uses it for sure (see devSessions).
	cohort := len(p.devDays) > 0 && p.adopted(plantedFeature)
	var has bool
	if cohort {
		g.accIn += pluginShare * pluginLift
		has, g.accIn = g.accIn >= 1, g.accIn-math.Floor(g.accIn)
	} else {
		g.accOut += pluginShare
		has, g.accOut = g.accOut >= 1, g.accOut-math.Floor(g.accOut)
	}
	if has {
		names = append(names, plantedPlugin)
	}
	for len(names) > maxPlugins { // drop from the end, never the planted plugin
		i := len(names) - 1
		if names[i] == plantedPlugin {
			i--
		}
		names = slices.Delete(names, i, i+1)
	}
	slices.Sort(names)
	p.plugins = make([]any, len(names))
	for i, s := range names {
		p.plugins[i] = s
	}
	return p
}

func (p *project) adopted(name string) bool {
	for _, fi := range p.features {
		if features[fi].name == name {
			return true
		}
	}
	return false
}

func (g *gen) newMachine(r *rng, kind int) *machine {
	m := &machine{id: r.machineID(), kind: kind, v: r.Float64()}
	if x := r.Float64(); x < 0.12 {
		m.lag = 2
	} else if x < 0.40 {
		m.lag = 1
	}
	pickInt := func(vs ...int) int { return vs[r.IntN(len(vs))] }
	switch kind {
	case kindLaptop:
		m.env = wire.Development
		m.db = r.pick(laptopDB)
		m.offline = r.chance(0.25)
		m.os = r.pick(laptopOS)
		switch {
		case m.os == "windows" && r.chance(0.2): // WSL
			m.os, m.osVersion, m.arch, m.wsl = "linux", r.pick(osVersions["wsl"]), "amd64", true
			m.cpus = pickInt(4, 6, 8, 12, 16, 20)
			m.memoryMB = int64(pickInt(4096, 8192, 16384, 32768)) - int64(r.IntN(3))*128
		case m.os == "windows":
			m.osVersion, m.arch = r.pick(osVersions["windows"]), "amd64"
			if r.chance(0.03) {
				m.arch = "arm64"
			}
			m.cpus = pickInt(4, 6, 8, 12, 16, 20, 24)
			m.memoryMB = int64(pickInt(8192, 16384, 16384, 32768, 65536)) - int64(r.IntN(4))*256
		case m.os == "darwin":
			m.osVersion, m.arch = r.pick(osVersions["darwin"]), "arm64"
			if r.chance(0.15) {
				m.arch = "amd64"
			}
			m.cpus = pickInt(8, 8, 10, 11, 12, 14, 16)
			m.memoryMB = int64(pickInt(8192, 16384, 16384, 18432, 24576, 32768, 36864, 65536))
		default:
			m.osVersion, m.arch = r.pick(osVersions["linux"]), "amd64"
			if r.chance(0.08) {
				m.arch = "arm64"
			}
			m.cpus = pickInt(4, 8, 12, 16, 32)
			m.memoryMB = int64(pickInt(8192, 16384, 32768, 65536)) - int64(r.IntN(4))*384
		}
	case kindCI:
		m.env = wire.Test
		if r.chance(0.4) {
			m.env = wire.Development
		}
		m.ci, m.ciName, m.db = true, r.pick(ciNames), r.pick(ciDB)
		m.os = r.pick([]weighted{{"linux", 0.92}, {"windows", 0.05}, {"darwin", 0.03}})
		switch {
		case m.os == "darwin":
			m.osVersion, m.arch, m.cpus, m.memoryMB = "14.7.2", "arm64", 3, 7168
		case m.os == "windows":
			m.osVersion, m.arch, m.cpus, m.memoryMB = "10.0.20348", "amd64", 4, 16384
		case m.ciName == "gitlab":
			m.osVersion, m.arch, m.cpus, m.memoryMB, m.docker = "5.15.0", "amd64", 2, 8192, true
		default:
			m.osVersion, m.arch, m.cpus, m.memoryMB = "6.8.0", "amd64", 4, 16384
		}
	default: // servers
		m.env = wire.Production
		if kind == kindStaging {
			m.env = wire.Staging
		}
		m.db = r.pick(serverDB)
		m.os, m.osVersion, m.arch = "linux", r.pick(osVersions["linux-server"]), "amd64"
		if r.chance(0.03) {
			m.os, m.osVersion = "windows", "10.0.20348"
		} else {
			if r.chance(0.2) {
				m.arch = "arm64"
			}
			m.docker = r.chance(0.45)
		}
		m.cpus = pickInt(1, 2, 2, 4, 4, 8)
		m.memoryMB = int64(pickInt(1024, 2048, 4096, 4096, 8192, 16384))
		m.pingMin = int64(r.IntN(24 * 60))
		m.lag = min(m.lag+1, 2)
	}
	return m
}

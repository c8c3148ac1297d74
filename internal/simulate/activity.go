package simulate

import (
	"math"
	"slices"
)

// none is the absent property.
var none prop

// setup makes the events of a project's creation, on the machine that creates it: the
// create command (willCreateProject, didCreateProject, didInstallDependencies) in one
// session, the first `develop` (didStartServer, ping) in another. A failed setup ends with
// didFailWithError and the project is never heard of again.
func (g *gen) setup(p *project) {
	r, m, t0 := p.rng, p.machines[0], p.created
	m.from = g.day(t0)
	create := int64(r.between(8, 30) * float64(secondMs))
	install := r.ms(55_000, 0.5)
	start := r.ms(6_000, 0.4)
	cmd := r.newUUID()
	tpl := none
	if p.template != "" {
		tpl = pstr("template", p.template)
	}
	g.add(p, m, cmd, "willCreateProject", t0, 0, pbool("quickstart", p.quickstart), tpl)
	fail := func(session, code string, t int64) {
		g.add(p, m, session, "didFailWithError", t, 0, pstr("code", code), none)
	}
	if !p.setupOK {
		switch x := r.Float64(); {
		case x < 0.15 && p.template != "":
			fail(cmd, "E_TEMPLATE_DOWNLOAD", t0+create/2)
		case x < 0.70:
			g.add(p, m, cmd, "didCreateProject", t0+create, 0, pnum("durationMs", create), none)
			fail(cmd, "E_DEPENDENCY_INSTALL", t0+create+int64(float64(install)*r.between(0.2, 1.5)))
		default:
			g.add(p, m, cmd, "didCreateProject", t0+create, 0, pnum("durationMs", create), none)
			g.add(p, m, cmd, "didInstallDependencies", t0+create+install, 0, pnum("durationMs", install), none)
			code := "E_DB_CONNECT"
			if r.chance(0.3) {
				code = "E_PORT_IN_USE"
			}
			fail(r.newUUID(), code, t0+create+install+r.ms(3*float64(minuteMs), 1))
		}
		return
	}
	// The phases fit in the setup time; the rest is the developer's own time between them.
	if sum := create + install + start; sum > p.setupMs-5*secondMs {
		f := float64(p.setupMs-5*secondMs) / float64(sum)
		create = max(1, int64(float64(create)*f))
		install = max(1, int64(float64(install)*f))
		start = max(1, int64(float64(start)*f))
	}
	g.add(p, m, cmd, "didCreateProject", t0+create, 0, pnum("durationMs", create), none)
	g.add(p, m, cmd, "didInstallDependencies", t0+create+install, 0, pnum("durationMs", install), none)
	dev := r.newUUID()
	g.add(p, m, dev, "didStartServer", p.readyAt, 0, pnum("durationMs", start), none)
	g.add(p, m, dev, "ping", p.readyAt+r.ms(1_500, 0.3), 0, none, none)
}

// activity makes the events of project p on day d of the window.
func (g *gen) activity(p *project, d int) {
	if !p.setupOK {
		return
	}
	r := p.rng
	ds := g.start + int64(d)*dayMs
	if p.next < len(p.devDays) && p.devDays[p.next] == d {
		first := p.next == 0
		p.next++
		if latest := g.releaseAt(p.line, ds, 0); latest > p.rel && r.chance(0.07) {
			p.rel = latest
		}
		g.devSessions(p, p.machines[0], ds, first)
		for _, m := range p.machines[1:] {
			if d < m.from {
				continue
			}
			switch m.kind {
			case kindLaptop:
				if d == m.from || r.chance(0.55) {
					g.devSessions(p, m, ds, false)
				}
			case kindCI:
				if r.chance(0.75) {
					g.ciRuns(p, m, ds)
				}
			}
		}
	}
	for _, m := range p.machines[1:] {
		if (m.kind == kindServer || m.kind == kindStaging) && d >= m.from && d <= m.until {
			g.serverDay(p, m, ds)
		}
	}
}

// workTime returns a time of the day starting at ds when p's developers work: in working
// hours of the project's time zone, sometimes the evening.
func (g *gen) workTime(p *project, ds int64) int64 {
	r := p.rng
	h := r.between(8.5, 19)
	if r.chance(0.15) {
		h = r.between(19, 23.5)
	}
	slot := float64(ds%dayMs) / float64(hourMs) // the UTC hour the day of the window starts at
	off := math.Mod(h-p.tz-slot+48, 24)
	return ds + min(int64(off*float64(hourMs)), dayMs-15*minuteMs)
}

// devSessions makes a developer's day on laptop m: one to three runs of the server, each
// using some of the project's features, sometimes building the admin panel, failing or
// installing a plugin. The first development day of a project always uses the planted
// feature when the project adopted it (Truths.Feature's cohort is known in advance).
func (g *gen) devSessions(p *project, m *machine, ds int64, first bool) {
	r := p.rng
	n := 1
	if r.chance(0.65) {
		n++
		if r.chance(0.5) {
			n++
		}
	}
	starts := make([]int64, n)
	for k := range starts {
		starts[k] = g.workTime(p, ds)
	}
	slices.Sort(starts)
	for k, s := range starts {
		sess := r.newUUID()
		var delay int64
		if m.offline && r.chance(lateSessionShare) { // sent when the laptop is next online
			delay = int64(math.Exp(r.between(math.Log(float64(minLate.Milliseconds())), math.Log(float64(maxLate.Milliseconds())))))
		}
		at := func(lo, hi float64) int64 { return s + int64(r.between(lo, hi)*float64(minuteMs)) }
		g.add(p, m, sess, "didStartServer", s, delay, pnum("durationMs", r.ms(4_500, 0.45)), none)
		if k == 0 {
			g.add(p, m, sess, "ping", s+r.ms(1_500, 0.3), delay, none, none)
		}
		forced := first && k == 0 && p.adopted(plantedFeature)
		if forced {
			g.add(p, m, sess, "didUseFeature", at(0.5, 10), delay, pstr("feature", plantedFeature), none)
		}
		for _, fi := range p.features {
			f := features[fi]
			if forced && f.name == plantedFeature {
				continue
			}
			if r.chance(f.dev) {
				g.add(p, m, sess, "didUseFeature", at(1, 120), delay, pstr("feature", f.name), none)
			}
		}
		if r.chance(0.4) {
			g.adminBuild(p, m, sess, at(2, 90), delay)
		}
		if r.chance(0.04) {
			g.add(p, m, sess, "didFailWithError", at(0, 120), delay, pstr("code", r.pick(runtimeErrors)), none)
		}
		if len(p.plugins) < maxPlugins && r.chance(0.03) {
			if name := g.newPlugin(p); name != "" {
				g.add(p, m, sess, "didInstallPlugin", at(150, 180), delay, pstr("plugin", name), none)
				p.plugins = append(slices.Clip(p.plugins), name)
			}
		}
	}
}

// newPlugin picks a plugin p does not have yet (never the planted one), or "".
func (g *gen) newPlugin(p *project) string {
	var choice []weighted
	for _, pl := range plugins {
		if !slices.Contains(p.plugins, any(pl.name)) {
			choice = append(choice, weighted{pl.name, pl.p})
		}
	}
	if len(choice) == 0 {
		return ""
	}
	return p.rng.pick(choice)
}

// adminBuild builds the admin panel from t on m: didBuildAdmin when it is done, or the
// planted crash. It returns when the build ended and whether it succeeded.
func (g *gen) adminBuild(p *project, m *machine, sess string, t, delay int64) (int64, bool) {
	r := p.rng
	d := r.ms(45_000, 0.4)
	if releases[p.rel].version == errorVersion && p.vulnerable && r.chance(errorRate) {
		t += int64(float64(d) * r.between(0.2, 0.8))
		g.add(p, m, sess, "didFailWithError", t, delay, pstr("code", errorCode), none)
		return t, false
	}
	g.add(p, m, sess, "didBuildAdmin", t+d, delay, pnum("durationMs", d), none)
	return t + d, true
}

// ciRuns makes one to three CI pipelines on m: install, build, sometimes an end-to-end run
// of the server.
func (g *gen) ciRuns(p *project, m *machine, ds int64) {
	r := p.rng
	for k := 1 + r.IntN(3); k > 0; k-- {
		s := g.workTime(p, ds)
		sess := r.newUUID()
		install := r.ms(40_000, 0.5)
		g.add(p, m, sess, "didInstallDependencies", s+install, 0, pnum("durationMs", install), none)
		end, ok := g.adminBuild(p, m, sess, s+install+r.ms(5_000, 0.5), 0)
		if ok && r.chance(0.5) {
			start := r.ms(5_000, 0.4)
			g.add(p, m, sess, "didStartServer", end+start, 0, pnum("durationMs", start), none)
		}
		if r.chance(0.03) {
			code := "E_DB_CONNECT"
			if r.chance(0.5) {
				code = "E_MIGRATION_FAILED"
			}
			g.add(p, m, sess, "didFailWithError", end+r.ms(20_000, 0.5), 0, pstr("code", code), none)
		}
	}
}

// serverDay makes a day of a production or staging server: sometimes a deploy (build and
// restart, which starts a new session), the daily ping, the editors' use of features and
// the odd error. The first day deploys; a server whose deploy crashed is not running.
func (g *gen) serverDay(p *project, m *machine, ds int64) {
	r := p.rng
	deployP, use := 0.12, 1.0
	if m.kind == kindStaging {
		deployP, use = 0.25, 0.3
	}
	old, cur := m.session, ""
	var deployAt int64 = math.MaxInt64
	if old == "" || r.chance(deployP) {
		sess := r.newUUID()
		end, ok := g.adminBuild(p, m, sess, g.workTime(p, ds), 0)
		if ok {
			start := r.ms(7_000, 0.5)
			deployAt = end + start
			g.add(p, m, sess, "didStartServer", deployAt, 0, pnum("durationMs", start), none)
			cur = sess
		}
	}
	// session returns the process running at t, or "".
	session := func(t int64) string {
		if cur != "" && t >= deployAt {
			return cur
		}
		return old
	}
	ping := ds + m.pingMin*minuteMs + r.Int64N(2*minuteMs)
	if session(ping) == "" && cur != "" {
		ping = deployAt + 2*secondMs
	}
	if s := session(ping); s != "" {
		g.add(p, m, s, "ping", ping, 0, none, none)
	}
	for _, fi := range p.features {
		f := features[fi]
		if r.chance(f.prod * use) {
			t := g.workTime(p, ds)
			if s := session(t); s != "" {
				g.add(p, m, s, "didUseFeature", t, 0, pstr("feature", f.name), none)
			}
		}
	}
	if r.chance(0.015) {
		t := ds + int64(r.between(0, 24)*float64(hourMs))
		if s := session(t); s != "" {
			g.add(p, m, s, "didFailWithError", t, 0, pstr("code", r.pick(runtimeErrors)), none)
		}
	}
	if cur != "" {
		m.session = cur
	}
}

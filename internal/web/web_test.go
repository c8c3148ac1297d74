package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
)

// The pages are checked here on hand-built reports, for what they show and
// how they guard it; e2e/browser_test.go opens them in Chromium on the
// reports of a real store.

// reports answers every report with a fixed, hand-built value.
type reports struct {
	mu    sync.Mutex // the cohort page runs two reports at once
	calls []string
	err   error
	empty bool
	// hidden: with empty, the window has 40 active projects and 3 buckets
	// suppressed, rather than no project at all.
	hidden bool
	// nulls: numbers inside published rows are not published (null in
	// the JSON): setup quantiles, cohort sizes, a plugin's previous
	// window, a runtime's production share.
	nulls bool
}

func (f *reports) Run(_ context.Context, name string, p insights.Params) (*insights.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s %s%s", name, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), p.Feature, p.Event))
	if f.err != nil {
		return nil, f.err
	}
	r := &insights.Report{Report: name, From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly), K: 5, ActiveProjects: 40}
	if f.empty && !f.hidden {
		r.ActiveProjects = 0
	}
	if f.hidden {
		r.Suppressed = 3
	}
	switch name {
	case "overview":
		r.Summary = insights.OverviewSummary{Machines: 55, Events: 12345, CIShare: 0.25}
		r.Rows = []insights.OverviewRow{{Dimension: "environment", Value: "development", Projects: 30, Share: 0.75},
			{Dimension: "os", Value: "<linux>", Projects: 20, Share: 0.5}}
		r.Series = []insights.OverviewPoint{{Date: "2026-11-01", Events: 100, ActiveProjects: 10}, {Date: "2026-11-02", Events: 300, ActiveProjects: 12}, {Date: "2026-11-03", Events: 40, ActiveProjects: 6, Partial: true}}
	case "features":
		r.Summary, r.Series = insights.FeaturesSummary{}, []insights.FeaturePoint{{Week: "2026-11-02", Feature: "releases", Projects: 9, Adoption: 0.3}}
		r.Rows = []insights.FeatureRow{{Feature: "releases", Projects: 12, Adoption: 0.3}, {Feature: "i18n", Projects: 6, Adoption: 0.15}}
	case "cohort":
		r.Summary = insights.CohortSummary{Cohort: ptr(12), Rest: ptr(28), Feature: p.Feature, Event: p.Event, Test: "two-proportion z-test"}
		r.Rows = []insights.CohortRow{{Attribute: "plugin", Value: "seo", CohortProjects: 6, RestProjects: 5, CohortShare: 0.5, RestShare: 0.18, Lift: 2.8, PValue: 0.01, QValue: 0.02, Significant: true, Direction: "more"},
			{Attribute: "os", Value: "windows", CohortProjects: 5, RestProjects: 20, CohortShare: 0.42, RestShare: 0.71, Lift: 0.58, PValue: 0.04, Direction: "less"}}
		r.Series = []insights.CohortPoint{}
	case "setup":
		r.Summary = insights.SetupSummary{Started: 20, Completed: 18, CompletionRate: 0.9, Within: "168h", P50Ms: ptr[int64](90_000), P75Ms: ptr[int64](200_000), P90Ms: ptr[int64](400_000),
			Regression: insights.SetupRegression{Tested: true, Test: "Mann-Whitney U (p50) and binomial test", PValue: 0.5, LastWeek: "2026-11-16",
				Where: []insights.SetupRegressionDim{{By: "os", Value: "windows", Quantile: "p90", After: 3_000_000, Before: 1_200_000, P: 0.004}}, WhereFrom: "2026-11-09"},
			Histogram: []insights.SetupBucket{{FromMs: 0, ToMs: 60_000, Projects: ptr(5)}, {FromMs: 60_000, ToMs: 120_000}, {FromMs: 300_000, ToMs: 600_000, Projects: ptr(13)}},
			TopErrors: []insights.SetupErrorCount{{Code: "E_DB", Projects: 2}}}
		r.Rows = []insights.SetupRow{{Dimension: "os", Value: "linux", Projects: 20, P50Ms: ptr[int64](90_000), P90Ms: ptr[int64](400_000), CompletionRate: 0.9}}
		r.Series = []insights.SetupPoint{{Week: "2026-11-02", Started: 10, Completed: 9, P50Ms: ptr[int64](80_000), P75Ms: ptr[int64](100_000), P90Ms: ptr[int64](300_000)}}
	case "errors":
		r.Summary = insights.ErrorsSummary{}
		r.Rows = []insights.ErrorRow{{Code: "E_DB", Events: 50, Projects: 7, FirstSeen: "2026-10-01", LastSeen: "2026-11-20", TopVersion: "5.4.0",
			Attribution: []insights.ErrorAttribution{{By: "productVersion", Value: "5.4.0", Projects: 7, Share: 1, BaseShare: 0.5, Lift: 2, P: 0.001}}}}
		r.Series = []insights.ErrorPoint{{Week: "2026-11-02", Code: "E_DB", Events: 50, Projects: 7}}
	case "plugins":
		r.Summary, r.Series = insights.PluginsSummary{PreviousActiveProjects: 20, Test: "two-proportion z-test"}, []insights.PluginPoint{}
		r.Rows = []insights.PluginRow{{Plugin: "seo", Projects: 10, Share: 0.25, PreviousProjects: ptr(6), Change: ptr(4), PreviousShare: ptr(0.3), ShareChange: ptr(-0.05), PValue: 0.6, QValue: 0.6}}
	case "runtimes":
		r.Summary = insights.RuntimesSummary{}
		r.Rows = []insights.RuntimeRow{{Runtime: "node", Major: "20", Projects: 30, Share: 0.75, ProductionShare: ptr(0.5), OtherShare: ptr(0.8)},
			{Runtime: "node", Major: "20", Version: "20.11", Projects: 25, Share: 0.62}}
		r.Series = []insights.RuntimePoint{{Week: "2026-11-02", Runtime: "node", Major: "20", Share: 0.75}}
	default:
		return nil, fmt.Errorf("%w %q", insights.ErrUnknownReport, name)
	}
	if f.nulls {
		switch x := r.Summary.(type) {
		case insights.SetupSummary:
			x.P50Ms, x.P75Ms, x.P90Ms = nil, nil, nil
			// Too few setups for any regression test to run.
			x.Regression = insights.SetupRegression{Test: x.Regression.Test, PValue: 1, P50PValue: 1, P90PValue: 1,
				LastWeek: "2026-11-16", Where: []insights.SetupRegressionDim{}}
			r.Summary = x
			r.Rows.([]insights.SetupRow)[0].P90Ms = nil
		case insights.CohortSummary:
			x.Cohort, x.Rest = nil, nil
			r.Summary, r.Rows = x, []insights.CohortRow{}
		case insights.PluginsSummary:
			pr := &r.Rows.([]insights.PluginRow)[0]
			pr.PreviousProjects, pr.Change, pr.PreviousShare, pr.ShareChange = nil, nil, nil, nil
		case insights.RuntimesSummary:
			r.Rows.([]insights.RuntimeRow)[0].ProductionShare = nil
		}
	}
	if f.empty {
		r.Rows, r.Series = emptyOf(r.Rows), emptyOf(r.Series)
		if s, ok := r.Summary.(insights.SetupSummary); ok {
			s.Histogram, s.TopErrors = nil, nil
			r.Summary = s
		}
	}
	return r, nil
}

// emptyOf returns an empty slice of the type of rows.
func emptyOf(rows any) any {
	switch rows.(type) {
	case []insights.OverviewRow:
		return []insights.OverviewRow{}
	case []insights.OverviewPoint:
		return []insights.OverviewPoint{}
	case []insights.FeatureRow:
		return []insights.FeatureRow{}
	case []insights.FeaturePoint:
		return []insights.FeaturePoint{}
	case []insights.CohortRow:
		return []insights.CohortRow{}
	case []insights.SetupRow:
		return []insights.SetupRow{}
	case []insights.SetupPoint:
		return []insights.SetupPoint{}
	case []insights.ErrorRow:
		return []insights.ErrorRow{}
	case []insights.ErrorPoint:
		return []insights.ErrorPoint{}
	case []insights.PluginRow:
		return []insights.PluginRow{}
	case []insights.RuntimeRow:
		return []insights.RuntimeRow{}
	case []insights.RuntimePoint:
		return []insights.RuntimePoint{}
	}
	return rows
}

const token = "the-admin-token"

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func newHandler(t *testing.T, rep Reporter) (*Handler, *time.Time) {
	t.Helper()
	p := plan.Default()
	clock := now
	h, err := New(Config{Reports: rep, Plan: p, Authorize: func(s string) bool { return s == token }, Key: []byte("key"),
		Now: func() time.Time { return clock }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h, &clock
}

func serve(h http.Handler, method, target string, body url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	for _, p := range Routes {
		mux.Handle(p, h)
	}
	mux.ServeHTTP(w, r)
	return w
}

func signIn(t *testing.T, h *Handler) *http.Cookie {
	t.Helper()
	w := serve(h, "POST", "/signin", url.Values{"token": {token}, "next": {"/plugins?last=90d"}}, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/plugins?last=90d" {
		t.Fatalf("sign in: %d to %q, want 303 to /plugins?last=90d", w.Code, w.Header().Get("Location"))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("sign in set %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

func TestSignIn(t *testing.T) {
	h, clock := newHandler(t, &reports{})
	w := serve(h, "GET", "/errors?last=7d", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin?next="+url.QueryEscape("/errors?last=7d") {
		t.Fatalf("signed out: %d to %q, want 303 to the sign-in form", w.Code, w.Header().Get("Location"))
	}
	for _, bad := range []string{"", "wrong", token + "x"} {
		w := serve(h, "POST", "/signin", url.Values{"token": {bad}}, nil)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "token:") || len(w.Result().Cookies()) != 0 {
			t.Errorf("token %q: %d, cookies %v; want 401, a message naming the token, no cookie", bad, w.Code, w.Result().Cookies())
		}
	}
	c := signIn(t, h)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != int(sessionTTL/time.Second) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP, 30 days", c)
	}
	if strings.Contains(c.Value, token) {
		t.Error("the cookie carries the token")
	}
	if w := serve(h, "GET", "/errors", nil, c); w.Code != http.StatusOK {
		t.Fatalf("signed in: /errors answered %d", w.Code)
	}
	tampered := *c
	tampered.Value = c.Value[:len(c.Value)-2] + "AA"
	later := *c
	exp, _, _ := strings.Cut(c.Value, ".")
	later.Value = "9" + exp + c.Value[len(exp):] // a later expiry with the old MAC
	for name, bad := range map[string]*http.Cookie{"tampered": &tampered, "extended": &later} {
		if w := serve(h, "GET", "/errors", nil, bad); w.Code != http.StatusSeeOther {
			t.Errorf("%s cookie: %d, want the sign-in redirect", name, w.Code)
		}
	}
	*clock = clock.Add(sessionTTL + time.Second)
	if w := serve(h, "GET", "/errors", nil, c); w.Code != http.StatusSeeOther {
		t.Errorf("expired session: %d, want the sign-in redirect", w.Code)
	}
	w = serve(h, "POST", "/signout", url.Values{}, c)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 || w.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign out: %d, cookies %v; want the cookie removed", w.Code, w.Result().Cookies())
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	h, _ := newHandler(t, &reports{})
	r := httptest.NewRequest("POST", "/signin", strings.NewReader("token="+token))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Fatalf("over TLS the cookie is %v, want Secure", c)
	}
}

func TestSignInStaysOnSite(t *testing.T) {
	for next, want := range map[string]string{
		"/setup?by=os":          "/setup?by=os",
		"//evil.example/":       "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
		"javascript:alert(1)":   "/",
		"setup":                 "/",
		"":                      "/",
	} {
		h, _ := newHandler(t, &reports{})
		w := serve(h, "POST", "/signin", url.Values{"token": {token}, "next": {next}}, nil)
		if got := w.Header().Get("Location"); got != want {
			t.Errorf("next %q: went to %q, want %q", next, got, want)
		}
	}
}

// Every page draws its charts from its report, with the window of the query.
func TestPages(t *testing.T) {
	rep := &reports{}
	h, _ := newHandler(t, rep)
	c := signIn(t, h)
	want := map[string][]string{
		"/":                        {`id="events-per-day"`, `id="projects-per-day"`, `id="projects-by"`, "12,345", "25.0%", "&lt;linux&gt;", `class="dot partial mark s0"`, `class="line partial mark s0"`, "Hollow points and dashed lines: partial periods"},
		"/features":                {`id="adoption"`, `id="adoption-weekly"`, "releases", "30.0%"},
		"/cohort":                  {`id="more-likely"`, `id="less-likely"`, "plugin seo (2.80×)", `value="feature:releases" selected`, `<table class="muted">`, "latest event in the window"},
		"/setup":                   {`id="setup-histogram"`, `id="setup-weekly"`, `id="setup-by"`, `id="setup-errors"`, "1 min 30 s", "Mann-Whitney U", "Yes, on operating system windows", "operating system windows: p90 50 min, was 20 min (p = 0.004)", `class="kpi wide verdict"`, `class="bar hidden"`, "1 min–2 min: hidden: fewer than", "Dashed outlines: buckets hidden for privacy"},
		"/errors":                  {`id="errors-projects"`, `id="errors-weekly"`, "E_DB", "5.4.0 (×2.0)", "20 Nov 2026", "(before the window)"},
		"/plugins":                 {`id="plugins-projects"`, "seo", "-5.0 pp (&#43;4 projects)", "30.0%"},
		"/runtimes":                {`id="runtime-majors"`, `id="runtime-minors"`, `id="runtime-weekly"`, "node 20.11"},
		"/runtimes?env=production": {"Share of projects per runtime major, production", "50.0%"},
	}
	for path, needles := range want {
		w := serve(h, "GET", path, nil, c)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d\n%s", path, w.Code, body)
			continue
		}
		for _, n := range needles {
			if !strings.Contains(body, n) {
				t.Errorf("%s: no %q in the page", path, n)
			}
		}
		if strings.Contains(body, "<linux>") {
			t.Errorf("%s: a value from the data is not escaped", path)
		}
		if n := strings.Count(body, `class="chart"`); n == 0 {
			t.Errorf("%s: no chart", path)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	// The window: a preset, custom dates, and the cohort picked.
	rep.calls = nil
	serve(h, "GET", "/plugins?last=7d", nil, c)
	serve(h, "GET", "/plugins?last=custom&from=2026-10-01&to=2026-10-31", nil, c)
	serve(h, "GET", "/cohort?last=90d&cohort=event:didInstallPlugin", nil, c)
	wantCalls := []string{"plugins 2026-11-23 2026-11-29 ", "plugins 2026-10-01 2026-10-31 ",
		"features 2026-09-01 2026-11-29 didInstallPlugin", "cohort 2026-09-01 2026-11-29 didInstallPlugin"}
	if got := strings.Join(rep.calls, "|"); got != strings.Join(wantCalls, "|") &&
		got != strings.Join([]string{wantCalls[0], wantCalls[1], wantCalls[3], wantCalls[2]}, "|") {
		t.Errorf("reports run: %q, want %q", rep.calls, wantCalls)
	}
}

func TestPageErrors(t *testing.T) {
	rep := &reports{}
	h, _ := newHandler(t, rep)
	c := signIn(t, h)
	for path, want := range map[string]struct {
		code int
		msg  string
	}{
		"/plugins?last=5y":                     {400, "last: expected a number of days like 30d"},
		"/plugins?last=custom&from=2026-13-01": {400, "from:"},
		"/":                                    {200, ""},
		"/?by=colour":                          {400, "by: expected one of environment, os, productVersion"},
		"/cohort?cohort=plugin:seo":            {400, "cohort: expected feature:NAME or event:NAME"},
		"/runtimes?env=moon":                   {400, "env: expected one of all, production, other"},
		"/nope":                                {404, "There is no page here"},
		"/overview":                            {404, "There is no page here"},
	} {
		w := serve(h, "GET", path, nil, c)
		if w.Code != want.code || !strings.Contains(w.Body.String(), want.msg) {
			t.Errorf("%s: %d, want %d with %q", path, w.Code, want.code, want.msg)
		}
	}
	rep.err = errors.New("disk on fire")
	w := serve(h, "GET", "/plugins", nil, c)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("a failing report: %d; the page must say it failed without its internals", w.Code)
	}
	h2, _ := newHandler(t, nil)
	if w := serve(h2, "GET", "/plugins", nil, signIn(t, h2)); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no reports") {
		t.Errorf("no reports: %d", w.Code)
	}
}

// An empty window gives pages that say so instead of empty charts.
func TestEmptyWindow(t *testing.T) {
	h, _ := newHandler(t, &reports{empty: true})
	c := signIn(t, h)
	for _, p := range pages {
		w := serve(h, "GET", p.url, nil, c)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", p.url, w.Code)
			continue
		}
		body := w.Body.String()
		if strings.Contains(body, "<svg") {
			t.Errorf("%s: draws a chart with no data", p.url)
		}
		if !strings.Contains(body, "Nothing to show yet: 0 projects sent events in this window. At least 5 projects must have sent events") {
			t.Errorf("%s: does not say what a chart needs", p.url)
		}
	}
	// Projects, but every bucket under k: each empty chart says they are
	// hidden, not that there is nothing.
	h, _ = newHandler(t, &reports{empty: true, hidden: true})
	c = signIn(t, h)
	w := serve(h, "GET", "/errors", nil, c)
	if body := w.Body.String(); !strings.Contains(body, "Hidden: fewer than 5 projects in each bucket of this chart (3 buckets hidden") ||
		strings.Contains(body, "No data in this window.") {
		t.Errorf("/errors with every bucket hidden does not say so:\n%s", body)
	}
}

func ptr[T any](v T) *T { return &v }

// A number the report did not publish (null in its JSON) says so where it
// would stand, and is never shown as 0: runtimes "In production", the
// cohort's sizes, setup quantiles, a plugin's previous window; and a
// regression test that could not run is "not known yet", never "No".
func TestHiddenNumbersSaySo(t *testing.T) {
	h, _ := newHandler(t, &reports{nulls: true})
	c := signIn(t, h)
	for _, tc := range []struct {
		url      string
		hidden   int // places that must say so
		notShown []string
		says     []string
	}{
		{"/runtimes?env=production", 1, []string{`"num">0.0%<`, `"num">0%<`}, nil},
		{"/cohort?feature=releases", 2, []string{`"kpi-value">0<`}, nil},
		{"/setup", 4, []string{`"kpi-value">0 ms<`, `"kpi-value">0<`, `"num">0 ms<`, `"kpi-value">No<`},
			[]string{"Not known yet", "it needs at least 5 completed setups"}},
		{"/plugins", 3, []string{"+0.0 pp", `"num">0<`}, nil},
	} {
		w := serve(h, "GET", tc.url, nil, c)
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("%s: %d\n%s", tc.url, w.Code, body)
		}
		if n := strings.Count(body, "hidden: fewer than 5 projects"); n < tc.hidden {
			t.Errorf("%s: says %d times that a number is hidden, want at least %d:\n%s", tc.url, n, tc.hidden, body)
		}
		for _, z := range tc.says {
			if !strings.Contains(body, z) {
				t.Errorf("%s: does not say %q", tc.url, z)
			}
		}
		for _, z := range tc.notShown {
			if strings.Contains(body, z) {
				i := strings.Index(body, z)
				t.Errorf("%s: shows %q for a hidden number: …%s…", tc.url, z, body[max(0, i-300):i+20])
			}
		}
	}
}

func TestAssets(t *testing.T) {
	h, _ := newHandler(t, &reports{})
	for name, a := range h.assets {
		w := serve(h, "GET", "/assets/"+name, nil, nil)
		if w.Code != http.StatusOK || w.Body.Len() != len(a.body) || w.Header().Get("Content-Type") == "application/octet-stream" {
			t.Errorf("%s: %d, %d bytes, %s", name, w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
		}
		r := httptest.NewRequest("GET", "/assets/"+name, nil)
		r.Header.Set("If-None-Match", w.Header().Get("ETag"))
		rw := httptest.NewRecorder()
		mux := http.NewServeMux()
		mux.Handle("GET /assets/{file}", h)
		mux.ServeHTTP(rw, r)
		if rw.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", name, rw.Code)
		}
	}
	if len(h.assets) < 3 {
		t.Errorf("%d assets embedded, want the stylesheet, the script and the icon", len(h.assets))
	}
	if w := serve(h, "GET", "/assets/missing.js", nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("a missing asset: %d", w.Code)
	}
	// Nothing on the page comes from elsewhere.
	w := serve(h, "GET", "/signin", nil, nil)
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(w.Body.String(), -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("the sign-in page links to %q", m[1])
		}
	}
}

func TestLineChart(t *testing.T) {
	svg := string(lineChart{X: []string{"a", "b", "c", "d"}, Format: count, Ticks: wholeTicks,
		Series: []series{{Name: "one", Values: []float64{0, 10, math.NaN(), 40}}, {Name: "<two>", Values: []float64{5, 5, 5, 5}}}}.svg("label"))
	if n := strings.Count(svg, `class="dot mark`); n != 7 {
		t.Errorf("%d points drawn, want 7 (one value is missing)", n)
	}
	// The gap splits the first line: a segment of two points, then a lone
	// point that only its dot shows.
	if !regexp.MustCompile(`class="line mark s0" d="M[0-9. ]+L[0-9. ]+"`).MatchString(svg) {
		t.Errorf("the first series is not one segment before its gap:\n%s", svg)
	}
	// A partial last period: its dots are hollow and the lines to it dashed,
	// the rest solid.
	part := string(lineChart{X: []string{"a", "b", "c"}, Format: count, Partial: []bool{false, false, true},
		Series: []series{{Name: "one", Values: []float64{10, 10, 2}}}}.svg("label"))
	solid := regexp.MustCompile(`class="line mark s0" d="M64.0 [0-9.]+L384.0 [0-9.]+"`)
	dashed := regexp.MustCompile(`class="line partial mark s0" d="M384.0 [0-9.]+L704.0 [0-9.]+"`)
	if !solid.MatchString(part) || !dashed.MatchString(part) || strings.Count(part, `class="dot partial mark s0"`) != 1 ||
		strings.Count(part, `class="dot mark s0"`) != 2 || !strings.Contains(part, "c: 2 (partial)") {
		t.Errorf("a partial last point is not drawn apart:\n%s", part)
	}
	if strings.Contains(svg, "<two>") || !strings.Contains(svg, "&lt;two&gt;") {
		t.Error("series names are not escaped")
	}
	// 40 is the top of a 0–40 axis: its dot sits on the top grid line.
	top := regexp.MustCompile(`<line class="grid" x1="[0-9.]+" x2="[0-9.]+" y1="([0-9.]+)"`).FindAllStringSubmatch(svg, -1)
	if len(top) == 0 || !strings.Contains(svg, `cy="`+top[len(top)-1][1]+`" r="2.5"><title>one, d: 40</title>`) {
		t.Errorf("the largest value is not on the top line:\n%s", svg)
	}
}

func TestBarChart(t *testing.T) {
	svg := string(barChart{Rows: []bar{{"a", []float64{1}}, {"b", []float64{0.5}}, {"c", []float64{0}}}, Format: percent, Max: 1}.svg("label"))
	widths := regexp.MustCompile(`<rect class="bar mark s0" x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)"`).FindAllStringSubmatch(svg, -1)
	if len(widths) != 3 || widths[0][1] != "386.0" || widths[1][1] != "193.0" || widths[2][1] != "0.0" {
		t.Errorf("bar widths %v, want 386 (full), 193 (half), 0", widths)
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct {
		v         float64
		kind      ticks
		top, step float64
	}{
		{0, anyTicks, 1, 0.25}, {0, wholeTicks, 1, 1}, {1, wholeTicks, 1, 1}, {3, wholeTicks, 3, 1},
		{0.37, anyTicks, 0.4, 0.1}, {5900, wholeTicks, 6000, 2000}, {987, wholeTicks, 1000, 250},
		{2_172_000, durationTicks, 2_400_000, 600_000}, {45_000, durationTicks, 50_000, 10_000}, {100_000, durationTicks, 120_000, 30_000},
	} {
		top, step := niceScale(c.v, c.kind)
		if top != c.top || step != c.step {
			t.Errorf("niceScale(%v, %d) = %v, %v; want %v, %v", c.v, c.kind, top, step, c.top, c.step)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{count(0), "0"}, {count(999), "999"}, {count(1000), "1,000"}, {count(-1234567), "-1,234,567"}, {count(math.NaN()), "–"},
		{percent(0), "0%"}, {percent(0.0004), "<0.1%"}, {percent(0.4234), "42.3%"}, {percent(1), "100.0%"}, {percent(0.9997), ">99.9%"},
		{duration(0), "0"}, {duration(850), "850 ms"}, {duration(12_400), "12 s"}, {duration(1500), "1.5 s"},
		{duration(270_000), "4 min 30 s"}, {duration(3_600_000), "1 h"}, {duration(7_500_000), "2 h 5 min"}, {duration(3 * 86_400_000), "3 d"},
		{lift(3.0149), "3.01×"}, {lift(math.Inf(1)), "∞"}, {pvalue(0.0001), "< 0.001"}, {pvalue(0.04212), "0.042"},
		{signed(4), "+4"}, {signed(-1200), "−1,200"}, {signed(0), "0"},
		{shortDate("2026-11-02"), "Nov 2"}, {longDate("2026-11-02"), "2 Nov 2026"}, {shortDate("week 3"), "week 3"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Sign-out ends the session on the server: the cookie, copied before, no
// longer opens a page after it; other sessions go on.
func TestSignOutEndsSession(t *testing.T) {
	h, _ := newHandler(t, &reports{})
	c, other := signIn(t, h), signIn(t, h)
	if c.Value == other.Value {
		t.Fatal("two sign-ins got the same session")
	}
	copied := *c
	if w := serve(h, "POST", "/signout", url.Values{}, c); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", w.Code)
	}
	if w := serve(h, "GET", "/errors", nil, &copied); w.Code != http.StatusSeeOther {
		t.Errorf("a cookie copied before sign-out: /errors answered %d, want the sign-in redirect", w.Code)
	}
	if w := serve(h, "GET", "/errors", nil, other); w.Code != http.StatusOK {
		t.Errorf("another session after one signed out: %d, want 200", w.Code)
	}
}

// A form on another site cannot sign the browser out (or in): requests that
// change state must come from the dashboard's own origin, as the browser's
// Sec-Fetch-Site or Origin header says.
func TestCrossSiteRequestsRefused(t *testing.T) {
	h, _ := newHandler(t, &reports{})
	c := signIn(t, h)
	send := func(path string, body url.Values, headers map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(c)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for name, hdr := range map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site": "same-site"},
		"Origin of another host":    {"Origin": "https://evil.example"},
	} {
		for _, path := range []string{"/signout", "/signin"} {
			if w := send(path, url.Values{"token": {token}}, hdr); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
				t.Errorf("%s POST %s: %d, cookies %v; want 403 and no cookie", name, path, w.Code, w.Result().Cookies())
			}
		}
		if w := serve(h, "GET", "/errors", nil, c); w.Code != http.StatusOK {
			t.Fatalf("after a refused cross-site sign-out (%s) the session ended: %d", name, w.Code)
		}
	}
	for name, hdr := range map[string]map[string]string{
		"Sec-Fetch-Site same-origin": {"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"},
		"Origin of this host":        {"Origin": "http://example.com"},
	} {
		if w := send("/signin", url.Values{"token": {token}}, hdr); w.Code != http.StatusSeeOther {
			t.Errorf("%s POST /signin: %d, want 303", name, w.Code)
		}
	}
	if w := send("/signout", url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin"}); w.Code != http.StatusSeeOther {
		t.Errorf("same-origin sign-out: %d, want 303", w.Code)
	}
}

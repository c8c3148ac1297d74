package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The dashboard in a real browser: headless Chromium signs in with the admin
// token, opens every report page of a demo data directory, and checks that
// each chart drew data, that the controls work, that nothing was loaded from
// elsewhere and that the console stayed free of errors. Screenshots of every
// page go to e2e/screenshots/.

// chromium finds the browser: $CHROMIUM, else Debian's chromium on the PATH.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chartCheck is what the page says of one figure.
type chartCheck struct {
	ID, Caption, Kind string
	Empty             bool
	Marks, Drawn      int  // data elements, and those with a visible size
	Labelled          bool // the SVG is an image with a label
}

// checkCharts measures every figure of the page in the browser's layout.
const checkCharts = `Array.from(document.querySelectorAll("figure.chart")).map(f => {
	const svg = f.querySelector("svg.plot");
	const marks = svg ? Array.from(svg.querySelectorAll(".mark")) : [];
	const drawn = marks.filter(m => {
		const b = m.getBoundingClientRect();
		if (m.tagName === "path") return m.getTotalLength() > 0 && (b.width > 0 || b.height > 0);
		return b.width > 0 && b.height > 0;
	});
	return {ID: f.id, Caption: (f.querySelector("figcaption") || {}).textContent || "", Kind: f.dataset.kind,
		Empty: f.classList.contains("empty"), Marks: marks.length, Drawn: drawn.length,
		Labelled: !!svg && svg.getAttribute("role") === "img" && (svg.getAttribute("aria-label") || "").length > 10};
})`

// checkPage finds what a page loaded and which of its controls lack a label.
const checkPage = `({
	resources: performance.getEntriesByType("resource").map(e => e.initiatorType + " " + e.name),
	unlabelled: Array.from(document.querySelectorAll("main select, main input:not([type=hidden])"))
		.filter(el => !el.closest("label") && !document.querySelector("label[for='" + el.id + "']")).map(el => el.name),
	sessionCookieVisible: document.cookie.includes("abacus_session"),
	h1: (document.querySelector("h1") || {}).textContent || "",
	window: (document.querySelector(".window") || {}).textContent || "",
	error: (document.querySelector(".error") || {}).textContent || ""
})`

type pageCheck struct {
	Resources            []string
	Unlabelled           []string
	SessionCookieVisible bool
	H1, Window, Error    string
}

func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo data and starts a browser")
	}
	browser := chromium()
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium: .ci/run installs Debian's chromium package")
		}
		t.Skip("no Chromium on this machine (install Debian's chromium, or set CHROMIUM)")
	}
	shots := filepath.Join("screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The dashboard is under test, not data races: the demo loads at full
	// speed without the race detector (under it, a busy CI machine takes
	// minutes for the 210,000 events).
	srv := startServer(t, serveOpts{args: []string{"--demo"}, bin: plainBinary(t)})
	waitForDemo(t, srv)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}

	// Everything the console says that is a warning, an error or an
	// exception, from here on.
	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s)", m, m.URL))
				mu.Unlock()
			}
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Signed out, every page leads to the sign-in form, which keeps the way back.
	do("open a page signed out", chromedp.Navigate(srv.URL+"/plugins?last=90d"), chromedp.WaitVisible(chromedp.ID("token")))
	loc := get(t, ctx, "location", chromedp.Location())
	if u, _ := url.Parse(loc); u.Path != "/signin" || u.Query().Get("next") != "/plugins?last=90d" {
		t.Fatalf("signed out, /plugins led to %s, want /signin?next=/plugins?last=90d", loc)
	}
	screenshot(t, ctx, filepath.Join(shots, "signin.png"))

	// A wrong token is refused with a message that names the field. The
	// sign-in page answers 401 on purpose; the browser logs that as a failed
	// resource load, so that entry is dropped before the next checks.
	do("sign in with a wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := get(t, ctx, "the error", chromedp.Text(chromedp.CSS(".error"))); !strings.Contains(msg, "token") {
		t.Errorf("wrong token: the message %q does not name the token", msg)
	}
	time.Sleep(100 * time.Millisecond) // let the console reader catch up
	mu.Lock()
	problems = dropStatus(problems, "401")
	mu.Unlock()

	do("sign in", chromedp.SendKeys(chromedp.ID("token"), testToken), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("figure.chart")))
	loc = get(t, ctx, "location", chromedp.Location())
	if u, _ := url.Parse(loc); u.Path != "/plugins" || u.Query().Get("last") != "90d" {
		t.Fatalf("after signing in the browser is at %s, want /plugins?last=90d", loc)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	session := false
	for _, c := range cookies.Cookies {
		if c.Name == "abacus_session" {
			session = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie: HttpOnly %v, SameSite %q; want HttpOnly and Strict", c.HTTPOnly, c.SameSite)
			}
		}
	}
	if !session {
		t.Fatalf("no session cookie after signing in")
	}

	// Every report page, through the navigation.
	do("open the overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("figure.chart")))
	hrefs := get(t, ctx, "the navigation", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("nav a")).map(a => a.getAttribute("href"))`))
	if len(hrefs) != 7 {
		t.Fatalf("the navigation has %d links, want one per report (7): %v", len(hrefs), hrefs)
	}
	for _, href := range hrefs {
		do("open "+href, chromedp.Navigate(srv.URL+href), chromedp.WaitVisible(chromedp.CSS("footer")))
		charts := get(t, ctx, "the charts of "+href, chromedp.Evaluate[[]chartCheck](checkCharts))
		pc := get(t, ctx, "the page "+href, chromedp.Evaluate[pageCheck](checkPage))
		name, _, _ := strings.Cut(strings.Trim(href, "/"), "?")
		if name == "" {
			name = "overview"
		}
		screenshot(t, ctx, filepath.Join(shots, name+".png"))
		if pc.Error != "" {
			t.Errorf("%s shows an error: %s", href, pc.Error)
		}
		if len(charts) == 0 {
			t.Errorf("%s (%s) has no chart", href, pc.H1)
		}
		for _, c := range charts {
			switch {
			case c.Empty:
				t.Errorf("%s: chart %q is empty on the demo data", href, c.Caption)
				continue
			case c.Drawn == 0 || c.Drawn < c.Marks/2:
				t.Errorf("%s: chart %q drew %d of %d data marks", href, c.Caption, c.Drawn, c.Marks)
			case !c.Labelled:
				t.Errorf("%s: chart %q is not an image with a label", href, c.Caption)
			}
			do("scroll to a chart", chromedp.ScrollIntoView(chromedp.CSS("#"+c.ID+" svg")))
			png := get(t, ctx, "a chart's screenshot", chromedp.Screenshot(chromedp.CSS("#"+c.ID+" svg")))
			if n := colours(t, png); n < 3 {
				t.Errorf("%s: chart %q shows %d colours: blank", href, c.Caption, n)
			}
		}
		for _, res := range pc.Resources {
			kind, u, _ := strings.Cut(res, " ")
			if !strings.HasPrefix(u, srv.URL+"/assets/") || kind == "fetch" || kind == "xmlhttprequest" {
				t.Errorf("%s loaded %s %s: a page is one request plus its embedded assets", href, kind, u)
			}
		}
		if len(pc.Unlabelled) > 0 {
			t.Errorf("%s: controls without a label: %v", href, pc.Unlabelled)
		}
		if pc.SessionCookieVisible {
			t.Errorf("%s: the session cookie is visible to scripts", href)
		}
		t.Logf("%s: %d charts; %s", href, len(charts), pc.Window)
	}

	// The demo's planted effects as the pages show them. Errors: the
	// over-represented version of E_ADMIN_BUILD_CRASH is 5.4.0.
	do("open the errors", chromedp.Navigate(srv.URL+"/errors"), chromedp.WaitVisible(chromedp.CSS("footer")))
	row := get(t, ctx, "the E_ADMIN_BUILD_CRASH row", chromedp.Evaluate[string](
		`(Array.from(document.querySelectorAll("section.tablebox tr")).find(r => r.textContent.includes("E_ADMIN_BUILD_CRASH")) || {}).textContent || ""`))
	if !strings.Contains(row, "5.4.0 (×") {
		t.Errorf("errors: the E_ADMIN_BUILD_CRASH row does not attribute it to 5.4.0: %q", row)
	}
	do("scroll to the errors table", chromedp.ScrollIntoView(chromedp.CSS("section.tablebox")))
	shot(t, ctx, "section.tablebox", filepath.Join(shots, "errors-attribution.png"))
	// Setup: the regression card and where it says setups got slower.
	do("open the setup", chromedp.Navigate(srv.URL+"/setup"), chromedp.WaitVisible(chromedp.CSS("footer")))
	verdict := get(t, ctx, "the setup verdict", chromedp.Evaluate[string](
		`(Array.from(document.querySelectorAll(".kpi, .kpis > *")).find(k => k.textContent.includes("Slower than before")) || {}).textContent || ""`))
	t.Logf("setup: %s", strings.Join(strings.Fields(verdict), " "))
	// The demo plants setup p90 ×2.5 on windows for the last 14 days: the
	// card must say so, and point nowhere else (the runtime majors and
	// versions the windows setups ran on are slower through them alone).
	for _, place := range []string{"operating system darwin:", "operating system linux:", "runtime major ", "product version ", "all setups:"} {
		if regexp.MustCompile(regexp.QuoteMeta(place) + `[^:]*: p90`).MatchString(verdict) {
			t.Errorf("setup: the verdict %q flags %s, where nothing was planted", strings.Join(strings.Fields(verdict), " "), place)
		}
	}
	if !strings.Contains(verdict, "Yes, on operating system windows") {
		t.Errorf("setup: the verdict %q does not flag the planted windows regression", strings.Join(strings.Fields(verdict), " "))
	}
	screenshot(t, ctx, filepath.Join(shots, "setup-regression.png"))
	// Today is not over: its point is drawn hollow, the line to it dashed,
	// and the chart says so.
	do("open the overview", chromedp.Navigate(srv.URL+"/?last=14d"), chromedp.WaitVisible(chromedp.CSS("#events-per-day svg")))
	partial := get(t, ctx, "the partial points", chromedp.Evaluate[int](`document.querySelectorAll("#events-per-day .dot.partial").length`))
	dashed := get(t, ctx, "the dashed lines", chromedp.Evaluate[int](`document.querySelectorAll("#events-per-day .line.partial").length`))
	note := get(t, ctx, "the chart's note", chromedp.Evaluate[string](`(document.querySelector("#events-per-day .chartnote") || {}).textContent || ""`))
	if partial != 1 || dashed != 1 || !strings.Contains(note, "partial") {
		t.Errorf("overview: today drawn with %d hollow points and %d dashed lines, note %q; want 1, 1 and a note", partial, dashed, note)
	}
	do("scroll to the chart", chromedp.ScrollIntoView(chromedp.CSS("#events-per-day")))
	shot(t, ctx, "#events-per-day", filepath.Join(shots, "partial-day.png"))

	// The controls: a breakdown, the window and the cohort picker, changed as
	// a person would (the page submits itself on change).
	do("change the breakdown", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("select[name=by]")),
		pick("select[name=by]", "os"), waitURL("by=os"))
	if caption := get(t, ctx, "the caption", chromedp.Text(chromedp.CSS("#projects-by figcaption"))); !strings.Contains(caption, "operating system") {
		t.Errorf("breakdown by OS: the chart is %q", caption)
	}
	do("change the window", pick("select[name=last]", "90d"), waitURL("last=90d"))
	if window := get(t, ctx, "the window", chromedp.Text(chromedp.CSS(".window"))); !strings.Contains(window, "90 days") {
		t.Errorf("a 90-day window shows %q", window)
	}
	do("pick a cohort", chromedp.Navigate(srv.URL+"/cohort?last=90d"), chromedp.WaitVisible(chromedp.CSS("select[name=cohort]")),
		pick("select[name=cohort]", "feature:releases"), waitURL("cohort=feature%3Areleases"))
	labels := get(t, ctx, "the cohort's rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#more-likely text.label")).map(t => t.textContent)`))
	if len(labels) == 0 || !strings.Contains(labels[0], "plugin seo") {
		t.Errorf("the cohort of feature releases: first 'more likely' rows %v, want plugin seo first", labels)
	}
	screenshot(t, ctx, filepath.Join(shots, "cohort-releases.png"))

	// Signing out ends the session.
	do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(srv.URL+"/errors"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/signin") {
		t.Errorf("after signing out /errors opened at %s", loc)
	}

	// A fresh collector (last: it shares the session cookie's host): every
	// chart says what it needs.
	fresh := startServer(t, serveOpts{})
	do("sign in to a fresh collector", chromedp.Navigate(fresh.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testToken), chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.CSS("footer")))
	empty := get(t, ctx, "the empty charts", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("figure.chart .nodata")).map(p => p.textContent)`))
	if len(empty) == 0 {
		t.Errorf("a fresh collector's overview shows no empty chart")
	}
	for _, e := range empty {
		if !strings.Contains(e, "At least 5 projects must have sent events") {
			t.Errorf("a fresh collector's empty chart says %q, not what it needs", e)
		}
	}
	screenshot(t, ctx, filepath.Join(shots, "empty.png"))

	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
}

// get runs an action that returns a value, within a minute.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// pick chooses an option of a select as a person would: the value changes,
// then the change event fires, once.
func pick(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](`((el, v) => {
			el.value = v;
			if (el.value !== v) return false;
			el.dispatchEvent(new Event("change", {bubbles: true}));
			return true;
		})(document.querySelector(`+jsString(sel)+`), `+jsString(value)+`)`)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("%s has no option %q", sel, value)
		}
		return err
	})
}

// waitURL waits until the location contains s and the new page is there.
func waitURL(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			loc, err := chromedp.Location()(ctx, t)
			if err != nil {
				return err
			}
			if strings.Contains(loc, s) {
				_, err := chromedp.WaitVisible(chromedp.CSS("footer"))(ctx, t)
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the location never contained %q (last %s)", s, loc)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// dropStatus removes the console entries of failed loads with the status.
func dropStatus(problems []string, status string) []string {
	var out []string
	for _, p := range problems {
		if !strings.Contains(p, "status of "+status) {
			out = append(out, p)
		}
	}
	return out
}

// shot saves a screenshot of the element sel.
func shot(t *testing.T, ctx context.Context, sel, path string) {
	t.Helper()
	buf := get(t, ctx, "screenshot "+path, chromedp.Screenshot(chromedp.CSS(sel)))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	buf := get(t, ctx, "screenshot "+path, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// colours counts the distinct colours of a PNG, up to 16.
func colours(t *testing.T, b []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("chart screenshot: %v", err)
	}
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y && len(seen) < 16; y += 2 {
		for x := r.Min.X; x < r.Max.X && len(seen) < 16; x += 2 {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr >> 12, cg >> 12, cb >> 12, ca >> 12}] = true
		}
	}
	return len(seen)
}

package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
)

//go:embed templates/*.html assets/*
var files embed.FS

// Reporter computes reports; *insights.Insights is one.
type Reporter interface {
	Run(ctx context.Context, name string, p insights.Params) (*insights.Report, error)
}

// Config configures the dashboard.
type Config struct {
	// Reports computes the pages' reports; nil shows that the store has none.
	Reports Reporter
	// Plan names the product and lists the events of the cohort picker.
	Plan *plan.Plan
	// Authorize reports whether a token is the admin token; it should
	// compare in constant time.
	Authorize func(token string) bool
	// Key signs session cookies. It should change when the admin token does,
	// so that a new token ends every session made with the old one.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives report failures; nil means slog.Default().
	Logger *slog.Logger
	// Timeout bounds the reports of one page; 0 means 60 seconds.
	Timeout time.Duration
}

// Handler serves the dashboard: a page per report, the sign-in form and the
// embedded assets.
type Handler struct {
	cfg    Config
	tmpl   *template.Template
	assets map[string]asset
	csrf   *http.CrossOriginProtection

	mu       sync.Mutex       // protects sessions
	sessions map[string]int64 // live session IDs and their expiry (Unix seconds)
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// The session cookie: HttpOnly, SameSite=Strict, Secure when the request came
// over TLS, valid for sessionTTL. At most maxSessions are live at once (a
// sign-in past that ends the one closest to its expiry).
const (
	cookieName  = "abacus_session"
	sessionTTL  = 30 * 24 * time.Hour
	maxSessions = 1000
)

// New returns the dashboard's handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Plan == nil || cfg.Authorize == nil || len(cfg.Key) == 0 {
		return nil, errors.New("web: Config needs Plan, Authorize and Key")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	h := &Handler{cfg: cfg, assets: map[string]asset{}, csrf: http.NewCrossOriginProtection(), sessions: map[string]int64{}}
	names, err := fs.Glob(files, "assets/*")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		h.assets[path.Base(name)] = asset{body: body, contentType: contentType(name), etag: hex.EncodeToString(sum[:8])}
	}
	h.tmpl, err = template.New("").Funcs(template.FuncMap{
		"asset": func(name string) string { return "/assets/" + name + "?v=" + h.assets[name].etag },
	}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return h, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// Routes are the dashboard's patterns for an http.ServeMux. "GET /{page}"
// answers a page that does not exist with an HTML 404; more specific patterns
// of the same mux (GET /healthz) take precedence.
var Routes = []string{"GET /{$}", "GET /{page}", "GET /assets/{file}", "GET /signin", "POST /signin", "POST /signout"}

// ServeHTTP serves a request matched by one of Routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/assets/") {
		h.asset(w, r)
		return
	}
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Cache-Control", "no-store")
	// A request that changes state (sign-in, sign-out) must come from the
	// dashboard's own pages: a browser says where a request comes from in
	// Sec-Fetch-Site or Origin, and another site's form is refused.
	if err := h.csrf.Check(r); err != nil {
		h.cfg.Logger.Warn("dashboard: refused a cross-site request", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "cross-site request refused: "+err.Error(), http.StatusForbidden)
		return
	}
	switch {
	case r.URL.Path == "/signin" && r.Method == http.MethodPost:
		h.signIn(w, r)
	case r.URL.Path == "/signin":
		h.render(w, http.StatusOK, "signin", &view{Title: "Sign in", Product: h.cfg.Plan.Product, Next: localPath(r.URL.Query().Get("next"))})
	case r.URL.Path == "/signout":
		if id, ok := h.sessionID(r); ok {
			h.mu.Lock()
			delete(h.sessions, id)
			h.mu.Unlock()
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	default:
		h.page(w, r)
	}
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", `"`+a.etag+`"`)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	if r.Header.Get("If-None-Match") == `"`+a.etag+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

// signIn checks the posted token; a right one gets the session cookie and
// goes where it was headed.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	v := &view{Title: "Sign in", Product: h.cfg.Plan.Product, Next: localPath(r.FormValue("next"))}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" || !h.cfg.Authorize(token) {
		v.Error = "token: that is not the admin token."
		if token == "" {
			v.Error = "token: expected the admin token."
		}
		h.render(w, http.StatusUnauthorized, "signin", v)
		return
	}
	exp := h.cfg.Now().Add(sessionTTL).Unix()
	var raw [18]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	h.addSession(id, exp)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.session(exp, id), Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	next := v.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// session is the cookie value of session id, which ends at exp (Unix
// seconds): the time, the ID and a MAC of both under the key.
func (h *Handler) session(exp int64, id string) string {
	v := strconv.FormatInt(exp, 10) + "." + id
	m := hmac.New(sha256.New, h.cfg.Key)
	m.Write([]byte("abacus dashboard session\x00" + v))
	return v + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionID returns the ID of the request's session cookie when its MAC is
// right and it has not expired (whether or not it is still live).
func (h *Handler) sessionID(r *http.Request) (string, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	s, rest, _ := strings.Cut(c.Value, ".")
	id, _, _ := strings.Cut(rest, ".")
	exp, err := strconv.ParseInt(s, 10, 64)
	if err != nil || exp <= h.cfg.Now().Unix() || id == "" {
		return "", false
	}
	if !hmac.Equal([]byte(c.Value), []byte(h.session(exp, id))) {
		return "", false
	}
	return id, true
}

// addSession makes a session live, forgetting expired ones and, past
// maxSessions, the one closest to its expiry.
func (h *Handler) addSession(id string, exp int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now().Unix()
	for k, e := range h.sessions {
		if e <= now {
			delete(h.sessions, k)
		}
	}
	if len(h.sessions) >= maxSessions {
		first, firstExp := "", int64(0)
		for k, e := range h.sessions {
			if first == "" || e < firstExp {
				first, firstExp = k, e
			}
		}
		delete(h.sessions, first)
	}
	h.sessions[id] = exp
}

// SignedIn reports whether the request carries the cookie of a live
// session: signed under the key, not expired, and not ended by a sign-out.
// Sessions live in this process's memory, so a restart ends them all.
func (h *Handler) SignedIn(r *http.Request) bool {
	id, ok := h.sessionID(r)
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, live := h.sessions[id]
	return live
}

// localPath returns p when it is a path of this site (so that a sign-in link
// cannot send the browser elsewhere), else "".
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return ""
	}
	return u.RequestURI()
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, v *view) {
	var b strings.Builder
	if err := h.tmpl.ExecuteTemplate(&b, name, v); err != nil {
		h.cfg.Logger.Error("dashboard: cannot render the page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

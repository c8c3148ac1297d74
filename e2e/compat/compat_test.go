package compat

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthog/posthog-go"
	analytics "gopkg.in/segmentio/analytics-go.v3"
)

const token = "e2e-compat-admin-token-0123456789abcdef"

var binary string

func TestMain(m *testing.M) {
	binary = os.Getenv("ABACUS_BIN")
	var dir string
	if binary == "" {
		var err error
		if dir, err = os.MkdirTemp("", "abacus-compat-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binary = filepath.Join(dir, "abacus")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/abacus")
		cmd.Dir = "../.."
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "cannot build abacus:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

type server struct {
	url, dir string
	logs     bytes.Buffer
	mu       sync.Mutex
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// start runs abacus serve with the default plan plus ingestKeys.
func start(t *testing.T, keys ...string) *server {
	t.Helper()
	def, err := os.ReadFile("../../internal/plan/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(t.TempDir(), "plan.yaml")
	yaml := string(def) + "\ningestKeys: [" + strings.Join(keys, ", ") + "]\n"
	if err := os.WriteFile(planFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{url: "http://" + addr, dir: filepath.Join(t.TempDir(), "data")}
	cmd := exec.Command(binary, "serve", "--addr", addr, "--data", s.dir, "--plan", planFile)
	cmd.Env = append(os.Environ(), "ABACUS_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("abacus serve not ready:\n%s", s.logs.String())
		}
	}
}

func (s *server) admin(t *testing.T, method, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

func (s *server) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return ""
}

type exported struct {
	Event      string         `json:"event"`
	ProjectID  string         `json:"projectId"`
	Properties map[string]any `json:"properties"`
	Build      map[string]any `json:"build"`
}

func (s *server) export(t *testing.T) ([]exported, []byte) {
	t.Helper()
	raw := s.admin(t, "GET", "/api/v1/export")
	var out []exported
	for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e exported
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out, raw
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// client is one real client and what it sends.
type client struct {
	name    string
	project string
	feature string // didUseFeature's feature; "" for Strapi
	secrets []string
}

type segmentCallback struct {
	mu   sync.Mutex
	errs []string
}

func (c *segmentCallback) Success(analytics.Message) {}
func (c *segmentCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err.Error())
}

func TestRealClients(t *testing.T) {
	if _, err := os.Stat("node_modules/@strapi/core/dist/services/metrics/sender.js"); err != nil {
		t.Fatalf("npm packages missing (run npm ci --ignore-scripts in e2e/compat): %v", err)
	}
	const phKey, segKey = "phc_e2e_key", "wk_e2e_key"
	s := start(t, phKey, segKey)

	phGo := client{name: "posthog-go", project: uuid(), feature: "posthog-go",
		secrets: []string{"ph-go-user@example.com", "ph-go-distinct-4f1c", "10.11.12.13"}}
	segGo := client{name: "analytics-go", project: uuid(), feature: "analytics-go",
		secrets: []string{"seg-go-user@example.com", "seg-go-anon-77aa", "seg-go-message-1", "10.11.12.14"}}
	phNode := client{name: "posthog-node", project: uuid(), feature: "posthog-node",
		secrets: []string{"ph-node-user@example.com", "ph-node-distinct-9e2d", "10.11.12.15"}}
	segNode := client{name: "analytics-node", project: uuid(), feature: "analytics-node",
		secrets: []string{"seg-node-user@example.com", "seg-node-anon-31bb", "seg-node-message-1", "10.11.12.16"}}
	strapi := client{name: "strapi-sender", project: uuid(),
		secrets: []string{"strapi-admin@example.com", "strapi-install-5d0e"}}
	sum := sha256.Sum256([]byte("strapi-admin@example.com"))
	strapi.secrets = append(strapi.secrets, hex.EncodeToString(sum[:])) // the sender's userId
	clients := []client{phGo, segGo, phNode, segNode, strapi}

	// posthog-go: the second client retries the first one's uuid.
	phUUID := uuid()
	for round := range 2 {
		ph, err := posthog.NewWithConfig(phKey, posthog.Config{Endpoint: s.url + "/posthog", BatchSize: 10, Interval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ph.Enqueue(posthog.Capture{Uuid: phUUID, DistinctId: phGo.secrets[1], Event: "didUseFeature",
			Groups:     posthog.NewGroups().Set("project", phGo.project),
			Properties: posthog.NewProperties().Set("feature", phGo.feature).Set("email", phGo.secrets[0]).Set("$ip", phGo.secrets[2])})
		if round == 0 {
			ph.Enqueue(posthog.Identify{DistinctId: phGo.secrets[1], Properties: posthog.NewProperties().Set("email", phGo.secrets[0])})
			ph.Enqueue(posthog.Capture{DistinctId: phGo.secrets[1], Event: "undeclaredEvent", Properties: posthog.NewProperties().Set("projectId", phGo.project)})
			ph.Enqueue(posthog.Capture{DistinctId: phGo.secrets[1], Event: "ping", Properties: posthog.NewProperties().Set("projectId", phGo.project)})
		}
		if err := ph.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// analytics-go: the write key as the Basic user; the second client retries the messageId.
	for round := range 2 {
		cb := &segmentCallback{}
		a, err := analytics.NewWithConfig(segKey, analytics.Config{Endpoint: s.url + "/segment", BatchSize: 10, Interval: 50 * time.Millisecond, Callback: cb})
		if err != nil {
			t.Fatal(err)
		}
		ctx := &analytics.Context{IP: net.ParseIP(segGo.secrets[3]), UserAgent: "Go " + segGo.secrets[0], Traits: analytics.NewTraits().SetEmail(segGo.secrets[0])}
		a.Enqueue(analytics.Track{MessageId: segGo.secrets[2], AnonymousId: segGo.secrets[1], UserId: segGo.secrets[0], Event: "didUseFeature", Context: ctx,
			Properties: analytics.NewProperties().Set("feature", segGo.feature).Set("projectId", segGo.project).Set("email", segGo.secrets[0])})
		if round == 0 {
			a.Enqueue(analytics.Identify{UserId: segGo.secrets[0], Traits: analytics.NewTraits().SetEmail(segGo.secrets[0])})
			a.Enqueue(analytics.Page{AnonymousId: segGo.secrets[1], Name: "Home", Properties: analytics.NewProperties().SetURL("https://example.com/" + segGo.secrets[0])})
			a.Enqueue(analytics.Track{AnonymousId: segGo.secrets[1], Event: "ping", Properties: analytics.NewProperties().Set("projectId", segGo.project)})
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if len(cb.errs) > 0 {
			t.Fatalf("analytics-go failures: %v", cb.errs)
		}
	}

	// The Node.js clients.
	cfg, _ := json.Marshal(map[string]any{
		"url": s.url,
		"posthogNode": map[string]string{"apiKey": phKey, "project": phNode.project, "feature": phNode.feature, "uuid": uuid(),
			"email": phNode.secrets[0], "distinctId": phNode.secrets[1], "ip": phNode.secrets[2]},
		"segmentNode": map[string]string{"writeKey": segKey, "project": segNode.project, "feature": segNode.feature,
			"email": segNode.secrets[0], "userId": segNode.secrets[0], "anonymousId": segNode.secrets[1], "messageId": segNode.secrets[2], "ip": segNode.secrets[3]},
		"strapi": map[string]string{"project": strapi.project, "email": strapi.secrets[0], "installId": strapi.secrets[1]},
	})
	cmd := exec.Command("node", "clients.mjs", string(cfg))
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node clients.mjs: %v\n%s", err, outb)
	}
	var nodeOut struct{ Strapi []bool }
	if err := json.Unmarshal(bytes.TrimSpace(outb[bytes.LastIndexByte(bytes.TrimSpace(outb), '\n')+1:]), &nodeOut); err != nil {
		t.Fatalf("clients.mjs output %q: %v", outb, err)
	}
	if len(nodeOut.Strapi) != 3 || !nodeOut.Strapi[0] || !nodeOut.Strapi[1] || !nodeOut.Strapi[2] {
		t.Errorf("Strapi's sender saw failures (res.ok per event): %v", nodeOut.Strapi)
	}

	// Every acknowledged event reaches the store.
	for deadline := time.Now().Add(20 * time.Second); s.metric(t, "abacus_store_lag_events") != "0"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the store did not catch up")
		}
	}
	events, raw := s.export(t)

	// Each client's events, found by their one project.
	byProject := map[string][]exported{}
	for _, e := range events {
		byProject[e.ProjectID] = append(byProject[e.ProjectID], e)
	}
	keyed := map[string]string{} // client name → re-keyed project
	for _, e := range events {
		for _, c := range clients {
			if (c.feature != "" && e.Event == "didUseFeature" && e.Properties["feature"] == c.feature) ||
				(c.feature == "" && e.Event == "didStartServer") {
				if old, ok := keyed[c.name]; ok && old != e.ProjectID {
					t.Errorf("%s: events on two projects", c.name)
				}
				keyed[c.name] = e.ProjectID
			}
		}
	}
	counts := map[string]map[string]int{}
	for _, c := range clients {
		got := map[string]int{}
		for _, e := range byProject[keyed[c.name]] {
			got[e.Event]++
			switch e.Event {
			case "didUseFeature":
				if len(e.Properties) != 1 || e.Properties["feature"] != c.feature {
					t.Errorf("%s: didUseFeature properties %v, want only feature=%s", c.name, e.Properties, c.feature)
				}
			case "didStartServer":
				if len(e.Properties) != 1 || e.Properties["durationMs"] != 1234.0 {
					t.Errorf("%s: didStartServer properties %v, want only durationMs=1234", c.name, e.Properties)
				}
				if len(e.Build) != 1 || e.Build["database"] != "postgres" {
					t.Errorf("%s: build %v, want only database=postgres", c.name, e.Build)
				}
			default:
				if len(e.Properties) != 0 {
					t.Errorf("%s: %s properties %v, want none", c.name, e.Event, e.Properties)
				}
			}
		}
		want := map[string]int{"didUseFeature": 1, "ping": 1}
		if c.feature == "" {
			want = map[string]int{"didStartServer": 1, "ping": 1}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: stored %v, want %v (each declared event exactly once, the retry a duplicate)", c.name, got, want)
		}
		counts[c.name] = got
	}
	if len(events) != 10 {
		t.Errorf("export holds %d events, want 10", len(events))
	}
	for proto, want := range map[string]string{
		`protocol="posthog",outcome="stored"`: "4", `protocol="posthog",outcome="duplicate"`: "2",
		`protocol="posthog",outcome="not_track"`: "2", `protocol="posthog",outcome="undeclared"`: "2",
		`protocol="segment",outcome="stored"`: "4", `protocol="segment",outcome="duplicate"`: "2",
		`protocol="segment",outcome="not_track"`: "4",
		`protocol="strapi",outcome="stored"`:     "2", `protocol="strapi",outcome="undeclared"`: "1",
	} {
		if got := s.metric(t, "abacus_compat_events_total{"+proto+"}"); got != want {
			t.Errorf("abacus_compat_events_total{%s} = %q, want %s", proto, got, want)
		}
	}

	// No personal value or raw identifier in the export, the logs or any byte of the data directory.
	var secrets []string
	for _, c := range clients {
		secrets = append(secrets, c.secrets...)
		secrets = append(secrets, c.project)
	}
	secrets = append(secrets, "example.com", phKey, segKey)
	haystacks := map[string][]byte{"the export": raw, "the server's output": s.logs.Bytes()}
	filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Error(err)
			}
			haystacks[path] = b
		}
		return nil
	})
	for where, b := range haystacks {
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds %q", where, sec)
			}
		}
	}

	// Erasing a client's raw project UUID erases exactly its events.
	left := len(events)
	for _, c := range clients {
		s.admin(t, "DELETE", "/api/v1/projects/"+c.project)
		now, _ := s.export(t)
		n := 0
		for _, e := range now {
			if e.ProjectID == keyed[c.name] {
				t.Errorf("%s: events left after erasing its project", c.name)
			}
			n++
		}
		if want := left - counts[c.name]["didUseFeature"] - counts[c.name]["didStartServer"] - counts[c.name]["ping"]; n != want {
			t.Errorf("after erasing %s: %d events, want %d", c.name, n, want)
		}
		left = n
	}

	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("client %-15s stored %v", n, counts[n])
	}
}

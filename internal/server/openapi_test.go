package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type openAPIDocument struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		RequestBody struct {
			Content map[string]struct {
				Examples map[string]struct {
					Value json.RawMessage `json:"value"`
				} `json:"examples"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
}

// Every route the server registers is in GET /openapi.json, nothing else
// is, and every request example is accepted by the route it documents.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	s, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})
	resp, err := http.Get(hs.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc openAPIDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, p := range s.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok { // the catch-all that answers 404 and 405
			continue
		}
		path = strings.TrimSuffix(path, "{$}")
		registered[strings.ToLower(method)+" "+path] = true
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %q is not in openapi.json", p)
			continue
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s: no responses described", p)
		}
	}
	if len(registered) < 25 {
		t.Errorf("only %d routes registered; the check would prove little", len(registered))
	}
	examples := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which the server does not serve", method, path)
			}
			for ctype, c := range op.RequestBody.Content {
				for name, ex := range c.Examples {
					examples++
					req, _ := http.NewRequest(strings.ToUpper(method), hs.URL+path, bytes.NewReader(ex.Value))
					req.Header.Set("Content-Type", ctype)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						t.Errorf("%s %s example %q: %d %s", method, path, name, resp.StatusCode, body)
					}
					if _, ok := op.Responses[itoa(resp.StatusCode)]; !ok {
						t.Errorf("%s %s example %q: answered %d, which is not described", method, path, name, resp.StatusCode)
					}
				}
			}
		}
	}
	if examples < 10 {
		t.Errorf("%d request examples, want one per ingest route", examples)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

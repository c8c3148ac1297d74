package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// erase runs `abacus erase --project UUID [--now]`: DELETE
// /api/v1/projects/{id}[?compact=1].
func erase(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("erase", "erase --project UUID [--now] [--server URL]", stderr)
	project := fs.String("project", "", "the project's uuid, as in its package.json (required)")
	server := fs.String("server", defaultServer, "the collector's base URL (http:// assumed without a scheme)")
	now := fs.Bool("now", false, "also remove the events' bytes from disk before answering (rewrites the store's file; "+
		"without it the collector does so within 24 hours)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *project == "" {
		fs.Usage()
		return fmt.Errorf("%w: --project is required", errUsage)
	}
	var out struct {
		Deleted   int64 `json:"deleted"`
		Compacted bool  `json:"compacted"`
	}
	path := "/api/v1/projects/" + url.PathEscape(*project)
	if *now {
		path += "?compact=1"
	}
	if err := adminRequest(http.MethodDelete, *server, path, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "erased %d events of project %s\n", out.Deleted, *project)
	if out.Compacted {
		fmt.Fprintln(stdout, "their bytes are gone from the collector's disk")
	} else {
		fmt.Fprintln(stdout, "their bytes leave the collector's disk within 24 hours (--now: at once)")
	}
	return nil
}

// adminRequest calls an admin route with ABACUS_TOKEN and decodes the JSON answer.
func adminRequest(method, server, path string, out any) error {
	token := os.Getenv("ABACUS_TOKEN")
	if token == "" {
		return fmt.Errorf("%w: set ABACUS_TOKEN to the admin token (printed by the first `abacus serve`, kept in <data>/token)", errUsage)
	}
	base, err := serverURL(server)
	if err != nil {
		return err
	}
	server = base
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s answered %d: %s", server, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("%s answered %d", server, resp.StatusCode)
	}
	return json.Unmarshal(body, out)
}

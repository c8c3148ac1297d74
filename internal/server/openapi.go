package server

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes every route of Handler (OpenAPI 3.1); a test keeps it
// complete and its examples accepted.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves GET /openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDoc)
	return nil
}
